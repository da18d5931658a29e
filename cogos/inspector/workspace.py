"""What ``cogos inspect PATH...`` was pointed at: runs, experiments and memories, by key.

A path is classified by what it holds: a memory directory has a ``FORMAT`` marker, an
experiment a ``summary.md`` or ``experiment.yaml``, a run a ``trace.jsonl`` or ``metrics.json``
(a path to a ``trace.jsonl`` means its directory). A directory that is none of these but holds
some (``runs/``) stands for all of them. Each gets a short key from its name, unique in the
workspace; an experiment's runs are keyed ``<experiment>/<cell>/seed-<n>``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cogos.errors import CogOSError
from cogos.inspector.experiments import ExperimentView
from cogos.inspector.frames import EpisodeFrames, NoFrames
from cogos.inspector.memory_view import MemoryView, is_memory_dir
from cogos.inspector.runs import RunView


class InspectPathError(CogOSError):
    """A path given to ``cogos inspect`` that is missing or holds nothing it can show."""


@dataclass
class Workspace:
    """Everything being inspected; frames and memories are closed with :meth:`close`."""

    runs: dict[str, RunView] = field(default_factory=dict)
    experiments: dict[str, ExperimentView] = field(default_factory=dict)
    memories: dict[str, MemoryView] = field(default_factory=dict)
    _frames: dict[str, EpisodeFrames | NoFrames] = field(default_factory=dict)
    _frames_lock: threading.Lock = field(default_factory=threading.Lock)  # requests run in threads

    def _key(self, name: str) -> str:
        taken = {*self.runs, *self.experiments, *self.memories}
        key, n = name or "root", 2
        while key in taken:
            key, n = f"{name}-{n}", n + 1
        return key

    def add(self, path: Path, *, nested: bool = False) -> None:
        """Add what ``path`` holds (see the module docstring)."""
        if path.is_file() and path.name == "trace.jsonl":
            path = path.parent
        if not path.is_dir():
            raise InspectPathError(f"{path}: no such directory")
        if is_memory_dir(path):
            if any(view.root == path for view in self.memories.values()):
                return  # already open, as the memory of a run given before it
            key = self._key(path.name)
            self.memories[key] = MemoryView(path, key)
        elif ExperimentView.looks_like(path):
            key = self._key(path.name)
            view = ExperimentView(path, key)
            self.experiments[key] = view
            for run_key, run_dir in view.run_dirs().items():
                self.runs[f"{key}/{run_key}"] = RunView(run_dir, f"{key}/{run_key}")
                self._open_memory_of(self.runs[f"{key}/{run_key}"])
        elif RunView.looks_like(path):
            key = self._key(path.name)
            self.runs[key] = RunView(path, key)
            self._open_memory_of(self.runs[key])
        elif not nested:
            before = len(self.runs) + len(self.experiments) + len(self.memories)
            for child in sorted(p for p in path.iterdir() if p.is_dir()):
                self.add(child, nested=True)
            if len(self.runs) + len(self.experiments) + len(self.memories) == before:
                raise InspectPathError(
                    f"{path}: not a run, experiment or memory directory, and holds none "
                    "(expected trace.jsonl or metrics.json, summary.md, or a memory's FORMAT)"
                )

    def _open_memory_of(self, run: RunView) -> None:
        """Open the memory a run started from too, so its recalls link to the items.

        Optional: a memory that is gone, held by a running process or unreadable leaves a note
        on the run instead of stopping the inspector.
        """
        recorded = (run.index.header.get("memory") or {}).get("path")
        if not recorded:
            return
        path = Path(recorded)
        for key, view in self.memories.items():
            if view.root == path:
                run.memory_key = key
                return
        if not is_memory_dir(path):
            run.memory_note = f"its memory {path} is not there any more"
            return
        try:
            key = self._key(f"{run.key.replace('/', '-')}-memory")
            self.memories[key] = MemoryView(path, key)
            run.memory_key = key
        except CogOSError as exc:
            run.memory_note = str(exc)

    def frames(self, run: str) -> EpisodeFrames:
        """The picture maker of a run, built on first use (raises :class:`NoFrames`)."""
        with self._frames_lock:
            found = self._frames.get(run)
            if found is None:
                try:
                    found = EpisodeFrames(self.run(run).root)
                except NoFrames as exc:
                    found = exc
                self._frames[run] = found
        if isinstance(found, NoFrames):
            raise found
        return found

    def run(self, key: str) -> RunView:
        if key not in self.runs:
            raise KeyError(f"no run {key!r}")
        return self.runs[key]

    def memory(self, key: str) -> MemoryView:
        if key not in self.memories:
            raise KeyError(f"no memory {key!r}")
        return self.memories[key]

    def experiment(self, key: str) -> ExperimentView:
        if key not in self.experiments:
            raise KeyError(f"no experiment {key!r}")
        return self.experiments[key]

    def listing(self) -> dict[str, Any]:
        return {
            "runs": [
                {"key": k, "path": str(v.root), "in_experiment": "/" in k}
                for k, v in self.runs.items()
            ],
            "experiments": [{"key": k, "path": str(v.root)} for k, v in self.experiments.items()],
            "memories": [{"key": k, "path": str(v.root)} for k, v in self.memories.items()],
        }

    def close(self) -> None:
        for frames in self._frames.values():
            if isinstance(frames, EpisodeFrames):
                frames.close()
        self._frames.clear()
        for memory in self.memories.values():
            memory.close()
        self.memories.clear()


def open_workspace(paths: Sequence[str | Path]) -> Workspace:
    """A workspace over ``paths``; on any bad path, what was opened is closed again."""
    workspace = Workspace()
    try:
        for path in paths:
            workspace.add(Path(path).expanduser().resolve())
    except BaseException:
        workspace.close()
        raise
    return workspace
