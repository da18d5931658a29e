"""LLM plumbing driven by LangChain's scripted chat models (no real model runs here; see the
opt-in test at the end and the README for what is tested against a real model)."""

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.cli_runner import cogos
from tests.extras import needs_extra
from tests.modules.fake_openai import serve

needs_extra("llm", "langchain_core", "tenacity")

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from cogos import Agent, load_config_text
from cogos.config import LLMSpec
from cogos.errors import ConfigError
from memory.memory_os import MemoryOS
from modules.llm.client import LLMCallError, LLMClient, LLMOutputError, extract_json
from modules.llm.lessons import recall_lessons
from modules.llm.reasoning import check_atoms, rank_actions, translate_goal
from modules.llm.schemas import GoalAnswer

PREDICATES = {"in": 2, "cooled": 1}
OBJECTS = {"apple_1": "apple", "fridge_1": "fridge"}


def spec(**kw: Any) -> LLMSpec:
    return LLMSpec(provider="scripted", model="test", **kw)


def scripted(*replies: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(
        messages=iter(
            [
                AIMessage(
                    r, usage_metadata={"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
                )
                for r in replies
            ]
        )
    )


async def test_valid_output_is_parsed_and_counted() -> None:
    client = LLMClient(
        spec(), scripted('Sure! ```json\n{"goal": [["in", "apple_1", "fridge_1"]]}\n```')
    )
    goal, answer = await translate_goal(client, "put the apple in the fridge", PREDICATES, OBJECTS)
    assert goal == frozenset({("in", "apple_1", "fridge_1")})
    assert answer.attempts == 1 and answer.errors == []
    assert (
        client.usage.calls == 1
        and client.usage.input_tokens == 10
        and client.usage.output_tokens == 5
    )


async def test_malformed_output_is_repaired() -> None:
    client = LLMClient(
        spec(),
        scripted(
            "I think the goal is the apple in the fridge.",
            '{"goal": [["in", "apple_1",]]}',
            '{"goal": [["cooled", "apple_1"]]}',
        ),
    )
    goal, answer = await translate_goal(client, "cool the apple", PREDICATES, OBJECTS)
    assert goal == frozenset({("cooled", "apple_1")})
    assert answer.attempts == 3
    assert "no JSON object" in answer.errors[0] and "not valid JSON" in answer.errors[1]
    assert client.usage.repairs == 2


async def test_answers_naming_missing_objects_are_rejected() -> None:
    client = LLMClient(
        spec(max_repairs=1),
        scripted(
            '{"goal": [["in", "banana_7", "fridge_1"]]}',
            '{"goal": [["on", "apple_1", "fridge_1"]]}',
        ),
    )
    with pytest.raises(LLMOutputError) as info:
        await translate_goal(client, "put the banana in the fridge", PREDICATES, OBJECTS)
    assert "unknown object(s) 'banana_7'" in info.value.errors[0]
    assert "unknown predicate 'on'" in info.value.errors[1]
    assert client.usage.failures == 1
    assert check_atoms([["in", "apple_1"]], PREDICATES, OBJECTS) == "in takes 2 argument(s), got 1"


async def test_actions_must_be_available() -> None:
    client = LLMClient(
        spec(),
        scripted(
            '{"actions": [{"action": "fly to the moon", "score": 1}]}',
            '{"actions": [{"action": "open fridge 1", "score": 0.8, "reason": "apple goes there"}]}',
        ),
    )
    answer = await rank_actions(
        client, "cool the apple", "You see a fridge 1.", ["open fridge 1", "look"]
    )
    assert [r.action for r in answer.value.actions] == ["open fridge 1"]
    assert "not among the actions available" in answer.errors[0]


class SlowModel(GenericFakeChatModel):
    """A model that never answers: only the client's timeout ends a call."""

    async def ainvoke(self, *args: Any, **kwargs: Any) -> Any:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


class FlakyModel(GenericFakeChatModel):
    failures: int = 2
    calls: int = 0

    async def ainvoke(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError("connection reset by peer")
        return AIMessage('{"goal": [["cooled", "apple_1"]]}')


async def test_timeouts_and_retries() -> None:
    slow = LLMClient(spec(timeout=0.2, max_retries=1), SlowModel(messages=iter([])))
    # the model never answers: that the call ends at all (two attempts, then a clear error) is
    # the timeout's doing; the outer bound only keeps a broken timeout from hanging the test
    async with asyncio.timeout(60):
        with pytest.raises(LLMCallError, match=r"within 0\.2 s"):
            await slow.ask("s", "u", GoalAnswer)
    flaky_model = FlakyModel(messages=iter([]))
    flaky = LLMClient(spec(max_retries=3), flaky_model)
    answer = await flaky.ask("s", "u", GoalAnswer)
    assert answer.value.goal == [["cooled", "apple_1"]] and flaky_model.calls == 3
    hopeless = LLMClient(spec(max_retries=1), FlakyModel(messages=iter([]), failures=5))
    with pytest.raises(LLMCallError, match="ConnectionError"):
        await hopeless.ask("s", "u", GoalAnswer)


def test_extract_json() -> None:
    assert extract_json('noise {"a": 1} tail') == {"a": 1}
    assert extract_json('```json\n{"a": {"b": 2}}\n```') == {"a": {"b": 2}}
    with pytest.raises(ValueError, match="no JSON"):
        extract_json("nothing here")


MAZE = """
episodes: 1
env: {{name: maze, options: {{width: 6, height: 6, radius: 1, goal_known: false, maze_seed: 4}}}}
agent:
  policy: {{name: {policy}}}
  modules: {modules}
  cycle: {{max_rejects: 3}}
llm:
  provider: scripted
  model: test
  responses: {responses}
"""


async def test_planner_veto_loops_back_to_the_llm() -> None:
    from envs.maze import MazeEnv

    env = MazeEnv(width=6, height=6, maze_seed=4)
    env.reset(seed=0)
    goal = f"c{env.maze.goal[0]}_{env.maze.goal[1]}"
    impossible = json.dumps({"goal": [["at", "c0_0"], ["at", "c1_0"]]})  # two places at once
    right = json.dumps({"goal": [["at", goal]]})
    text = MAZE.format(
        policy="neuro_symbolic",
        modules="[{name: perception.facts}, {name: llm.goal, options: {domain: gridnav}}, {name: planner.pddl}]",
        responses=json.dumps([impossible, right]),
    )
    agent = Agent(load_config_text(text.replace("goal_known: false", "goal_known: true")))
    seen: list[Any] = []
    async with agent:
        agent.bus.subscribe("cycle/commit", lambda m: seen.append(m.payload))
        summary = await agent.run_episode(0, 0)
    first = seen[0].decision
    rejections = [a.rejection for a in first.attempts if a.rejection is not None]
    assert rejections and rejections[0].by == "planner"
    assert (
        "c1_0" in rejections[0].reason and "proved the problem unsolvable" in rejections[0].reason
    )
    assert len(rejections[0].reason) < 300, "the reason is a sentence, not the planner's log"
    assert first.chosen.source == "planner", "after the loop-back the planner's plan is followed"
    assert summary.success  # with sight 1 the optimistic plan meets walls: replans, not optimal
    assert summary.extra["planner"]["failures"] == 1, "the vetoed goal is not solved again"
    assert summary.extra["llm"]["calls"] == 2 and summary.extra["llm"]["output_tokens"] > 0


async def test_llm_policy_chooses_among_available_actions() -> None:
    replies = [json.dumps({"actions": [{"action": "teleport", "score": 1.0}]})]
    replies += [
        json.dumps({"actions": [{"action": a, "score": 0.9}]}) for a in ["east", "south"] * 40
    ]
    text = MAZE.format(
        policy="llm", modules="[{name: perception.facts}]", responses=json.dumps(replies)
    )
    agent = Agent(load_config_text(text.replace("maze_seed: 4", "maze_seed: 4, max_steps: 6")))
    seen: list[Any] = []
    async with agent:
        agent.bus.subscribe("cycle/commit", lambda m: seen.append(m.payload))
        summary = await agent.run_episode(0, 0)
    assert [r.decision.chosen.name for r in seen[:3]] == ["east", "south", "east"]
    assert summary.extra["llm"]["repairs"] == 1, "'teleport' was sent back for repair"


def test_configs_needing_an_llm_fail_clearly_without_one(repo_root: Path, tmp_path: Path) -> None:
    text = MAZE.format(policy="llm", modules="[]", responses="[]").split("llm:")[0]
    with pytest.raises(ConfigError, match=r"llm\.provider and llm\.model"):
        Agent(load_config_text(text))
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    out = cogos("run", str(cfg), "--out", str(tmp_path / "o"), cwd=repo_root, timeout=120)
    assert (
        out.returncode == 2 and "needs a chat model" in out.stderr and "Traceback" not in out.stderr
    )
    planner_only = cogos(
        "run",
        "config/maze_planner.yaml",
        "episodes=1",
        "env.options.width=5",
        "env.options.height=5",
        "--out",
        str(tmp_path / "p"),
        "-q",
        cwd=repo_root,
    )
    assert planner_only.returncode == 0, planner_only.stderr


def test_openai_without_a_key_names_the_setting(
    repo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OpenAI's own API needs a key: exit 2 naming llm.api_key_env, not the client's
    OpenAIError traceback. A local OpenAI-compatible server (base_url) takes none."""
    from modules.llm.chat import build_chat_model

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError) as info:
        build_chat_model(LLMSpec(provider="openai", model="gpt-4o-mini"))
    assert info.value.key == "llm.api_key_env"
    with serve([{"reply": "{}"}]) as fake:  # a local server: no key needed
        local = build_chat_model(LLMSpec(provider="openai", model="qwen", base_url=fake.base_url))
    assert type(local).__name__ == "ChatOpenAI"
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "version: 1\nepisodes: 1\nenv: {name: household}\nagent: {policy: {name: llm}}\n"
        "llm: {provider: openai, model: gpt-4o-mini}\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    out = cogos("run", str(cfg), "--out", str(tmp_path / "o"), cwd=repo_root, env=env)
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith(f"error: {cfg}:5: llm.api_key_env: "), out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


async def test_reflection_lessons_reach_memory_and_later_prompts(tmp_path: Path) -> None:
    text = (
        MAZE.format(
            policy="planner_first",
            modules="[{name: perception.facts}, {name: planner.pddl}, {name: learning.reflect}]",
            responses=json.dumps([json.dumps({"lesson": "Follow the corridor east first."})]),
        )
        + f"memory: {{path: {tmp_path / 'mem'}, dim: 8}}\n"
    )
    agent = Agent(load_config_text(text.replace("goal_known: false", "goal_known: true")))
    async with agent:
        summary = await agent.run_episode(0, 0)
        lessons = await recall_lessons(agent.memory, agent.wm.goal_text)
    assert summary.success
    assert lessons == ["Follow the corridor east first."]
    with MemoryOS.open(tmp_path / "mem") as memory:
        (fact,) = memory.recent(5, {"lesson": 1})
        assert fact.metadata["success"] is True


@pytest.mark.llm
def test_against_a_real_model(repo_root: Path, tmp_path: Path) -> None:
    """Opt-in: COGOS_LLM_CONFIG names a YAML file with an ``llm:`` section (a server URL or a
    GGUF), e.g. config/llm/llama_server.yaml with that server running.

    The model translates household tasks into goals for the planner: every call must give a
    usable goal (no failure), and the goals must be the tasks' own often enough to matter.
    """
    path = os.environ.get("COGOS_LLM_CONFIG")
    if not path:
        pytest.skip(
            "set COGOS_LLM_CONFIG to a YAML file with an llm: section to run against a real model"
        )
    out = cogos(
        "run",
        "config/household_neuro_symbolic.yaml",
        f"llm={Path(path).resolve()}",
        "episodes=3",
        "--out",
        str(tmp_path / "o"),
        "-q",
        cwd=repo_root,
        timeout=3600,
    )
    assert out.returncode == 0, out.stderr
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert metrics["llm_answers"] >= 3, metrics
    assert metrics["llm_failures"] == 0, metrics["llm_failures_by_cause"]
    assert metrics["llm_fallbacks"] == 0
    assert metrics["success_rate"] >= 2 / 3, "the model's goals were mostly not the tasks'"
