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
from cogos.errors import CogOSError, ConfigError
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

    @classmethod
    def read(cls, directory: str | Path) -> RunResult:
        """A run read back from its directory (``metrics.json``), e.g. in a notebook."""
        out = Path(directory)
        path = out / "metrics.json"
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CogOSError(f"{path}: no metrics.json (is {out} a run directory?)") from None
        except (OSError, ValueError) as exc:
            raise CogOSError(f"{path}: cannot read the run's metrics ({exc})") from None
        summaries = [EpisodeSummary.from_json(e) for e in document.pop("per_episode", [])]
        files = {
            name: out / file
            for name, file in (("config", "config.yaml"), ("trace", "trace.jsonl"))
            if (out / file).exists()
        }
        return cls(summaries, document, out, {**files, "metrics": path})


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


def write_metrics(
    loaded: LoadedConfig,
    out: Path,
    summaries: list[EpisodeSummary],
    started: float,
    *,
    interrupted: bool = False,
) -> Path:
    """``metrics.json``; ``interrupted`` (with ``episodes_planned``) marks a run cut short."""
    path = out / "metrics.json"
    document = {
        "name": loaded.config.name,
        **summarize(summaries),
        "wall_seconds": time.time() - started,
        "cogos_version": __version__,
        "python": platform.python_version(),
        "interrupted": interrupted,
        "episodes_planned": loaded.config.episodes,
        "per_episode": [s.to_json() for s in summaries],
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


async def run_async(
    loaded: LoadedConfig,
    out_dir: str | Path | None = None,
    *,
    on_episode: EpisodeCallback | None = None,
) -> RunResult:
    """Run every episode of ``loaded``; write the run directory when ``out_dir`` is given."""
    if getattr(loaded.components.env.cls, "driven_externally", False):
        raise ConfigError(
            f"env {loaded.components.env.name!r} is driven from another process: run it under "
            "the daemon (cogos daemon config/daemon.yaml) and send observations with its "
            "'observe' command (docs/mqtt.md)",
            key="env.name",
        )
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
                header: dict[str, Any] = {
                    "config": loaded.config.name,
                    "agent": agent.name,
                    "started": started,
                }
                if agent.memory_start is not None:  # where its log stood: replay --verify
                    header["memory"] = agent.memory_start
                tracer.attach(agent.bus, header=header)
            for i, seed in enumerate(episode_seeds(loaded)):
                summary = await agent.run_episode(i, seed)
                summaries.append(summary)
                if on_episode is not None:
                    on_episode(summary)
    except BaseException:
        # Ctrl-C, a cancelled task or a crash: the episodes that finished are kept
        if out is not None and summaries:
            files["metrics"] = write_metrics(loaded, out, summaries, started, interrupted=True)
        raise
    finally:
        if tracer is not None:
            tracer.close()
    metrics = summarize(summaries)
    if out is not None:
        files["metrics"] = write_metrics(loaded, out, summaries, started)
    return RunResult(summaries, metrics, out, files)


def run(
    loaded: LoadedConfig,
    out_dir: str | Path | None = None,
    *,
    on_episode: EpisodeCallback | None = None,
) -> RunResult:
    """Synchronous entry point around :func:`run_async`."""
    return asyncio.run(run_async(loaded, out_dir, on_episode=on_episode))
