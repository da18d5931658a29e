"""OpenTelemetry spans of a run, opt-in (``telemetry:`` in the config; docs/telemetry.md).

Off, the default, nothing of OpenTelemetry is imported: the agent hands its components no
tracer, and the decision cycle and the memory OS test ``is None`` once per phase or call. On,
:func:`start` builds the agent's tracer provider (:mod:`cogos.telemetry.provider`), which the
agent shuts down, exporting what is left, when it closes.

This module itself imports only the config: it is what the agent imports in every run.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from cogos.config import TelemetrySpec
from cogos.errors import ConfigError

if TYPE_CHECKING:
    from cogos.telemetry.provider import Telemetry

__all__ = ["INSTALL", "start"]

log = logging.getLogger("cogos.telemetry")

INSTALL = 'pip install -e ".[telemetry]"'
"""What brings the OpenTelemetry SDK and its OTLP exporter (the ``telemetry`` extra)."""


def start(spec: TelemetrySpec, *, agent: str, run_id: str) -> Telemetry | None:
    """The agent's telemetry as ``spec`` asks, or None when it is off.

    ``OTEL_SDK_DISABLED=true`` turns it off whatever the config says, as it does every
    OpenTelemetry SDK. Asking for it without the extra installed is a config error that says
    what to install.
    """
    if not spec.enabled:
        return None
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        log.info("telemetry is enabled in the config but OTEL_SDK_DISABLED=true: no spans")
        return None
    try:
        from cogos.telemetry.provider import Telemetry

        if spec.exporter == "otlp":
            import opentelemetry.exporter.otlp.proto.http.trace_exporter  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            f"telemetry needs the 'telemetry' extra, which is not installed (no module "
            f"{exc.name or exc}): {INSTALL}, or set telemetry.enabled: false",
            key="telemetry.enabled",
        ) from None
    return Telemetry.from_spec(spec, agent=agent, run_id=run_id)
