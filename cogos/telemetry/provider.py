"""One agent's tracer provider: resource, sampler, batch span processor and exporter.

Imported only when telemetry is on (it imports the OpenTelemetry SDK). Each agent gets a
provider of its own rather than the process-wide global one: the daemon runs several agents in
one process, each with its own ``telemetry:`` section, and a library should not take over the
host application's global provider.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.sampling import ParentBased, Sampler, TraceIdRatioBased
from opentelemetry.trace import Tracer
from opentelemetry.util.re import parse_env_headers

from cogos._version import __version__
from cogos.config import TelemetrySpec
from cogos.telemetry.cycle_spans import CycleSpans

INSTRUMENTATION = "cogos"
"""The instrumentation scope every CogOS span is made under (``otel.scope.name``)."""
TRACES_PATH = "/v1/traces"


class DroppingExporter(SpanExporter):
    """``exporter: none``: spans are made and processed, then dropped (what telemetry costs)."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


class Telemetry:
    """A tracer provider with one exporter; :meth:`shutdown` exports what is left.

    ``batch=False`` exports each span as it ends, in the thread that ended it: for tests, whose
    in-memory exporter then holds every finished span without waiting for a batch.
    """

    def __init__(
        self,
        exporter: SpanExporter,
        *,
        resource: Resource | None = None,
        sampler: Sampler | None = None,
        batch: bool = True,
    ) -> None:
        self.exporter = exporter
        self.provider = TracerProvider(
            resource=resource if resource is not None else _resource({}),
            sampler=sampler,  # None: OTEL_TRACES_SAMPLER, else every trace
        )
        processor = BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
        self.provider.add_span_processor(processor)
        self.tracer: Tracer = self.provider.get_tracer(INSTRUMENTATION, __version__)

    @classmethod
    def from_spec(cls, spec: TelemetrySpec, *, agent: str, run_id: str) -> Telemetry:
        """The provider a config's ``telemetry:`` section asks for."""
        attributes = {**spec.resource, "cogos.agent": agent, "service.instance.id": run_id}
        if spec.service_name is not None:
            attributes["service.name"] = spec.service_name
        sampler = None
        if spec.sample_ratio is not None:  # a cycle's children follow their cycle's decision
            sampler = ParentBased(TraceIdRatioBased(spec.sample_ratio))
        return cls(exporter_for(spec), resource=_resource(attributes), sampler=sampler)

    def cycle_spans(self, agent: str) -> CycleSpans:
        return CycleSpans(self.tracer, agent)

    def shutdown(self) -> None:
        """Export the spans still queued (blocks up to the exporter's timeout), then stop."""
        self.provider.shutdown()


def exporter_for(spec: TelemetrySpec) -> SpanExporter:
    """The exporter named by ``telemetry.exporter``, with the config's settings.

    Settings the config leaves unset are not passed, so the OTLP exporter reads them from the
    standard ``OTEL_EXPORTER_OTLP_*`` variables itself.
    """
    if spec.exporter == "console":
        return ConsoleSpanExporter(out=sys.stdout)
    if spec.exporter == "none":
        return DroppingExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    headers = None
    if spec.headers:  # beside the environment's headers, not instead of them
        variable = "OTEL_EXPORTER_OTLP_TRACES_HEADERS"
        env = os.environ.get(variable) or os.environ.get("OTEL_EXPORTER_OTLP_HEADERS", "")
        headers = {**parse_env_headers(env, liberal=True), **spec.headers}
    return OTLPSpanExporter(
        endpoint=traces_url(spec.endpoint) if spec.endpoint is not None else None,
        headers=headers,
        timeout=spec.timeout,
    )


def traces_url(endpoint: str) -> str:
    """The traces URL of an OTLP base URL, as OTEL_EXPORTER_OTLP_ENDPOINT is read.

    A URL that already ends in ``/v1/traces`` is taken as it is.
    """
    base = endpoint.rstrip("/")
    return base if base.endswith(TRACES_PATH) else base + TRACES_PATH


def _resource(attributes: dict[str, str]) -> Resource:
    """The resource: OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME, then ``attributes``.

    Without a service name from anywhere, the service is ``cogos`` (not the SDK's
    ``unknown_service``).
    """
    resource = Resource.create({"service.version": __version__, **attributes})
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": INSTRUMENTATION}))
    return resource
