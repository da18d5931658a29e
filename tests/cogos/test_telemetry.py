"""Decision cycles as OpenTelemetry spans, from the real maze agent, and the exporters a config
asks for (OTLP to a real HTTP endpoint on loopback, the console)."""

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.extras import needs_extra
from tests.spans import TELEMETRY_MODULES

needs_extra("telemetry", *TELEMETRY_MODULES)

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from cogos import Agent, Module, Phase, Policy, load_config, load_config_text, register
from cogos.runner import run_async
from cogos.telemetry.provider import traces_url
from memory import Candidate, Entry, Outcome, WorkingMemory
from memory.cycle_records import CycleRecord
from memory.memory_os import MemoryOS
from tests.spans import PHASES, attrs, children, in_memory, named, parent_of, undocumented


async def run_maze(
    repo_root: Path, overrides: list[str], *, episodes: int = 1
) -> tuple[list[Any], list[CycleRecord]]:
    """A real maze agent's spans, and the cycle records its trace is written from."""
    telemetry, exporter = in_memory()
    config = load_config(repo_root / "config" / "maze.yaml", [f"episodes={episodes}", *overrides])
    agent = Agent(config, telemetry=telemetry)
    records: list[CycleRecord] = []
    async with agent:
        agent.bus.subscribe("cycle/commit", lambda m: records.append(m.payload))
        for episode in range(episodes):
            await agent.run_episode(episode, episode)
    return list(exporter.get_finished_spans()), records


async def test_a_cycle_is_a_span_with_one_child_per_phase_as_the_trace_says(
    repo_root: Path,
) -> None:
    spans, records = await run_maze(repo_root, ["env.options.width=7", "env.options.height=7"])
    cycles = named(spans, "cogos.cycle")
    assert len(cycles) == len(records) > 3
    for span, record in zip(cycles, records, strict=True):
        assert span.parent is None, "each cycle is a trace of its own"
        assert [c.name for c in children(spans, span)] == PHASES
        assert [f"cogos.{phase}" for phase in record.durations] == PHASES
        for child in children(spans, span):
            start, end = span.start_time, span.end_time
            child_start, child_end = child.start_time, child.end_time
            assert start is not None and end is not None
            assert child_start is not None and child_end is not None
            assert start <= child_start <= child_end <= end
        attributes = attrs(span)
        decision, outcome = record.decision, record.outcome
        assert attributes == {
            "cogos.agent": record.agent,
            "cogos.episode": record.episode,
            "cogos.episode.id": record.episode_id,
            "cogos.cycle": record.cycle,
            "cogos.step": record.step,
            "cogos.action": decision.chosen.name,
            "cogos.action.kind": decision.chosen.kind,
            "cogos.action.source": decision.chosen.source,
            "cogos.decision.value": decision.value,
            "cogos.decision.forced": decision.forced,
            "cogos.decision.rejections": 0,
            "cogos.decision.candidates": len(decision.attempts[-1].candidates),
            "cogos.retrieved": 0,
            "cogos.outcome.reward": outcome.reward,
            "cogos.outcome.terminated": outcome.terminated,
            "cogos.outcome.truncated": outcome.truncated,
            **({"cogos.outcome.success": True} if outcome.success is not None else {}),
        }
    assert attrs(cycles[-1])["cogos.outcome.success"] is True
    assert len({span.context.trace_id for span in cycles}) == len(cycles)
    assert undocumented(spans) == set(), "docs/telemetry.md lists every span and attribute"


async def test_memory_writes_and_searches_nest_in_their_phase(
    repo_root: Path, tmp_path: Path
) -> None:
    telemetry, exporter = in_memory()
    overrides = [
        "episodes=1",
        f"memory.path={tmp_path / 'memory'}",
        "agent.modules.1.options.search=true",
    ]
    agent = Agent(
        load_config(repo_root / "config" / "maze_memory.yaml", overrides), telemetry=telemetry
    )
    async with agent:
        summary = await agent.run_episode(0, 0)
    spans = list(exporter.get_finished_spans())
    cycles = named(spans, "cogos.cycle")
    assert len(cycles) == summary.cycles
    commits = named(spans, "memory.commit")
    assert [parent_of(spans, c) for c in commits] == cycles, "each cycle's commit is its child"
    assert [attrs(c)["cogos.cycle"] for c in commits] == list(range(summary.cycles))
    searches = named(spans, "memory.search")
    assert searches
    assert {getattr(parent_of(spans, s), "name", None) for s in searches} == {"cogos.retrieve"}
    first = attrs(searches[0])
    assert first["cogos.memory.mode"] == "lexical", "no embedder: hybrid falls back to lexical"
    assert first["cogos.memory.k"] == 5 and first["cogos.memory.hits"] == 0, "a new memory"
    later = [attrs(s)["cogos.memory.hits"] for s in searches[1:]]
    assert max(later) > 0, "later cycles find the events committed before them"
    flushes = named(spans, "memory.flush")
    assert flushes and all(f.parent is None for f in flushes), "the episode end's flush"
    assert undocumented(spans) == set()


async def test_cycles_deliberated_and_concluded_apart_and_abandoned(repo_root: Path) -> None:
    """As the daemon drives an external environment: the cycle span covers both halves."""
    from cogos.cycle import outcome_of

    telemetry, exporter = in_memory()
    agent = Agent(
        load_config(repo_root / "config" / "maze.yaml", ["episodes=1"]), telemetry=telemetry
    )
    async with agent:
        observation = agent.env.reset(seed=0)
        await agent.begin_episode(0, 0)
        pending = await agent.cycle.deliberate(observation)
        assert named(exporter.get_finished_spans(), "cogos.cycle") == [], "still open"
        following = agent.env.step(pending.decision.chosen.action)
        agent.wm.step += 1
        await agent.cycle.conclude(pending, outcome_of(following))
        agent.cycle.abandon(await agent.cycle.deliberate(following))
    spans = list(exporter.get_finished_spans())
    concluded, abandoned = named(spans, "cogos.cycle")
    assert [c.name for c in children(spans, concluded)] == PHASES
    assert "cogos.cycle.abandoned" not in attrs(concluded)
    assert attrs(abandoned)["cogos.cycle.abandoned"] is True
    assert [c.name for c in children(spans, abandoned)] == PHASES[:4], "nothing learnt"
    assert undocumented(spans) == set()


async def test_a_failing_cycle_ends_its_span_with_the_error(repo_root: Path) -> None:
    telemetry, exporter = in_memory()
    agent = Agent(
        load_config(repo_root / "config" / "maze.yaml", ["episodes=1"]), telemetry=telemetry
    )

    def broken(action: Any) -> Any:
        raise RuntimeError("the simulator crashed")

    async with agent:
        agent.env.step = broken  # type: ignore[method-assign]
        observation = agent.env.reset(seed=0)
        await agent.begin_episode(0, 0)
        with pytest.raises(RuntimeError, match="crashed"):
            await agent.cycle.run(observation)
    spans = list(exporter.get_finished_spans())
    (cycle,) = named(spans, "cogos.cycle")
    assert cycle.status.status_code.name == "ERROR"
    assert attrs(cycle)["error.type"] == "RuntimeError"
    phases = children(spans, cycle)
    assert [c.name for c in phases] == PHASES[:4]
    execute = phases[-1]
    assert execute.status.status_code.name == "ERROR", "the action failed"
    assert [e.name for e in execute.events] == ["exception"]
    assert all(p.status.status_code.name == "UNSET" for p in phases[:3])
    assert undocumented(spans) == set()


class ThinkFirst(Policy):
    """An internal action (a note into long-term memory) on even cycles, a step on odd ones."""

    async def propose(self, wm: WorkingMemory) -> Sequence[Candidate]:
        if wm.cycle % 2 == 0:
            return [
                Candidate(
                    "note", kind="internal", target="telemetry_test.memo", args={"n": wm.cycle}
                )
            ]
        return [Candidate("east", action=1)]


class Memo(Module):
    phases = frozenset({Phase.EXECUTE})

    async def execute(self, candidate: Candidate, wm: WorkingMemory) -> Outcome:
        memory = self.ctx.memory
        assert isinstance(memory, MemoryOS)  # (the protocol has no aremember)
        await memory.aremember(Entry(kind="text", text=f"note {candidate.args['n']}"))
        return Outcome()


class Mute(Policy):
    async def propose(self, wm: WorkingMemory) -> Sequence[Candidate]:
        return []


register("policy", "telemetry_test.think_first", ThinkFirst, replace=True)
register("policy", "telemetry_test.mute", Mute, replace=True)
register("module", "telemetry_test.memo", Memo, replace=True)

TINY = "episodes: 1\nenv: {{name: maze, options: {{width: 5, height: 5}}}}\n{rest}"


async def test_an_internal_actions_own_spans_nest_in_its_execute_phase(tmp_path: Path) -> None:
    rest = (
        "agent: {policy: {name: telemetry_test.think_first}, modules: [{name: perception.facts}, "
        "{name: telemetry_test.memo}], cycle: {max_cycles: 4}}\n"
        f"memory: {{path: '{tmp_path / 'memory'}'}}\n"
    )
    telemetry, exporter = in_memory()
    agent = Agent(load_config_text(TINY.format(rest=rest)), telemetry=telemetry)
    async with agent:
        await agent.run_episode(0, 0)
    spans = list(exporter.get_finished_spans())
    notes = named(spans, "memory.remember")
    executes = [parent_of(spans, note) for note in notes]
    assert [e.name for e in executes if e is not None] == ["cogos.execute"] * 2
    cycles = [parent_of(spans, e) for e in executes if e is not None]
    assert [attrs(c)["cogos.cycle"] for c in cycles if c is not None] == [0, 2]
    assert {attrs(c)["cogos.action.kind"] for c in cycles if c is not None} == {"internal"}


async def test_a_cycle_with_nothing_to_do_ends_in_error_at_its_decide_phase() -> None:
    rest = "agent: {policy: {name: telemetry_test.mute}}\n"
    telemetry, exporter = in_memory()
    agent = Agent(load_config_text(TINY.format(rest=rest)), telemetry=telemetry)
    async with agent:
        summary = await agent.run_episode(0, 0)
    assert "no action" in summary.extra["failure"], "the episode failed; the run goes on"
    spans = list(exporter.get_finished_spans())
    (cycle,) = named(spans, "cogos.cycle")
    assert attrs(cycle)["error.type"] == "NoActionError"
    assert "cogos.action" not in attrs(cycle)
    phases = children(spans, cycle)
    assert [p.name for p in phases] == PHASES[:3]
    decide = phases[-1]
    assert decide.status.status_code.name == "ERROR"
    assert [e.name for e in decide.events] == ["exception"]


class Collector:
    """An OTLP/HTTP endpoint on loopback that keeps what it receives (no collector needed)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.port = 0

    @property
    def spans(self) -> list[tuple[dict[str, Any], str]]:
        """``(resource attributes, span name)`` of every span received."""
        out: list[tuple[dict[str, Any], str]] = []
        for _, _, body in self.requests:
            request = ExportTraceServiceRequest.FromString(body)
            for resource_spans in request.resource_spans:
                resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                for scope in resource_spans.scope_spans:
                    out.extend((resource, span.name) for span in scope.spans)
        return out


@contextmanager
def collector() -> Iterator[Collector]:
    got = Collector()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            got.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    got.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield got
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


SMALL = "episodes: 1\nenv: {name: maze, options: {width: 5, height: 5}}\n"


async def test_otlp_export_with_the_configs_endpoint_headers_and_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20t0ken")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test")
    with collector() as got:
        section = (
            f"telemetry: {{enabled: true, endpoint: 'http://127.0.0.1:{got.port}', "
            "headers: {x-scope-orgid: lab}, service_name: maze-agents}\n"
        )
        result = await run_async(load_config_text(SMALL + section))
    # closing the agent exported everything: nothing is left to wait for
    assert {path for path, _, _ in got.requests} == {"/v1/traces"}
    headers = got.requests[0][1]
    assert headers["x-scope-orgid"] == "lab" and headers["authorization"] == "Bearer t0ken"
    assert headers["content-type"] == "application/x-protobuf"
    names = [name for _, name in got.spans]
    assert names.count("cogos.cycle") == result.metrics["cycles"]
    resource = got.spans[0][0]
    assert resource["service.name"] == "maze-agents"
    assert resource["deployment.environment.name"] == "test"
    assert resource["cogos.agent"] == "agent" and resource["service.instance.id"]


async def test_otlp_settings_come_from_the_environment_when_unset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with collector() as got:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{got.port}")
        monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
        await run_async(load_config_text(SMALL + "telemetry: {enabled: true}\n"))
    assert got.spans and {r["service.name"] for r, _ in got.spans} == {"cogos"}
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    agent = Agent(load_config_text(SMALL + "telemetry: {enabled: true}\n"))
    assert agent.telemetry is None and agent.cycle.spans is None


async def test_console_exporter_prints_each_span(capsys: pytest.CaptureFixture[str]) -> None:
    section = "telemetry: {enabled: true, exporter: console}\n"
    result = await run_async(load_config_text(SMALL + section))
    out = capsys.readouterr().out
    assert out.count('"name": "cogos.cycle"') == result.metrics["cycles"]


def test_sample_ratio_zero_records_no_cycle() -> None:
    agent = Agent(load_config_text(SMALL + "telemetry: {enabled: true, sample_ratio: 0}\n"))
    assert agent.telemetry is not None
    span = agent.telemetry.tracer.start_span("cogos.cycle")
    assert not span.is_recording()
    agent.telemetry.shutdown()


def test_traces_url() -> None:
    assert traces_url("http://collector:4318") == "http://collector:4318/v1/traces"
    assert traces_url("https://otel.example/") == "https://otel.example/v1/traces"
    assert traces_url("http://c:4318/v1/traces") == "http://c:4318/v1/traces"
