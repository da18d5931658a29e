"""The rules every LLM component follows with its model, kept in one place (ComponentLLM), and
the goal and subgoal questions asked and checked by one implementation (ask_atom_sets)."""

import logging
from typing import Any

import pytest

from tests.extras import needs_extra

needs_extra("llm", "langchain_core", "tenacity")

from cogos import Bus
from cogos.config import LLMSpec
from cogos.context import ComponentContext, NoOptions
from cogos.episode import EpisodeStart, EpisodeSummary
from cogos.errors import ConfigError
from modules.llm.client import LLMCallError, LLMOutputError
from modules.llm.component_llm import ComponentLLM
from modules.llm.reasoning import GOAL, SUBGOALS, ask_atom_sets, decompose, translate_goal

PREDICATES = {"in": 2, "cooled": 1}
OBJECTS = {"apple_1": "apple", "fridge_1": "fridge"}


def context(llm: LLMSpec | None, name: str = "thinker") -> ComponentContext:
    return ComponentContext(
        name=name,
        agent="a",
        bus=Bus(),
        options=NoOptions(),
        logger=logging.getLogger("test"),
        llm=llm,
    )


def scripted(*responses: str, **kw: Any) -> LLMSpec:
    return LLMSpec(provider="scripted", model="test", responses=list(responses), **kw)


def summary() -> EpisodeSummary:
    return EpisodeSummary(0, 0, True, 1, 1, 0.0, None, 0.1)


def test_a_missing_llm_section_names_the_component() -> None:
    with pytest.raises(ConfigError, match="policy 'thinker' needs a chat model"):
        ComponentLLM(context(None), "policy 'thinker'")


def test_the_client_speaks_for_the_component() -> None:
    llm = ComponentLLM(context(scripted()), "module 'thinker'")
    assert llm.client.source == "thinker" and llm.client.bus is not None


async def test_an_episode_takes_its_task_and_no_lessons_without_a_memory() -> None:
    llm = ComponentLLM(context(scripted()), "module 'thinker'")
    await llm.begin_episode(EpisodeStart(0, 0, "cool the apple"), lessons=3)
    assert llm.task == "cool the apple" and llm.lessons == []


async def test_usage_goes_into_the_episode_summary_and_starts_again() -> None:
    llm = ComponentLLM(context(scripted('{"goal": [["cooled", "apple_1"]]}')), "module 'x'")
    await translate_goal(llm.client, "cool the apple", PREDICATES, OBJECTS)
    first = summary()
    first.extra["llm"] = {"calls": 2}  # another component's share of the same episode
    llm.end_episode(first)
    assert first.extra["llm"]["calls"] == 3 and first.extra["llm"]["answers"] == 1
    assert llm.client.usage.calls == 0, "the next episode counts from zero"
    second = summary()
    llm.end_episode(second)
    assert second.extra["llm"]["calls"] == 0


def test_fallback_is_counted_and_stop_raises_the_models_error() -> None:
    error = LLMCallError("server down")
    lenient = ComponentLLM(context(scripted()), "module 'x'")
    lenient.fall_back(error)
    assert lenient.client.usage.fallbacks == 1
    strict = ComponentLLM(context(scripted(on_failure="stop")), "module 'x'")
    with pytest.raises(LLMCallError) as info:
        strict.fall_back(error)
    assert info.value is error and strict.client.usage.fallbacks == 0


async def test_goal_and_subgoals_are_one_question_in_two_shapes() -> None:
    llm = ComponentLLM(
        context(
            scripted(
                '{"goal": [["in", "apple_1", "fridge_1"]]}',
                '{"subgoals": [[["cooled", "apple_1"]], [["in", "apple_1", "fridge_1"]]]}',
            )
        ),
        "module 'x'",
    )
    goal, _ = await translate_goal(llm.client, "put the apple away", PREDICATES, OBJECTS)
    assert goal == frozenset({("in", "apple_1", "fridge_1")})
    sets, answer = await ask_atom_sets(SUBGOALS, llm.client, "chill it", PREDICATES, OBJECTS)
    assert sets == [frozenset({("cooled", "apple_1")}), frozenset({("in", "apple_1", "fridge_1")})]
    assert answer.value.subgoals[0] == [["cooled", "apple_1"]]
    assert llm.client.usage.answers == 2
    assert GOAL.prompt == "goal" and SUBGOALS.prompt == "subgoals"


async def test_every_subgoal_is_checked_against_the_world() -> None:
    llm = ComponentLLM(
        context(
            scripted(
                '{"subgoals": [[["cooled", "apple_1"]], [["in", "apple_1", "oven_1"]]]}',
                '{"subgoals": [[["cooled", "apple_1"]], [["on", "apple_1", "fridge_1"]]]}',
                max_repairs=1,
            )
        ),
        "module 'x'",
    )
    with pytest.raises(LLMOutputError) as info:
        await decompose(llm.client, "chill it", PREDICATES, OBJECTS)
    assert "unknown object(s) 'oven_1'" in info.value.errors[0]
    assert "unknown predicate 'on'" in info.value.errors[1]
