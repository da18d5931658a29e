"""The decision cycle with scripted policies and modules on the real maze and the real bus."""

from collections.abc import Sequence
from typing import Any, ClassVar

import pytest

from cogos import Agent, Module, Phase, Policy, load_config_text, register
from cogos.bus import Message
from cogos.errors import CycleError
from memory import Candidate, CycleRecord, Outcome, Rejection, WorkingMemory


class RejectingPolicy(Policy):
    """Rejects the first ``n`` rounds of every cycle, then picks the first candidate."""

    rejections_per_cycle = 2

    async def propose(self, wm: WorkingMemory) -> Sequence[Candidate]:
        return [Candidate(n, action=i, source=self.name) for i, n in enumerate(wm.action_names)]

    async def evaluate(self, wm: WorkingMemory, candidates: Sequence[Candidate]) -> Sequence[float]:
        return [float(i) for i in range(len(candidates))]

    async def select(
        self, wm: WorkingMemory, candidates: Sequence[Candidate], values: Sequence[float]
    ) -> Candidate | Rejection:
        if len(wm.rejections) < self.rejections_per_cycle:
            return Rejection(f"not yet ({len(wm.rejections)})", by=self.name)
        return candidates[0]


class AlwaysReject(RejectingPolicy):
    rejections_per_cycle = 10**9


class VetoNorth(Module):
    """A critic that vetoes 'north' and an evaluator that prefers 'south'."""

    phases: ClassVar = frozenset({Phase.CRITIQUE, Phase.EVALUATE})

    async def critique(self, wm: WorkingMemory, candidate: Candidate) -> Rejection | None:
        if candidate.name == "north":
            return Rejection("north is forbidden", by=self.name, candidate=candidate)
        return None

    async def evaluate(self, wm: WorkingMemory, candidates: Sequence[Candidate]) -> Sequence[float]:
        return [100.0 if c.name == "south" else 0.0 for c in candidates]


class ThinkFirst(Policy):
    """Chooses an internal 'note' action on even cycles, an env action on odd ones."""

    async def propose(self, wm: WorkingMemory) -> Sequence[Candidate]:
        if wm.cycle % 2 == 0:
            return [Candidate("note", kind="internal", target="notebook", args={"text": "hi"})]
        return [Candidate("east", action=1)]


class Notebook(Module):
    phases: ClassVar = frozenset({Phase.EXECUTE, Phase.LEARN})

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.notes: list[str] = []
        self.learned: list[CycleRecord] = []

    async def execute(self, candidate: Candidate, wm: WorkingMemory) -> Outcome:
        self.notes.append(candidate.args["text"])
        return Outcome(reward=0.0, info={"stored": True})

    async def learn(self, record: CycleRecord, wm: WorkingMemory) -> None:
        self.learned.append(record)


class BadEvaluator(Policy):
    async def propose(self, wm: WorkingMemory) -> Sequence[Candidate]:
        return [Candidate("east", action=1), Candidate("west", action=3)]

    async def evaluate(self, wm: WorkingMemory, candidates: Sequence[Candidate]) -> Sequence[float]:
        return [1.0]


for name, cls in {
    "test.rejecting": RejectingPolicy,
    "test.always_reject": AlwaysReject,
    "test.think_first": ThinkFirst,
    "test.bad_evaluator": BadEvaluator,
}.items():
    register("policy", name, cls, replace=True)
register("module", "test.veto_north", VetoNorth, replace=True)
register("module", "test.notebook", Notebook, replace=True)


def config(policy: str, modules: str = "[]", max_rejects: int = 3) -> str:
    return f"""
episodes: 1
env: {{name: maze, options: {{width: 5, height: 5, max_steps: 6}}}}
agent:
  policy: {{name: {policy}}}
  modules: {modules}
  cycle: {{max_rejects: {max_rejects}, max_cycles: 6}}
"""


async def run_cycles(text: str, n: int = 3) -> tuple[Agent, list[CycleRecord], list[Message]]:
    agent = Agent(load_config_text(text))
    records: list[CycleRecord] = []
    messages: list[Message] = []
    async with agent:
        agent.bus.subscribe("cycle/#", messages.append)
        obs = agent.env.reset(seed=1)
        agent.wm.reset(
            episode=0, goal_text="", goal_facts=frozenset(), action_names=agent.env.action_names
        )
        for _ in range(n):
            record, nxt = await agent.cycle.run(obs)
            records.append(record)
            obs = nxt or obs
    return agent, records, messages


async def test_reject_and_loop_records_every_round() -> None:
    _, records, messages = await run_cycles(config("test.rejecting"), n=2)
    for rec in records:
        attempts = rec.decision.attempts
        assert len(attempts) == 3
        assert [a.rejection.reason for a in attempts[:2] if a.rejection] == [
            "not yet (0)",
            "not yet (1)",
        ]
        assert attempts[2].choice is not None
        assert attempts[2].choice.name == "north"
        assert not rec.decision.forced
    topics = [m.topic for m in messages]
    assert topics.count("cycle/reject") == 4
    assert topics.count("cycle/propose") == 6
    assert topics.count("cycle/commit") == 2


async def test_rejection_bound_forces_best_candidate_and_says_so() -> None:
    _, records, _ = await run_cycles(config("test.always_reject", max_rejects=2), n=1)
    decision = records[0].decision
    assert len(decision.attempts) == 3  # 1 + max_rejects rounds, all rejected
    assert decision.forced
    assert decision.chosen.name == "west"  # highest value (3.0) of the last round
    assert records[0].to_json()["decision"]["forced"] is True


async def test_critic_veto_loops_back_and_evaluator_values_add() -> None:
    modules = "[{name: perception.facts}, {name: test.veto_north}]"
    _, records, _ = await run_cycles(config("test.rejecting", modules), n=1)
    decision = records[0].decision
    # policy picks candidates[0] = north after 2 rejections; critic vetoes it; then loop again,
    # round 4 picks north again and is vetoed: the bound (max_rejects=3) then forces the best.
    vetoes = [
        a.rejection
        for a in decision.attempts
        if a.rejection and a.rejection.by == "test.veto_north"
    ]
    assert vetoes
    assert vetoes[0].reason == "north is forbidden"
    assert decision.forced
    assert decision.chosen.name == "south"  # evaluator added 100 to south
    assert decision.value == pytest.approx(102.0)  # policy value 2 + evaluator 100


async def test_internal_actions_do_not_step_the_environment() -> None:
    modules = "[{name: perception.facts}, {name: test.notebook, id: notebook}]"
    agent, records, messages = await run_cycles(config("test.think_first", modules), n=4)
    notebook = agent.cycle.modules["notebook"]
    assert isinstance(notebook, Notebook)
    assert notebook.notes == ["hi", "hi"]
    assert [r.step for r in records] == [0, 1, 1, 2]
    assert [r.decision.chosen.kind for r in records] == ["internal", "external"] * 2
    assert records[0].outcome.info == {"stored": True}
    assert len(notebook.learned) == 4, "learners see every cycle"
    assert sum(m.topic == "cycle/execute" for m in messages) == 4


async def test_value_count_mismatch_is_a_cycle_error() -> None:
    with pytest.raises(CycleError, match="1 values for 2 candidates"):
        await run_cycles(config("test.bad_evaluator"), n=1)


async def test_internal_action_without_executor_is_a_cycle_error() -> None:
    with pytest.raises(CycleError, match="targets 'notebook'"):
        await run_cycles(config("test.think_first"), n=1)


def test_module_declaring_phase_without_method_fails() -> None:
    class Lazy(Module):
        phases: ClassVar = frozenset({Phase.RETRIEVE})

    register("module", "test.lazy", Lazy, replace=True)
    from cogos.errors import RegistryError

    with pytest.raises(RegistryError, match="retrieve"):
        Agent(load_config_text(config("random", "[{name: test.lazy}]")))


class SilentInEpisodeZero(RejectingPolicy):
    """Proposes nothing in the first episode (a policy's dead end), as usual after it."""

    rejections_per_cycle = 0

    async def propose(self, wm: WorkingMemory) -> Sequence[Candidate]:
        return [] if wm.episode == 0 else await super().propose(wm)

    async def select(
        self, wm: WorkingMemory, candidates: Sequence[Candidate], values: Sequence[float]
    ) -> Candidate | Rejection:
        return candidates[0] if candidates else Rejection("nothing proposed", by=self.name)


register("policy", "test.silent_first", SilentInEpisodeZero, replace=True)


def test_an_episode_with_nothing_to_do_fails_and_the_run_goes_on(tmp_path: Any) -> None:
    from cogos.runner import run

    result = run(
        load_config_text(config("test.silent_first").replace("episodes: 1", "episodes: 2"))
    )
    first, second = result.summaries
    assert not first.success and first.cycles == 0
    assert "proposed nothing" in first.extra["failure"]
    assert second.cycles > 0 and "failure" not in second.extra
    assert result.metrics["failed_episodes"] == 1 and result.metrics["episodes"] == 2
