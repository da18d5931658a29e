"""Chat model requests as GenAI spans: LangChain's scripted model, the real OpenAI client against
a scripted OpenAI-compatible server, and an LLM policy inside the maze agent."""

import json

from tests.extras import needs_extra
from tests.spans import TELEMETRY_MODULES

needs_extra("llm", "langchain_core", "tenacity")
needs_extra("telemetry", *TELEMETRY_MODULES)

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from opentelemetry.trace import SpanKind, StatusCode

from cogos import Agent, load_config_text
from cogos.config import LLMSpec
from modules.llm.chat import build_chat_model
from modules.llm.client import LLMClient
from modules.llm.schemas import GoalAnswer
from tests.modules.fake_openai import serve
from tests.spans import attrs, in_memory, named, parent_of, undocumented

GOAL = json.dumps({"goal": [["cooled", "apple_1"]]})


def reply(text: str) -> AIMessage:
    return AIMessage(
        text,
        usage_metadata={"input_tokens": 10, "output_tokens": 5, "total_tokens": 15},
        response_metadata={"finish_reason": "stop", "model_name": "test-v2"},
    )


async def test_each_request_is_a_chat_span_with_genai_attributes() -> None:
    """A malformed answer is repaired: two requests, two spans, the second sampled warmer."""
    telemetry, exporter = in_memory()
    model = GenericFakeChatModel(messages=iter([reply("no JSON here"), reply(GOAL)]))
    spec = LLMSpec(provider="scripted", model="test", max_tokens=256)
    client = LLMClient(spec, model, source="llm.goal", tracer=telemetry.tracer)
    answer = await client.ask("system", "user", GoalAnswer, what="goal")
    assert answer.attempts == 2
    first, second = exporter.get_finished_spans()
    for span in (first, second):
        assert span.name == "chat test" and span.kind is SpanKind.CLIENT
        assert span.status.status_code is StatusCode.UNSET
    common = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "scripted",
        "gen_ai.system": "scripted",
        "gen_ai.request.model": "test",
        "gen_ai.request.max_tokens": 256,
        "gen_ai.usage.input_tokens": 10,
        "gen_ai.usage.output_tokens": 5,
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.response.model": "test-v2",
        "cogos.component": "llm.goal",
        "cogos.llm.what": "goal",
    }
    assert attrs(first) == {**common, "gen_ai.request.temperature": 0.0}
    assert attrs(second) == {**common, "gen_ai.request.temperature": 0.3}


async def test_a_real_openai_client_failing_then_answering() -> None:
    """HTTP 500 is retried: the failed request's span says why, the next one what came back."""
    telemetry, exporter = in_memory()
    with serve([{"status": 500}, {"reply": GOAL}]) as fake:
        spec = LLMSpec(provider="openai", model="qwen", base_url=fake.base_url, max_retries=1)
        client = LLMClient(spec, build_chat_model(spec), tracer=telemetry.tracer)
        await client.ask("system", "user", GoalAnswer, what="goal")
    failed, answered = exporter.get_finished_spans()
    assert failed.status.status_code is StatusCode.ERROR
    assert attrs(failed)["error.type"] == "server_error"
    assert "gen_ai.usage.input_tokens" not in attrs(failed)
    assert [e.name for e in failed.events] == ["exception"]
    attributes = attrs(answered)
    assert answered.status.status_code is StatusCode.UNSET and "error.type" not in attributes
    assert (attributes["gen_ai.usage.input_tokens"], attributes["gen_ai.usage.output_tokens"]) == (
        11,
        7,
    )
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert attributes["gen_ai.response.model"] == "qwen"
    assert attributes["gen_ai.response.id"] == "chatcmpl-fake"
    assert attributes["gen_ai.provider.name"] == "openai"
    assert (attributes["server.address"], attributes["server.port"]) == ("127.0.0.1", fake.port)
    assert undocumented([failed, answered]) == set()


MAZE = """
episodes: 1
env: {{name: maze, options: {{width: 6, height: 6, radius: 1, maze_seed: 4, max_steps: 4}}}}
agent: {{policy: {{name: llm}}, modules: [{{name: perception.facts}}]}}
llm: {{provider: scripted, model: test, responses: {responses}}}
"""


async def test_the_llm_policys_requests_are_children_of_the_decide_phase() -> None:
    replies = [json.dumps({"actions": [{"action": a, "score": 0.9}]}) for a in ["east"] * 8]
    telemetry, exporter = in_memory()
    agent = Agent(load_config_text(MAZE.format(responses=json.dumps(replies))), telemetry=telemetry)
    async with agent:
        summary = await agent.run_episode(0, 0)
    spans = list(exporter.get_finished_spans())
    chats = named(spans, "chat test")
    assert len(chats) == summary.cycles
    decides = [parent_of(spans, chat) for chat in chats]
    assert {d.name for d in decides if d is not None} == {"cogos.decide"}
    cycles = [parent_of(spans, d) for d in decides if d is not None]
    assert cycles == named(spans, "cogos.cycle")
    assert {attrs(c)["cogos.component"] for c in chats} == {"llm"}
    assert all(attrs(c)["gen_ai.usage.output_tokens"] > 0 for c in chats)
    tokens = sum(attrs(c)["gen_ai.usage.output_tokens"] for c in chats)
    assert tokens == summary.extra["llm"]["output_tokens"], "the spans add up to the run's usage"
