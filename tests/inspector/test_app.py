"""The inspector's JSON API over real runs, memories and an experiment; whatever a client sends,
the answer is JSON with a status, never a crash."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from cogos.experiments.execute import LocalExecutor
from cogos.experiments.experiment import run_experiment
from cogos.experiments.spec import load_experiment
from cogos.inspector.app import API, make_app
from cogos.inspector.workspace import InspectPathError, open_workspace
from cogos.trace import read_trace

EXPERIMENT = """
version: 1
name: tiny
base: {base}
overrides: [episodes=2, env.options.width=6, env.options.height=6]
grid:
  agent.policy.name: [explore, random]
seeds: [0, 1]
"""


@pytest.fixture(scope="module")
def experiment_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("experiment")
    spec_path = root / "exp.yaml"
    base = Path(__file__).resolve().parents[2] / "config" / "maze.yaml"
    spec_path.write_text(EXPERIMENT.replace("{base}", str(base)))
    spec, base_path = load_experiment(spec_path)
    run_experiment(spec, base_path, root / "out", LocalExecutor(1))
    return root / "out"


@pytest.fixture
def client(critic_run: Path, memory_dir: Path, experiment_dir: Path) -> Iterator[TestClient]:
    workspace = open_workspace([critic_run, memory_dir, experiment_dir])
    try:
        with TestClient(make_app(workspace)) as c:
            yield c
    finally:
        workspace.close()


def test_sources_runs_episodes_and_pictures(client: TestClient, critic_run: Path) -> None:
    listing = client.get("/api/sources").json()
    assert [r["key"] for r in listing["runs"] if not r["in_experiment"]] == ["inspected"]
    assert [m["key"] for m in listing["memories"]] == ["memory"]
    assert [x["key"] for x in listing["experiments"]] == ["out"]
    assert len([r for r in listing["runs"] if r["in_experiment"]]) == 4
    run = client.get("/api/run", params={"run": "inspected"}).json()
    assert len(run["episodes"]) == 4 and run["memory"] is None
    episode = client.get("/api/episode", params={"run": "inspected", "episode": 2}).json()
    traced = [r for r in read_trace(critic_run / "trace.jsonl") if r.get("episode") == 2]
    assert episode["cycles"] == [r for r in traced if r["type"] == "cycle"]
    picture = client.get("/api/frame", params={"run": "inspected", "episode": 2, "step": 3})
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/png"
    assert picture.content.startswith(b"\x89PNG")


def test_memory_search_item_and_graph(client: TestClient) -> None:
    hits = client.get("/api/memory/search", params={"memory": "memory", "q": "Lisbon"}).json()
    first = hits["hits"][0]
    assert "Lisbon" in first["item"]["text"] and first["lexical"]["rank"] == 1
    item = client.get("/api/memory/item", params={"memory": "memory", "id": first["item"]["id"]})
    assert item.json()["seq"] == first["item"]["id"]
    svg = client.get("/api/memory/graph.svg", params={"memory": "memory", "id": 2})
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert "#/memory/memory/item/1" in svg.text and "#/memory/memory/item/3" in svg.text


def test_experiment_summary_plots_and_runs(client: TestClient) -> None:
    x = client.get("/api/experiment", params={"experiment": "out"}).json()
    assert "<table>" in x["summary_html"] and "explore" in x["summary_html"]
    assert len(x["results"]) == 4 and len(x["runs"]) == 4
    assert x["plots"], "cogos experiment draws its metrics"
    plot = client.get("/api/experiment/plot", params={"experiment": "out", "name": x["plots"][0]})
    assert plot.content.startswith(b"\x89PNG")
    run = client.get("/api/run", params={"run": f"out/{x['runs'][0]}"}).json()
    assert len(run["episodes"]) == 2


@pytest.mark.parametrize(
    ("path", "params", "status", "message"),
    [
        ("/api/run", {"run": "nope"}, 404, "no run 'nope'"),
        ("/api/run", {}, 400, "query parameter 'run' is required"),
        ("/api/episode", {"run": "inspected", "episode": 9}, 404, "has no episode 9"),
        ("/api/episode", {"run": "inspected", "episode": "x"}, 400, "must be an integer"),
        ("/api/memory/item", {"memory": "memory", "id": 999}, 404, "999"),
        ("/api/memory/search", {"memory": "memory", "q": "a", "k": 0}, 400, "k must be"),
        ("/api/memory/search", {"memory": "memory", "q": "a", "mode": "fuzzy"}, 400, "mode"),
        ("/api/experiment/plot", {"experiment": "out", "name": "../exp.yaml"}, 404, "no plot"),
        ("/api/memory/graph.svg", {"memory": "memory", "id": 999}, 404, "999"),
    ],
)
def test_bad_requests_get_a_json_error(
    client: TestClient, path: str, params: dict[str, str | int], status: int, message: str
) -> None:
    answer = client.get(path, params=params)
    assert answer.status_code == status
    assert message in answer.json()["error"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(sorted(API)),
    params=st.dictionaries(
        st.sampled_from(
            [
                "run",
                "episode",
                "step",
                "memory",
                "q",
                "k",
                "id",
                "mode",
                "expand",
                "experiment",
                "name",
            ]
        ),
        st.one_of(st.text(max_size=12), st.integers(-5, 10**12).map(str)),
        max_size=5,
    ),
)
def test_no_request_crashes_the_server(
    client: TestClient, path: str, params: dict[str, str]
) -> None:
    answer = client.get(path, params=params)
    assert answer.status_code in (200, 400, 404)
    if "json" in answer.headers["content-type"]:
        json.loads(answer.text)  # strict JSON: the browser's JSON.parse has no Infinity


def test_non_finite_values_reach_the_browser_as_strings(tmp_path: Path, critic_run: Path) -> None:
    run = tmp_path / "inf"
    run.mkdir()
    lines = (critic_run / "trace.jsonl").read_text().splitlines()
    cycle = json.loads(lines[2])
    cycle["decision"]["attempts"][0]["candidates"][0]["value"] = float("-inf")
    lines[2] = json.dumps(cycle)
    (run / "trace.jsonl").write_text("\n".join(lines) + "\n")
    workspace = open_workspace([run])
    try:
        with TestClient(make_app(workspace)) as c:
            answer = c.get("/api/episode", params={"run": "inf", "episode": 0})
        first = answer.json()["cycles"][0]["decision"]["attempts"][0]["candidates"][0]
        assert first["value"] == "-inf"
    finally:
        workspace.close()


def test_paths_that_hold_nothing_to_inspect_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InspectPathError, match="no such directory"):
        open_workspace([tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InspectPathError, match="not a run, experiment or memory directory"):
        open_workspace([tmp_path / "empty"])
