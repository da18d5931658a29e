"""A chat model request as an OpenTelemetry span, named and described by the GenAI conventions.

OpenTelemetry's semantic conventions for generative AI (``gen_ai.*``) let any backend that
knows them (Jaeger, Grafana Tempo, Langfuse, Phoenix...) show a model call as one: the span is
``chat {model}`` of kind CLIENT, with the request's model, temperature and token limit, the
answer's token counts, model and finish reasons, and ``error.type`` when it failed. One span is
made per request sent, so a retried or repaired answer shows each request it took; the
attributes ``cogos.component`` and ``cogos.llm.what`` say which component asked, and for what.

Only :class:`~modules.llm.client.LLMClient` uses this, and only when it was given a tracer:
OpenTelemetry is imported here only then.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from cogos.config import LLMSpec

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer

OPERATION = "chat"

_FINISH_KEYS = ("finish_reason", "done_reason", "stop_reason")
"""Where providers put why the answer ended: OpenAI (and compatible servers) and Gemini,
Ollama, Anthropic."""
_MODEL_KEYS = ("model_name", "model")


def request_attributes(
    spec: LLMSpec, kwargs: Mapping[str, Any], *, source: str, what: str
) -> dict[str, Any]:
    """What a request asks for, known before it is sent."""
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": OPERATION,
        "gen_ai.provider.name": spec.provider,
        "gen_ai.system": spec.provider,  # its name before the conventions 1.37; still read
        "gen_ai.request.model": spec.model,
        # a repair samples warmer than the spec says (see LLMClient._call_structured)
        "gen_ai.request.temperature": float(kwargs.get("temperature", spec.temperature)),
        "cogos.component": source,
        "cogos.llm.what": what,
    }
    if spec.max_tokens is not None:
        attributes["gen_ai.request.max_tokens"] = spec.max_tokens
    if spec.base_url:
        url = urlsplit(spec.base_url)
        if url.hostname:
            attributes["server.address"] = url.hostname
            port = url.port or {"http": 80, "https": 443}.get(url.scheme)
            if port is not None:
                attributes["server.port"] = port
    return attributes


def reply_attributes(reply: Any, tokens_in: int, tokens_out: int) -> dict[str, Any]:
    """What the answer says of itself: token counts, model, id and finish reasons.

    Read from LangChain's ``response_metadata``, where each provider's chat model puts them
    under its own keys (the token counts as ``token_counts`` found them); what a provider does
    not report is left out.
    """
    attributes: dict[str, Any] = {}
    if tokens_in or tokens_out:
        attributes["gen_ai.usage.input_tokens"] = tokens_in
        attributes["gen_ai.usage.output_tokens"] = tokens_out
    meta = getattr(reply, "response_metadata", None) or {}
    reasons = [str(meta[key]) for key in _FINISH_KEYS if meta.get(key)]
    if reasons:
        attributes["gen_ai.response.finish_reasons"] = reasons[:1]
    model = next((meta[key] for key in _MODEL_KEYS if isinstance(meta.get(key), str)), None)
    if model:
        attributes["gen_ai.response.model"] = model
    if isinstance(meta.get("id"), str):
        attributes["gen_ai.response.id"] = meta["id"]
    return attributes


def chat_span(
    tracer: Tracer, spec: LLMSpec, kwargs: Mapping[str, Any], *, source: str, what: str
) -> AbstractContextManager[Span]:
    """One request's span, current while it runs.

    An exception leaving it is recorded on it and sets its status to error (OpenTelemetry does
    both); the caller adds ``error.type``.
    """
    from opentelemetry.trace import SpanKind

    return tracer.start_as_current_span(
        f"{OPERATION} {spec.model}",
        kind=SpanKind.CLIENT,
        attributes=request_attributes(spec, kwargs, source=source, what=what),
    )
