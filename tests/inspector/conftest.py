"""Runs and memories the inspector's tests look at, made for real: a traced maze run whose critic
rejects some choices (so the trace has rejections to show), and a memory with events and facts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import pytest

from cogos import Module, Phase, load_config_text, register
from cogos.runner import run
from memory import Candidate, Entry, MemoryOS, Rejection, WorkingMemory
from memory.config import MemoryConfig


class NoWestFromColumnOne(Module):
    """A critic with a reason: the first choice of a cycle going west into column 0 is vetoed
    (once: the explorer proposes it again, and then it stands)."""

    phases: ClassVar = frozenset({Phase.CRITIQUE})

    async def critique(self, wm: WorkingMemory, candidate: Candidate) -> Rejection | None:
        if any(r.by == self.name for r in wm.rejections):
            return None
        if candidate.name == "west" and str((candidate.args or {}).get("to", "")).endswith("_0"):
            return Rejection(f"no going west to {candidate.args['to']}", by=self.name)
        return None


register("module", "test.no_west", NoWestFromColumnOne, replace=True)

CRITIC_RUN = """
name: inspected
seed: 3
episodes: 4
env: {name: maze, options: {width: 9, height: 9, radius: 2, loops: 0.3}}
agent:
  name: explorer
  policy: {name: explore}
  modules: [{name: perception.facts}, {name: test.no_west}]
  cycle: {max_rejects: 2}
trace: {enabled: true}
"""


@pytest.fixture(scope="session")
def critic_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "inspected"
    run(load_config_text(CRITIC_RUN), out)
    return out


def remember_chat(memory: MemoryOS, t0: float = 1_700_000_000.0) -> list[int]:
    turns: Sequence[str] = (
        "I adopted a puppy named Biscuit last week!",
        "That is wonderful, what breed is it?",
        "A golden retriever, he loves the park.",
        "My sister Carol moved to Lisbon in spring.",
        "Lisbon is lovely, I went there for a conference.",
    )
    ids = memory.remember_many(
        [Entry("event", text=t, episode="s1", time=t0 + 60 * i) for i, t in enumerate(turns)]
    )
    ids.append(
        memory.remember(
            Entry(
                "fact",
                text="Carol lives in Lisbon",
                facts=[("lives_in", "carol", "lisbon")],
                time=t0,
                ttl=3600.0,
            )
        )
    )
    return ids


@pytest.fixture
def memory_dir(tmp_path: Path) -> Path:
    """A closed memory directory (hashing embedder: hybrid search) with a chat and a fact."""
    config = MemoryConfig.model_validate({"embedder": {"name": "hashing"}})
    with MemoryOS.open(tmp_path / "memory", config) as memory:
        remember_chat(memory)
    return tmp_path / "memory"
