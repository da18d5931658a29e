"""The kernel reaches memory through :class:`LongTermMemory`, and never leaves it locked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cogos import Agent, Module, load_config_text, register
from cogos.context import ComponentContext
from cogos.errors import ConfigError
from cogos.long_term_memory import LongTermMemory
from memory.memory_os import MemoryOS


class BrokenAtBuild(Module):
    """A module whose constructor rejects its options, as a misconfigured one does."""

    def __init__(self, ctx: ComponentContext) -> None:
        raise ValueError("threshold must be positive")


register("module", "test.broken_at_build", BrokenAtBuild, replace=True)


def config(memory: Path, module: str) -> str:
    return f"""
episodes: 1
env: {{name: maze, options: {{width: 5, height: 5}}}}
agent: {{policy: {{name: explore}}, modules: [{{name: {module}}}]}}
memory: {{path: {memory}}}
"""


def test_the_memory_os_is_a_long_term_memory(tmp_path: Path) -> None:
    with MemoryOS.open(tmp_path / "m") as memory:
        assert isinstance(memory, LongTermMemory)
        assert memory.root == tmp_path / "m"


def test_an_agent_that_fails_to_build_leaves_its_memory_unlocked(tmp_path: Path) -> None:
    """A daemon builds agents and goes on running: a module that fails to build must not keep
    the memory directory locked (the next attempt, or any other process, opens it)."""
    memory = tmp_path / "memory"
    for _ in range(2):  # a second attempt in the same process, as the daemon would make
        with pytest.raises(ConfigError, match="threshold must be positive"):
            Agent(load_config_text(config(memory, "test.broken_at_build")))
    with MemoryOS.open(memory) as opened:  # not "open in another process"
        assert opened.last_seq == 0


async def test_components_get_the_memory_as_the_protocol(tmp_path: Path) -> None:
    seen: list[Any] = []

    class Looks(Module):
        def __init__(self, ctx: ComponentContext) -> None:
            super().__init__(ctx)
            seen.append(ctx.memory)

    register("module", "test.looks_at_memory", Looks, replace=True)
    agent = Agent(load_config_text(config(tmp_path / "memory", "test.looks_at_memory")))
    async with agent:
        await agent.run_episode(0, 0)
    assert isinstance(seen[0], LongTermMemory) and seen[0] is agent.memory
