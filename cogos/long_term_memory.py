"""What the kernel and its components may ask of an agent's long-term memory.

The kernel drives memory through this protocol, not the class: the decision cycle commits each
cycle, episodes flush, the daemon answers memory queries, and components remember and recall.
:class:`memory.memory_os.MemoryOS` implements it (``tests/cogos/test_memory_agent.py`` checks
that it does). Another store that implements it can stand in, given to :class:`cogos.agent.Agent`
as ``memory=``. Only the agent's one default, "open the directory in ``memory.path``", names the
class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy.typing as npt

    from memory import CycleRecord, Entry, Hit, MemoryItem
    from memory.tracing import Tracer

Where = Mapping[str, Any]
"""Filters on items (metadata, kind, time, ``as_of``), as :mod:`memory.stores.record_store`."""


@runtime_checkable
class LongTermMemory(Protocol):
    """An agent's long-term memory (see the module docstring)."""

    tracer: Tracer | None
    """Set by the agent when telemetry is on: writes and searches become spans."""

    @property
    def root(self) -> Path:
        """Where it lives: a trace's header records it (``cogos replay --verify``)."""

    @property
    def last_seq(self) -> int:
        """The last sequence number in its log (0 when empty)."""

    # the decision cycle and the episode
    async def commit(self, record: CycleRecord) -> None: ...

    async def flush(self) -> None: ...

    async def aclose(self) -> None: ...

    def close(self) -> None:
        """Release it without waiting on the event loop (an agent that failed to build)."""

    # what components remember and recall
    def remember(self, entry: Entry) -> int: ...

    def remember_many(self, entries: Sequence[Entry]) -> list[int]: ...

    async def asearch(
        self, query: str | npt.ArrayLike, k: int = 10, where: Where | None = None, **options: Any
    ) -> list[Hit]: ...

    def recent(self, n: int = 10, where: Where | None = None) -> list[MemoryItem]: ...

    def about(self, entity: str, n: int = 10) -> list[MemoryItem]: ...

    def episode(self, episode: str) -> list[MemoryItem]: ...

    def knowledge(self, context: str, *, as_of: float | None = None) -> list[MemoryItem]: ...

    def decision(self, item_id: int) -> dict[str, Any] | None: ...

    def why(self, item_id: int, context: int = 3) -> dict[str, Any]: ...

    def stats(self) -> dict[str, Any]: ...
