"""Asking a chat model for a typed answer: timeouts, retries with backoff, repair, accounting.

``ask`` sends a prompt, expects one JSON object back, parses it into a pydantic model and runs a
semantic check (does the action exist, are these objects in the world?). Where the provider can
constrain decoding to a JSON schema, the schema built from the world goes with the request
(``llm.structured_output``). A malformed or invalid answer is shown back to the model with the
error and asked again, at a slightly higher temperature, up to ``max_repairs`` times; then
:class:`LLMOutputError`. The real clients' failures become typed errors (:func:`classify`):
timeouts, dropped connections, HTTP 429 and 5xx are retried with exponential backoff (tenacity),
up to ``max_retries``; every failure is counted by its cause. An in-process model
(:func:`mark_exclusive`) serves one call at a time, a timed-out one included.
The answer is never executed or evaluated as code: it is data, and the checks decide whether to
use it. Every call's tokens and time are added to ``usage`` and published on the bus
(``llm/call``), so traces and metrics carry them. Given a tracer (telemetry on), every request
sent is also an OpenTelemetry span with the GenAI conventions' attributes
(:mod:`modules.llm.genai_spans`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from cogos.bus import Bus
from cogos.config import LLMSpec
from cogos.errors import CogOSError, ConfigError
from modules.llm.genai_spans import chat_span, reply_attributes

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

log = logging.getLogger("cogos.llm")

T = TypeVar("T", bound=BaseModel)
V = TypeVar("V")
Check = Callable[[Any], str | None]
"""Semantic check of a parsed answer: None when usable, else what is wrong (shown to the model)."""

_JSON_BLOCK = re.compile(r"```(?:json)?\s*(\{.*?\})\s*```", re.S)


class LLMError(CogOSError):
    """A call to the model that gave nothing usable; ``cause`` names why (for the counts)."""

    cause = "error"


class LLMOutputError(LLMError):
    """The model kept answering with output that could not be parsed or used."""

    cause = "bad_output"

    def __init__(self, what: str, errors: list[str]) -> None:
        self.errors = errors
        super().__init__(f"{what}: no usable answer after {len(errors)} attempt(s): {errors[-1]}")


class LLMCallError(LLMError):
    """The model could not be reached (after retries), did not answer in time, or refused."""


class LLMTimeoutError(LLMCallError, TimeoutError):
    """No answer within ``llm.timeout`` (retried)."""

    cause = "timeout"


class LLMConnectionError(LLMCallError, ConnectionError):
    """The connection failed or dropped: server down, restarting, network (retried)."""

    cause = "connection"


class LLMRateLimitError(LLMCallError):
    """HTTP 429 (retried with backoff)."""

    cause = "rate_limit"


class LLMServerError(LLMCallError):
    """HTTP 5xx (retried with backoff)."""

    cause = "server_error"


class LLMRequestError(LLMCallError):
    """The provider refused the request itself (HTTP 4xx, a prompt too long): not retried."""

    cause = "request"


_TIMEOUT_NAMES = {
    "APITimeoutError",
    "TimeoutException",
    "ReadTimeout",
    "WriteTimeout",
    "PoolTimeout",
}
_CONNECTION_NAMES = {
    "APIConnectionError",
    "ConnectError",
    "ConnectTimeout",
    "RemoteProtocolError",
    "ReadError",
    "WriteError",
    "NetworkError",
    "TransportError",
}


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None) or getattr(
        getattr(exc, "response", None), "status_code", None
    )
    return status if isinstance(status, int) else None


def classify(exc: BaseException) -> type[LLMCallError]:
    """The typed error for an exception raised by a provider's client.

    The real clients raise their own types (openai's ``APIConnectionError``, httpx's transport
    errors, Ollama's ``ResponseError`` with a status), often chained: the whole chain is looked
    at, by class name and HTTP status, so that no provider package has to be imported here.
    """
    seen: BaseException | None = exc
    while seen is not None:
        names = {cls.__name__ for cls in type(seen).__mro__}
        if isinstance(seen, TimeoutError) or names & _TIMEOUT_NAMES:
            return LLMTimeoutError
        status = _status(seen)
        if status == 429:
            return LLMRateLimitError
        if status is not None and status >= 500:
            return LLMServerError
        if status is not None and 400 <= status < 500:
            return LLMRequestError
        if isinstance(seen, ConnectionError | OSError) or names & _CONNECTION_NAMES:
            return LLMConnectionError
        seen = seen.__cause__ or seen.__context__
    return LLMCallError


_RETRIED = (LLMTimeoutError, LLMConnectionError, LLMRateLimitError, LLMServerError)


@dataclass
class Usage:
    """Running totals for one component."""

    calls: int = 0
    answers: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0
    repairs: int = 0
    retries: int = 0
    failures: int = 0
    fallbacks: int = 0
    failures_by_cause: dict[str, int] = field(default_factory=dict)

    def failed(self, cause: str) -> None:
        self.failures += 1
        self.failures_by_cause[cause] = self.failures_by_cause.get(cause, 0) + 1

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "failures_by_cause": dict(self.failures_by_cause)}


@dataclass
class Answer(Generic[V]):
    """A parsed, checked answer (or a text) and what it cost."""

    value: V
    attempts: int
    raw: str
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


def extract_json(text: str) -> Any:
    """The JSON object in a reply: a fenced ```json block, else the first complete object.

    Small models often add a stray bracket or a sentence after a valid object; the first
    complete JSON value is taken and the rest ignored (the schema check decides whether the
    value itself is usable).
    """
    match = _JSON_BLOCK.search(text)
    if match is not None:
        text = match.group(1)
    start = text.find("{")
    if start < 0:
        raise ValueError("the reply contains no JSON object")
    try:
        value, _ = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the reply is not valid JSON ({exc.msg} at column {exc.colno})") from None
    return value


def token_counts(reply: Any) -> tuple[int, int]:
    """Input and output tokens of a reply, wherever the provider put them.

    LangChain's ``usage_metadata`` where it is filled; else the OpenAI-style ``usage`` (or
    ``token_usage``) in ``response_metadata``, which is where llama.cpp's counts arrive.
    """
    usage = getattr(reply, "usage_metadata", None) or {}
    if usage.get("input_tokens") or usage.get("output_tokens"):
        return int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))
    meta = getattr(reply, "response_metadata", None) or {}
    raw = meta.get("usage") or meta.get("token_usage") or {}
    if not isinstance(raw, dict):
        return 0, 0
    return int(raw.get("prompt_tokens", 0) or 0), int(raw.get("completion_tokens", 0) or 0)


def _structured_mode(spec: LLMSpec) -> str:
    """How this provider takes a JSON schema ("off" where it has no way)."""
    if spec.structured_output != "auto":
        return spec.structured_output
    return {"openai": "json_schema", "llamacpp": "json_object", "ollama": "ollama"}.get(
        spec.provider, "off"
    )


def structured_kwargs(mode: str, schema: dict[str, Any] | None, name: str) -> dict[str, Any]:
    """The per-call arguments that ask the provider for output matching ``schema``.

    ``json_schema`` is OpenAI's form (also vLLM's and llama.cpp's ``llama-server``);
    ``json_object`` with a ``schema`` is llama-cpp-python's (its server and ``Llama`` in-process,
    where the schema becomes a grammar); Ollama takes the schema as ``format``.
    """
    if schema is None or mode == "off":
        return {}
    if mode == "json_schema":
        return {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": name, "schema": schema},
            }
        }
    if mode == "json_object":
        return {"response_format": {"type": "json_object", "schema": schema}}
    if mode == "ollama":
        return {"format": schema}
    raise ValueError(f"unknown structured output mode {mode!r}")


# id(model) -> (the model, kept alive here so its id is never reused, and its lock)
_EXCLUSIVE: dict[int, tuple[Any, threading.Lock]] = {}


def mark_exclusive(model: Any) -> None:
    """Declare that ``model`` serves one call at a time (an in-process llama.cpp context).

    Its calls then run in a thread that holds the model's lock for the whole call, also after
    the caller gave up waiting: a timed-out call still running never overlaps the next one.
    """
    _EXCLUSIVE.setdefault(id(model), (model, threading.Lock()))


_TEMPLATE_TOKENS = 16  # a chat template's tokens around each message, at most


def _check_fits(model: Any, messages: Any) -> None:
    """Refuse a prompt that cannot fit an in-process llama.cpp context.

    llama.cpp itself fails on one with an error that does not say so.
    """
    llama = getattr(model, "client", None)
    if llama is None or not hasattr(llama, "tokenize") or not hasattr(llama, "n_ctx"):
        return
    text = "".join(str(m.content) for m in messages)
    need = len(llama.tokenize(text.encode(), add_bos=True)) + _TEMPLATE_TOKENS * len(messages)
    need += int(getattr(model, "max_tokens", 0) or 0)
    if need > llama.n_ctx():
        raise ConfigError(
            f"the prompt and the answer need about {need} tokens, but the model's context holds "
            f"{llama.n_ctx()}: set llm.options.n_ctx higher (0 takes the GGUF file's own length)",
            key="llm.options",
        )


def _generate(model: Any, messages: Any, kwargs: dict[str, Any]) -> Any:
    """One reply, with the token counts copied onto the message.

    ``ChatLlamaCpp`` leaves them in ``llm_output``, which ``invoke`` and ``generate`` drop, so
    its ``_generate`` is called (the chat models' documented extension point).
    """
    _check_fits(model, messages)
    result = model._generate(messages, **kwargs)
    message = result.generations[0].message
    usage = (result.llm_output or {}).get("token_usage") or {}
    counted = getattr(message, "usage_metadata", None) or {}
    if usage and not (counted.get("input_tokens") or counted.get("output_tokens")):
        tokens_in = int(usage.get("prompt_tokens", 0) or 0)
        tokens_out = int(usage.get("completion_tokens", 0) or 0)
        message.usage_metadata = {
            "input_tokens": tokens_in,
            "output_tokens": tokens_out,
            "total_tokens": tokens_in + tokens_out,
        }
    return message


def _invoke_exclusively(
    model: Any, lock: threading.Lock, messages: Any, kwargs: dict[str, Any]
) -> asyncio.Future[Any]:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():  # the caller gave up (timeout, cancelled)
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def work() -> None:
        with lock:
            try:
                result, error = _generate(model, messages, kwargs), None
            except BaseException as exc:  # handed to the waiting coroutine, not lost
                result, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop may be closed by now
            loop.call_soon_threadsafe(settle, result, error)

    # a daemon thread: a call still running in C code must not keep the process alive
    threading.Thread(target=work, name="llm-call", daemon=True).start()
    return future


class LLMClient:
    """A chat model plus the policy for using it (see the module docstring)."""

    def __init__(
        self,
        spec: LLMSpec,
        model: Any,
        *,
        bus: Bus | None = None,
        source: str = "llm",
        tracer: Tracer | None = None,
    ) -> None:
        self.spec = spec
        self.model = model
        self.bus = bus
        self.source = source
        self.tracer = tracer
        self.usage = Usage()
        self.structured = _structured_mode(spec)

    async def _once(self, messages: list[Any], kwargs: dict[str, Any]) -> Any:
        exclusive = _EXCLUSIVE.get(id(self.model))
        try:
            if exclusive is not None:
                _, lock = exclusive
                call = _invoke_exclusively(self.model, lock, messages, kwargs)
            else:
                call = self.model.ainvoke(messages, **kwargs)
            return await asyncio.wait_for(call, self.spec.timeout)
        except TimeoutError:
            raise LLMTimeoutError(
                f"no answer from {self.spec.provider}/{self.spec.model} within "
                f"{self.spec.timeout:g} s"
            ) from None
        except StopIteration:
            raise LLMCallError("the scripted model has no more replies") from None
        except (asyncio.CancelledError, LLMCallError, ConfigError):
            raise
        except Exception as exc:
            if "context window" in str(exc) or "exceed context" in str(exc):
                # llama.cpp in-process: the prompt cannot fit, and no retry will make it fit
                raise ConfigError(
                    f"the prompt does not fit the model's context ({exc}): set "
                    "llm.options.n_ctx higher (0 takes the GGUF file's own length)",
                    key="llm.options",
                ) from None
            kind = classify(exc)
            error = kind(
                f"{self.spec.provider}/{self.spec.model} failed: {type(exc).__name__}: {exc}"
            )
            if kind is LLMCallError:  # not a known kind: counted under its own type's name
                error.cause = type(exc).__name__
            raise error from exc

    async def _traced_once(self, messages: list[Any], kwargs: dict[str, Any], what: str) -> Any:
        """:meth:`_once` as a GenAI span (see :mod:`modules.llm.genai_spans`)."""
        assert self.tracer is not None
        with chat_span(self.tracer, self.spec, kwargs, source=self.source, what=what) as span:
            try:
                reply = await self._once(messages, kwargs)
            except BaseException as exc:
                cause = exc.cause if isinstance(exc, LLMError) else type(exc).__qualname__
                span.set_attribute("error.type", cause)
                raise
            span.set_attributes(reply_attributes(reply, *token_counts(reply)))
            return reply

    async def _call(self, messages: list[Any], kwargs: dict[str, Any], what: str = "text") -> Any:
        """One answer, with transient failures retried (exponential backoff)."""

        def count(state: Any) -> None:
            self.usage.retries += 1

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.spec.max_retries + 1),
            wait=wait_exponential(multiplier=0.5, max=8),
            retry=retry_if_exception_type(_RETRIED),
            before_sleep=count,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                if self.tracer is None:
                    return await self._once(messages, kwargs)
                return await self._traced_once(messages, kwargs, what)
        raise LLMCallError("unreachable")  # pragma: no cover

    async def _call_structured(
        self, messages: list[Any], schema: dict[str, Any] | None, what: str, attempt: int
    ) -> Any:
        kwargs = structured_kwargs(self.structured, schema, what)
        if attempt > 1:
            # a repair at temperature 0 would get the same answer back: sample a little
            kwargs["temperature"] = max(self.spec.temperature, min(0.3 * (attempt - 1), 0.9))
        try:
            return await self._call(messages, kwargs, what)
        except LLMRequestError as exc:
            if "response_format" not in kwargs and "format" not in kwargs:
                raise
            # the server does not take this form of structured output: parse and repair only
            log.warning(
                "%s: %s/%s refused structured output (%s); llm.structured_output: off is used "
                "from now on",
                self.source,
                self.spec.provider,
                self.spec.model,
                exc,
            )
            self.structured = "off"
            kwargs = {k: v for k, v in kwargs.items() if k not in ("response_format", "format")}
            return await self._call(messages, kwargs, what)

    async def ask(
        self,
        system: str,
        user: str,
        schema: type[T],
        *,
        check: Check | None = None,
        what: str = "answer",
        json_schema: dict[str, Any] | None = None,
    ) -> Answer[T]:
        """A parsed, checked answer.

        ``json_schema`` (when given) constrains the decoding of providers that can (see
        ``llm.structured_output``); the parse, check and repair loop runs either way.
        """
        from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

        messages: list[Any] = [SystemMessage(system), HumanMessage(user)]
        errors: list[str] = []
        started = time.perf_counter()
        tokens_in = tokens_out = 0
        text = ""
        for attempt in range(1, self.spec.max_repairs + 2):
            try:
                reply = await self._call_structured(messages, json_schema, what, attempt)
            except LLMCallError as exc:
                self.usage.failed(exc.cause)
                spent: Answer[Any] = Answer(
                    None,
                    attempt,
                    text,
                    tokens_in,
                    tokens_out,
                    time.perf_counter() - started,
                    [*errors, str(exc)],
                )
                await self._account(spent, what, messages)
                raise
            got_in, got_out = token_counts(reply)
            tokens_in += got_in
            tokens_out += got_out
            text = reply.content if isinstance(reply.content, str) else json.dumps(reply.content)
            try:
                value = schema.model_validate(extract_json(text))
                problem = check(value) if check is not None else None
            except (ValueError, ValidationError) as exc:
                problem = str(exc).splitlines()[0] if isinstance(exc, ValidationError) else str(exc)
                if isinstance(exc, ValidationError):
                    problem = "; ".join(
                        f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3]
                    )
            if problem is None:
                answer: Answer[T] = Answer(
                    value,
                    attempt,
                    text,
                    tokens_in,
                    tokens_out,
                    time.perf_counter() - started,
                    errors,
                )
                self.usage.answers += 1
                await self._account(answer, what, messages)
                return answer
            errors.append(problem)
            self.usage.repairs += 1
            messages += [
                AIMessage(text),
                HumanMessage(
                    f"Attempt {attempt} cannot be used: {problem}\n"
                    f"Do not repeat it. Reply again with only the corrected JSON object for the "
                    f"original request, using only the names it lists, and nothing else."
                ),
            ]
        self.usage.failed(LLMOutputError.cause)
        failed: Answer[Any] = Answer(
            None, len(errors), text, tokens_in, tokens_out, time.perf_counter() - started, errors
        )
        # a failed call costs as much, and is traced alike
        await self._account(failed, what, messages)
        raise LLMOutputError(what, errors)

    async def ask_text(self, system: str, user: str, *, what: str = "text") -> Answer[str]:
        """The model's reply as text: no schema, no check, no repair (transient errors retried).

        For baselines that take a model's free-form output as it comes (a PDDL problem written
        in one shot, as LLM+P does); whatever reads the text decides whether it is usable.
        """
        from langchain_core.messages import HumanMessage, SystemMessage

        started = time.perf_counter()
        messages: list[Any] = [SystemMessage(system), HumanMessage(user)]
        try:
            reply = await self._call(messages, {}, what)
        except LLMCallError as exc:
            self.usage.failed(exc.cause)
            failed = Answer(None, 1, "", 0, 0, time.perf_counter() - started, [str(exc)])
            await self._account(failed, what, messages)
            raise
        tokens_in, tokens_out = token_counts(reply)
        text = reply.content if isinstance(reply.content, str) else json.dumps(reply.content)
        answer: Answer[str] = Answer(
            text, 1, text, tokens_in, tokens_out, time.perf_counter() - started
        )
        self.usage.answers += 1
        await self._account(answer, what, messages)
        return answer

    async def _account(self, answer: Answer[Any], what: str, messages: list[Any]) -> None:
        u = self.usage
        u.calls += answer.attempts
        u.input_tokens += answer.input_tokens
        u.output_tokens += answer.output_tokens
        u.seconds += answer.seconds
        if self.bus is not None and self.bus.has_subscribers("llm/call"):
            await self.bus.publish(
                "llm/call",
                {
                    "what": what,
                    "attempts": answer.attempts,
                    "input_tokens": answer.input_tokens,
                    "output_tokens": answer.output_tokens,
                    "seconds": round(answer.seconds, 4),
                    "errors": answer.errors,
                    "model": f"{self.spec.provider}/{self.spec.model}",
                    # the conversation as sent (repairs included) and the last reply: the trace
                    # keeps them with the cycle, for the inspector
                    "messages": [{"role": m.type, "content": m.content} for m in messages],
                    "answer": answer.raw,
                },
                source=self.source,
            )
