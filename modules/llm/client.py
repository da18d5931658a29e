"""Asking a chat model for a typed answer: timeouts, retries with backoff, repair, accounting.

``ask`` sends a prompt, expects one JSON object back, parses it into a pydantic model and runs a
semantic check (does the action exist, are these objects in the world?). A malformed or invalid
answer is shown back to the model with the error and asked again, up to ``max_repairs`` times;
then :class:`LLMOutputError`. Transient failures of the call itself (a timeout, a dropped
connection, an HTTP 5xx) are retried with exponential backoff (tenacity), up to ``max_retries``.
The answer is never executed or evaluated as code: it is data, and the checks decide whether to
use it. Every call's tokens and time are added to ``usage`` and published on the bus
(``llm/call``), so traces and metrics carry them.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from cogos.bus import Bus
from cogos.config import LLMSpec
from cogos.errors import CogOSError

T = TypeVar("T", bound=BaseModel)
Check = Callable[[Any], str | None]
"""Semantic check of a parsed answer: None when usable, else what is wrong (shown to the model)."""

_JSON_BLOCK = re.compile(r"```(?:json)?\s*(\{.*?\})\s*```", re.S)


class LLMOutputError(CogOSError):
    """The model kept answering with output that could not be parsed or used."""

    def __init__(self, what: str, errors: list[str]) -> None:
        self.errors = errors
        super().__init__(f"{what}: no usable answer after {len(errors)} attempt(s): {errors[-1]}")


class LLMCallError(CogOSError):
    """The model could not be reached (after retries) or did not answer in time."""


@dataclass
class Usage:
    """Running totals for one component."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0
    repairs: int = 0
    failures: int = 0

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Answer(Generic[T]):
    """A parsed, checked answer and what it cost."""

    value: T
    attempts: int
    raw: str
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


def extract_json(text: str) -> Any:
    """The JSON object in a reply: a fenced ```json block, else the outermost {...}."""
    match = _JSON_BLOCK.search(text)
    candidate = match.group(1) if match else None
    if candidate is None:
        start, end = text.find("{"), text.rfind("}")
        if start < 0 or end <= start:
            raise ValueError("the reply contains no JSON object")
        candidate = text[start : end + 1]
    try:
        return json.loads(candidate)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the reply is not valid JSON ({exc.msg} at column {exc.colno})") from None


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, TimeoutError | ConnectionError | OSError):
        return True
    status = getattr(exc, "status_code", None) or getattr(
        getattr(exc, "response", None), "status_code", None
    )
    return isinstance(status, int) and (status == 429 or status >= 500)


class LLMClient:
    """A chat model plus the policy for using it (see the module docstring)."""

    def __init__(
        self, spec: LLMSpec, model: Any, *, bus: Bus | None = None, source: str = "llm"
    ) -> None:
        self.spec = spec
        self.model = model
        self.bus = bus
        self.source = source
        self.usage = Usage()

    async def _call(self, messages: list[Any]) -> Any:
        spec = self.spec
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(spec.max_retries + 1),
                wait=wait_exponential(multiplier=0.5, max=8),
                retry=retry_if_exception(_transient),
                reraise=True,
            ):
                with attempt:
                    return await asyncio.wait_for(self.model.ainvoke(messages), spec.timeout)
        except TimeoutError:
            raise LLMCallError(
                f"no answer from {spec.provider}/{spec.model} within {spec.timeout:g} s"
            ) from None
        except StopIteration:
            raise LLMCallError("the scripted model has no more replies") from None
        except Exception as exc:
            raise LLMCallError(
                f"{spec.provider}/{spec.model} failed: {type(exc).__name__}: {exc}"
            ) from exc
        raise LLMCallError("unreachable")  # pragma: no cover

    async def ask(
        self,
        system: str,
        user: str,
        schema: type[T],
        *,
        check: Check | None = None,
        what: str = "answer",
    ) -> Answer[T]:
        from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

        messages: list[Any] = [SystemMessage(system), HumanMessage(user)]
        errors: list[str] = []
        started = time.perf_counter()
        tokens_in = tokens_out = 0
        for attempt in range(1, self.spec.max_repairs + 2):
            try:
                reply = await self._call(messages)
            except LLMCallError:
                self.usage.failures += 1
                raise
            usage = getattr(reply, "usage_metadata", None) or {}
            tokens_in += int(usage.get("input_tokens", 0))
            tokens_out += int(usage.get("output_tokens", 0))
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
                await self._account(answer, what)
                return answer
            errors.append(problem)
            self.usage.repairs += 1
            messages += [
                AIMessage(text),
                HumanMessage(
                    f"That answer cannot be used: {problem}\nReply again with only the corrected "
                    "JSON object, nothing else."
                ),
            ]
        self.usage.failures += 1
        spent: Answer[Any] = Answer(
            None, len(errors), text, tokens_in, tokens_out, time.perf_counter() - started, errors
        )
        await self._account(spent, what)  # a failed call costs as much, and is traced alike
        raise LLMOutputError(what, errors)

    async def _account(self, answer: Answer[Any], what: str) -> None:
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
                },
                source=self.source,
            )
