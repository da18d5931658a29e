"""Model calls reach the trace with their cycle (prompt, answer, tokens) and the inspector shows
them; LangChain's scripted chat model stands in for a real one (the plumbing, not behaviour)."""

from __future__ import annotations

import json
from pathlib import Path

from starlette.testclient import TestClient

from cogos import load_config_text
from cogos.inspector.app import make_app
from cogos.inspector.workspace import open_workspace
from cogos.runner import run
from cogos.trace import read_trace
from tests.extras import needs_extra

needs_extra("llm", "langchain_core")

CONFIG = """
episodes: 1
env: {name: maze, options: {width: 6, height: 6, radius: 1, maze_seed: 4, max_steps: 4}}
agent: {policy: {name: llm}, modules: [{name: perception.facts}]}
llm: {provider: scripted, model: test, responses: RESPONSES}
"""


def test_each_cycles_model_calls_are_in_its_trace_line_and_in_the_inspector(
    tmp_path: Path,
) -> None:
    replies = [json.dumps({"actions": [{"action": "teleport", "score": 1.0}]})]
    replies += [
        json.dumps({"actions": [{"action": a, "score": 0.9}]}) for a in ["east", "south"] * 4
    ]
    text = CONFIG.replace("RESPONSES", json.dumps(replies))
    run(load_config_text(text), tmp_path / "llm")
    cycles = [r for r in read_trace(tmp_path / "llm" / "trace.jsonl") if r["type"] == "cycle"]
    first = cycles[0]["llm"]
    assert len(first) == 1 and first[0]["attempts"] == 2, "one call, repaired once"
    call = first[0]
    assert call["model"] == "scripted/test" and call["module"]
    assert [m["role"] for m in call["messages"]] == ["system", "human", "ai", "human"]
    assert "teleport" in call["messages"][2]["content"] and "east" in call["answer"]
    assert call["errors"] and "teleport" in call["errors"][0]
    assert all(len(c["llm"]) == 1 for c in cycles), "every cycle asked the model once"
    workspace = open_workspace([tmp_path / "llm"])
    try:
        with TestClient(make_app(workspace)) as client:
            episode = client.get("/api/episode", params={"run": "llm", "episode": 0}).json()
            summary = client.get("/api/run", params={"run": "llm"}).json()["episodes"][0]
    finally:
        workspace.close()
    assert episode["cycles"][0]["llm"] == first
    assert summary["llm"]["calls"] == sum(c["llm"][0]["attempts"] for c in cycles)
