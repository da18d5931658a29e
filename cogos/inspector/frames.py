"""The environment's picture at any step of a traced episode, made by replaying the episode.

The trace keeps what the agent perceived, not what the world looked like. Runs are seeded and
the built-in environments are deterministic given their seed and the actions taken, so the
picture at step ``n`` is the environment built from the run's ``config.yaml``, reset with the
episode's seed, after the episode's first ``n`` external actions (internal actions do not move
it). A cursor per episode makes stepping forward cheap; stepping back replays from the start.
Environments that cannot be rebuilt here (an external one, AI2-THOR without its simulator)
have no picture; the inspector then shows the percept's text.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from cogos.config import load_config
from cogos.errors import CogOSError

# environments that run elsewhere: rebuilding them would start a simulator or wait on a peer
_NOT_REPLAYED = frozenset({"external", "ai2thor"})
_MAX_SIDE = 640  # frames are scaled up to about this size (nearest neighbour: crisp cells)


class NoFrames(CogOSError):
    """A run whose environment cannot be replayed for pictures (the message says why)."""


@dataclass
class Frame:
    """A picture: a PNG, or text for environments that render as text."""

    step: int
    png: bytes | None = None
    text: str | None = None


def actions_before(cycles: list[dict[str, Any]]) -> list[Any]:
    """The external actions of an episode's cycles, in order (what the environment was given)."""
    out = []
    for line in cycles:
        choice = (line.get("decision") or {}).get("choice") or {}
        if choice.get("kind") == "external":
            out.append(choice.get("action"))
    return out


def _png(frame: Any) -> bytes:
    array = np.asarray(frame, dtype=np.uint8)
    image = Image.fromarray(array)
    scale = max(1, _MAX_SIDE // max(image.width, image.height))
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


class EpisodeFrames:
    """Pictures of one run's episodes (see the module docstring). Thread-safe."""

    def __init__(self, run_dir: Path) -> None:
        config_path = run_dir / "config.yaml"
        if not config_path.is_file():
            raise NoFrames(f"{run_dir} has no config.yaml to rebuild its environment from")
        try:
            loaded = load_config(config_path)
        except Exception as exc:  # a config from another version, a missing extra...
            raise NoFrames(f"cannot rebuild the environment from {config_path}: {exc}") from None
        env = loaded.components.env
        if env.name in _NOT_REPLAYED:
            raise NoFrames(f"env {env.name!r} runs outside this process: no pictures")
        self._component = env
        self._lock = threading.Lock()
        self._env: Any = None
        self._cursor: tuple[int, int] | None = None  # (episode, actions taken)

    def _build(self) -> Any:
        cls = self._component.cls
        modes = list((getattr(cls, "metadata", {}) or {}).get("render_modes", []))
        mode = "rgb_array" if "rgb_array" in modes else "ansi" if "ansi" in modes else None
        if mode is None:
            raise NoFrames(f"env {self._component.name!r} does not render")
        options = {**self._component.options.model_dump(), "render_mode": mode}
        try:
            return cls(**options)
        except (TypeError, ValueError) as exc:
            raise NoFrames(f"cannot rebuild env {self._component.name!r}: {exc}") from None

    def frame(self, episode: int, seed: int, actions: list[Any], step: int) -> Frame:
        """The picture after the first ``step`` of ``actions`` of ``episode`` (reset ``seed``)."""
        step = max(0, min(step, len(actions)))
        with self._lock:
            if self._env is None:
                self._env = self._build()
            env = self._env
            at = self._cursor
            if at is None or at[0] != episode or at[1] > step:
                env.reset(seed=seed)
                at = (episode, 0)
            for action in actions[at[1] : step]:
                env.step(action)
            self._cursor = (episode, step)
            picture = env.render()
        if isinstance(picture, str):
            return Frame(step, text=picture)
        return Frame(step, png=_png(picture))

    def close(self) -> None:
        with self._lock:
            if self._env is not None:
                self._env.close()
                self._env = None
                self._cursor = None
