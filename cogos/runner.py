"""Run a loaded config end to end and write its run directory.

``DIR/config.yaml``   the resolved config (defaults and component options filled in)
``DIR/trace.jsonl``   one JSON line per cycle and per episode boundary (see docs/trace.md)
``DIR/metrics.json``  run metrics (:func:`cogos.metrics.summarize`) plus one entry per episode

Used by ``cogos run``, by the benchmarks and, later, by experiments, so all of them produce
the same files.
"""

from __future__ import annotations

import asyncio
import json
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cogos._version import __version__
from cogos.agent import Agent
from cogos.config import LoadedConfig
from cogos.episode import EpisodeSummary
from cogos.metrics import summarize
from cogos.trace import Tracer

EpisodeCallback = Callable[[EpisodeSummary], None]


@dataclass
class RunResult:
    """What a run produced."""

    summaries: list[EpisodeSummary]
    metrics: dict[str, Any]
    out_dir: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)


def episode_seeds(loaded: LoadedConfig) -> list[int]:
    """Episode ``i`` runs with seed ``seed + i``: any single episode can be re-run alone."""
    return [loaded.config.seed + i for i in range(loaded.config.episodes)]


def write_resolved_config(loaded: LoadedConfig, path: Path) -> None:
    header = (
        f"# Resolved by cogos {__version__} from {loaded.source}"
        + (f" with overrides: {' '.join(loaded.overrides)}" if loaded.overrides else "")
        + "\n"
    )
    path.write_text(header + yaml.safe_dump(loaded.resolved(), sort_keys=False), encoding="utf-8")


async def run_async(
    loaded: LoadedConfig,
    out_dir: str | Path | None = None,
    *,
    on_episode: EpisodeCallback | None = None,
) -> RunResult:
    """Run every episode of ``loaded``; write the run directory when ``out_dir`` is given."""
    out = Path(out_dir) if out_dir is not None else None
    files: dict[str, Path] = {}
    tracer: Tracer | None = None
    agent = Agent(loaded)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        files["config"] = out / "config.yaml"
        write_resolved_config(loaded, files["config"])
        if loaded.config.trace.enabled:
            files["trace"] = out / "trace.jsonl"
            tracer = Tracer(files["trace"], messages=loaded.config.trace.messages)
    started = time.time()
    summaries: list[EpisodeSummary] = []
    try:
        async with agent:
            if tracer is not None:
                tracer.attach(
                    agent.bus,
                    header={"config": loaded.config.name, "agent": agent.name, "started": started},
                )
            for i, seed in enumerate(episode_seeds(loaded)):
                summary = await agent.run_episode(i, seed)
                summaries.append(summary)
                if on_episode is not None:
                    on_episode(summary)
    finally:
        if tracer is not None:
            tracer.close()
    metrics = summarize(summaries)
    if out is not None:
        files["metrics"] = out / "metrics.json"
        document = {
            "name": loaded.config.name,
            **metrics,
            "wall_seconds": time.time() - started,
            "cogos_version": __version__,
            "python": platform.python_version(),
            "per_episode": [s.to_json() for s in summaries],
        }
        files["metrics"].write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return RunResult(summaries, metrics, out, files)


def run(
    loaded: LoadedConfig,
    out_dir: str | Path | None = None,
    *,
    on_episode: EpisodeCallback | None = None,
) -> RunResult:
    """Synchronous entry point around :func:`run_async`."""
    return asyncio.run(run_async(loaded, out_dir, on_episode=on_episode))
