"""The LLM path against a real HTTP server: the real ``langchain-openai`` client, the real
``openai`` and ``httpx`` underneath with their real exceptions, and an OpenAI-compatible server
on a free loopback port (tests/modules/fake_openai.py) that answers as the test scripts it:
normally, slowly, with 429 or 500, or by dropping the connection. No model runs."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.extras import needs_extra

needs_extra("llm", "langchain_core", "langchain_openai", "tenacity")

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from cogos import Agent, load_config_text
from cogos.config import LLMSpec
from cogos.errors import ConfigError
from modules.llm.chat import build_chat_model
from modules.llm.client import (
    LLMCallError,
    LLMClient,
    LLMConnectionError,
    LLMTimeoutError,
    extract_json,
    mark_exclusive,
)
from modules.llm.reasoning import translate_goal
from modules.llm.schemas import GoalAnswer, atom_schema
from modules.planning.domain import load_domain
from tests.cli_runner import cogos
from tests.modules.fake_openai import FakeOpenAI, serve

GOAL = json.dumps({"goal": [["in", "apple_1", "fridge_1"], ["cooled", "apple_1"]]})
OBJECTS = {"apple_1": "item", "fridge_1": "receptacle", "desklamp_1": "lamp"}


def spec(fake: FakeOpenAI, **kw: Any) -> LLMSpec:
    return LLMSpec(
        provider="openai",
        model="fake",
        base_url=fake.base_url,
        **{"timeout": 5, "max_retries": 2, **kw},
    )


def client(fake: FakeOpenAI, **kw: Any) -> LLMClient:
    s = spec(fake, **kw)
    return LLMClient(s, build_chat_model(s))


async def translate(c: LLMClient) -> Any:
    domain = load_domain("household")
    atom = atom_schema(domain.goal_signatures(), OBJECTS, domain.subtypes)
    return await translate_goal(
        c, "put a cool apple in the fridge", domain.predicates, OBJECTS, atom=atom
    )


async def test_the_goal_schema_reaches_the_server_typed_by_the_domain() -> None:
    with serve([{"reply": GOAL}]) as fake:
        goal, answer = await translate(client(fake))
    assert goal == {("in", "apple_1", "fridge_1"), ("cooled", "apple_1")}
    assert (answer.input_tokens, answer.output_tokens) == (11, 7)
    form = fake.requests[0]["response_format"]
    assert form["type"] == "json_schema"
    assert form["json_schema"]["name"] == "goal"
    alternatives = form["json_schema"]["schema"]["properties"]["goal"]["items"]["anyOf"]
    by_name = {alt["prefixItems"][0]["const"]: alt["prefixItems"][1:] for alt in alternatives}
    # `in` takes a thing, then a receptacle: an item or a lamp first, only the fridge second
    assert by_name["in"] == [{"enum": ["apple_1", "desklamp_1"]}, {"enum": ["fridge_1"]}]
    assert by_name["cooled"] == [{"enum": ["apple_1"]}]
    assert by_name["toggled"] == [{"enum": ["desklamp_1"]}]
    assert "canheat" not in by_name, "static predicates are no goal"


async def test_json_object_form_for_llama_cpp_python_servers() -> None:
    with serve([{"reply": GOAL}]) as fake:
        await translate(client(fake, structured_output="json_object"))
    form = fake.requests[0]["response_format"]
    assert form["type"] == "json_object"
    assert "anyOf" in json.dumps(form["schema"])


async def test_a_server_that_refuses_the_schema_is_asked_without_it() -> None:
    with serve([{"status": 400}, {"reply": GOAL}]) as fake:
        c = client(fake)
        goal, _ = await translate(c)
    assert goal
    assert "response_format" in fake.requests[0]
    assert "response_format" not in fake.requests[1]
    assert c.structured == "off"


@pytest.mark.parametrize(
    ("trouble", "cause"),
    [
        ({"drop": True}, "connection"),
        ({"status": 429}, "rate_limit"),
        ({"status": 503}, "server_error"),
    ],
)
async def test_transient_failures_of_the_real_client_are_retried(
    trouble: dict[str, Any], cause: str
) -> None:
    with serve([trouble, trouble, {"reply": GOAL}]) as fake:
        c = client(fake)
        goal, _ = await translate(c)
    assert goal
    assert len(fake.requests) == 3
    assert c.usage.retries == 2
    assert c.usage.failures == 0
    with serve([trouble]) as fake:  # never recovers: a typed error, counted by cause
        c = client(fake, max_retries=1)
        with pytest.raises(LLMCallError) as info:
            await translate(c)
    assert info.value.cause == cause
    assert c.usage.failures_by_cause == {cause: 1}
    assert len(fake.requests) == 2


async def test_a_slow_server_times_out_as_a_typed_error() -> None:
    with serve([{"delay": 2, "reply": GOAL}]) as fake:
        c = client(fake, timeout=0.3, max_retries=1)
        with pytest.raises(LLMTimeoutError):
            await translate(c)
    assert c.usage.failures_by_cause == {"timeout": 1}
    assert c.usage.retries == 1


async def test_a_server_that_went_away_is_a_connection_error() -> None:
    with serve([{"reply": GOAL}]) as fake:
        c = client(fake, max_retries=1)
    with pytest.raises(LLMConnectionError):  # the server is gone now
        await translate(c)
    assert c.usage.failures_by_cause == {"connection": 1}


async def test_a_repair_changes_the_request() -> None:
    with serve([{"reply": '{"goal": [["in", "banana_9", "fridge_1"]]}'}, {"reply": GOAL}]) as fake:
        c = client(fake, temperature=0)
        goal, answer = await translate(c)
    assert goal and answer.attempts == 2
    first, second = fake.requests
    assert first["temperature"] == 0
    assert second["temperature"] > 0, "the same prompt at temperature 0 gets the same answer"
    assert "banana_9" in second["messages"][-1]["content"]
    assert "Do not repeat it" in second["messages"][-1]["content"]


def test_the_first_complete_json_value_is_taken() -> None:
    assert extract_json('{"goal": [["on", "b2", "b3"]]}]]') == {"goal": [["on", "b2", "b3"]]}
    assert extract_json('Here: {"a": {"b": 2}} and {"c": 3}') == {"a": {"b": 2}}


class CountingModel(GenericFakeChatModel):
    """A model used from threads (as ChatLlamaCpp is): counts calls running at once, and puts
    its token counts where ChatLlamaCpp does (``llm_output``, not the message)."""

    running: int = 0
    most: int = 0
    finished: int = 0
    delay: float = 0.5

    def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any) -> Any:
        with _counter_lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(self.delay)
        with _counter_lock:
            self.running -= 1
            self.finished += 1
        return ChatResult(
            generations=[ChatGeneration(message=AIMessage(GOAL))],
            llm_output={"token_usage": {"prompt_tokens": 40, "completion_tokens": 12}},
        )


_counter_lock = threading.Lock()


async def test_a_timed_out_in_process_call_never_overlaps_the_next() -> None:
    model = CountingModel(messages=iter([]))
    mark_exclusive(model)
    c = LLMClient(LLMSpec(provider="scripted", model="m", timeout=0.2, max_retries=2), model)
    with pytest.raises(LLMTimeoutError):
        await c.ask("s", "u", GoalAnswer)  # three attempts give up while calls still run
    # the three abandoned calls finish, one after the other (their state lives in threads:
    # polled, with a bound far past the 1.5 s they take)
    async with asyncio.timeout(60):
        while model.finished < 3:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    assert model.most == 1, "two calls ran on one model at once"
    model.delay = 0.0
    answer = await c.ask("s", "u", GoalAnswer)
    assert answer.value.goal
    assert (answer.input_tokens, answer.output_tokens) == (40, 12), "llama.cpp's counts"


HOUSEHOLD = """
version: 1
episodes: 1
env: {{name: household, options: {{task: any, max_steps: 8}}}}
agent:
  policy: {{name: llm}}
  modules: [{{name: perception.facts}}]
llm: {{provider: openai, model: fake, base_url: "{url}", timeout: 5, max_retries: 1, on_failure: {on_failure}}}
"""


def test_a_run_whose_model_never_answered_says_so_and_fails(
    tmp_path: Path, repo_root: Path
) -> None:
    with serve([{"status": 500}]) as fake:
        cfg = tmp_path / "c.yaml"
        cfg.write_text(HOUSEHOLD.format(url=fake.base_url, on_failure="fallback"))
        proc = cogos("run", str(cfg), "--out", str(tmp_path / "o"), cwd=repo_root)
    assert proc.returncode == 1, proc.stderr
    assert "LLM: 8 calls, 0 answers, 8 failed (server_error 8)" in proc.stdout
    assert "8 fallbacks" in proc.stdout
    assert "the model contributed nothing" in proc.stderr
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert metrics["llm_failures_by_cause"] == {"server_error": 8}
    assert metrics["llm_fallbacks"] == 8


def test_on_failure_stop_ends_the_run_at_the_first_failure(tmp_path: Path, repo_root: Path) -> None:
    with serve([{"status": 500}]) as fake:
        cfg = tmp_path / "c.yaml"
        cfg.write_text(HOUSEHOLD.format(url=fake.base_url, on_failure="stop"))
        proc = cogos("run", str(cfg), "--out", str(tmp_path / "o"), cwd=repo_root)
        assert len(fake.requests) == 2  # one call, retried once
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "fake failed: InternalServerError" in proc.stderr


def test_an_unreachable_server_refuses_the_config_before_any_episode(tmp_path: Path) -> None:
    with serve([{"reply": GOAL}]) as fake:
        url = fake.base_url
    with pytest.raises(ConfigError) as info:
        load_config_text(HOUSEHOLD.format(url=url, on_failure="fallback"))
    assert info.value.key == "llm.base_url"
    assert "cannot reach the model server" in info.value.message


async def test_llm_policy_against_the_server_counts_tokens_and_answers() -> None:
    reply = {"reply": json.dumps({"actions": [{"action": "look", "score": 0.5, "reason": "r"}]})}
    with serve([reply]) as fake:
        loaded = load_config_text(HOUSEHOLD.format(url=fake.base_url, on_failure="stop"))
        agent = Agent(loaded)
        async with agent:
            summary = await agent.run_episode(0, 0)
        form = fake.requests[0]["response_format"]["json_schema"]["schema"]
    usage = summary.extra["llm"]
    assert usage["answers"] == usage["calls"] == 8
    assert (usage["input_tokens"], usage["output_tokens"]) == (88, 56)
    assert "look" in form["properties"]["actions"]["items"]["properties"]["action"]["enum"]


@pytest.mark.parametrize(
    ("mode", "key", "expected"),
    [
        (
            "json_schema",
            "response_format",
            {"type": "json_schema", "json_schema": {"name": "goal", "schema": {"type": "object"}}},
        ),
        ("json_object", "response_format", {"type": "json_object", "schema": {"type": "object"}}),
        ("ollama", "format", {"type": "object"}),
    ],
)
def test_each_provider_gets_the_schema_in_its_own_form(mode: str, key: str, expected: Any) -> None:
    from modules.llm.client import structured_kwargs

    assert structured_kwargs(mode, {"type": "object"}, "goal") == {key: expected}
    assert structured_kwargs("off", {"type": "object"}, "goal") == {}


def test_a_config_names_a_recipe_file_for_its_model(tmp_path: Path) -> None:
    with serve([{"reply": GOAL}]) as fake:
        (tmp_path / "llm").mkdir()
        (tmp_path / "llm" / "mine.yaml").write_text(
            f"llm: {{provider: openai, model: fake, base_url: '{fake.base_url}', timeout: 9}}\n"
        )
        cfg = tmp_path / "run.yaml"
        cfg.write_text(
            HOUSEHOLD.format(url="unused", on_failure="stop").split("llm:")[0]
            + "llm: llm/mine.yaml\n"
        )
        from cogos import load_config

        loaded = load_config(cfg)
    assert loaded.config.llm is not None
    assert (loaded.config.llm.base_url, loaded.config.llm.timeout) == (fake.base_url, 9)
    with pytest.raises(ConfigError, match=r"llm names 'llm/none\.yaml'") as info:
        load_config(cfg, ["llm=llm/none.yaml"])
    assert info.value.key == "llm"


class TinyContext:
    """Stands in for a ``llama_cpp.Llama``: a 64-token context, one token per word."""

    def tokenize(self, text: bytes, add_bos: bool = True) -> list[int]:
        return list(range(len(text.split()) + int(add_bos)))

    def n_ctx(self) -> int:
        return 64


class InProcessModel(CountingModel):
    client: Any = None
    max_tokens: int = 16


async def test_a_prompt_too_long_for_an_in_process_context_is_a_config_error() -> None:
    model = InProcessModel(messages=iter([]), client=TinyContext(), delay=0.0)
    mark_exclusive(model)
    c = LLMClient(LLMSpec(provider="scripted", model="m", timeout=5), model)
    assert (await c.ask("s", "short", GoalAnswer)).value.goal
    with pytest.raises(ConfigError, match=r"llm\.options\.n_ctx") as info:
        await c.ask("s", "word " * 60, GoalAnswer)
    assert info.value.key == "llm.options"


def test_in_process_defaults_come_from_the_gguf() -> None:
    from modules.llm.chat import LLAMACPP_DEFAULTS

    assert LLAMACPP_DEFAULTS == {
        "n_ctx": 0,
        "rope_freq_base": 0.0,
        "rope_freq_scale": 0.0,
        "verbose": False,
        "streaming": False,
    }


def test_the_goal_vocabulary_option_names_only_the_domains_predicates() -> None:
    text = """
episodes: 1
env: {name: household}
agent:
  policy: {name: neuro_symbolic}
  modules:
    - {name: perception.facts}
    - {name: llm.goal, options: {domain: household, predicates: [in, cooled, chilled]}}
    - {name: planner.pddl, options: {domain: household}}
llm: {provider: scripted, model: m}
"""
    with pytest.raises(ConfigError, match=r"no predicate 'chilled' in domain 'household'"):
        Agent(load_config_text(text))
    agent = Agent(load_config_text(text.replace(", chilled", "")))
    goal = next(m for m in agent.modules if m.name == "llm.goal")
    assert goal.predicates == {"in": 2, "cooled": 1}  # type: ignore[attr-defined]
