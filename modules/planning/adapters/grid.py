"""What the grid adapters share: folding beliefs about a ``c<row>_<col>`` grid from the facts.

The grid's size comes from the task's ``grid`` fact; the task's own facts, facts recalled from
memory and the percept are folded in that order (only the percept can clear what memory or the
task said); a recalled goal that the agent can see is not there is dropped.
"""

from __future__ import annotations

from abc import abstractmethod

from memory.cycle_records import Atom
from memory.working import WorkingMemory
from modules.planning.adapters.base import DomainAdapter


class GridAdapter(DomainAdapter):
    """A domain adapter over a grid of cells named ``c<row>_<col>``."""

    goal: str | None
    size: tuple[int, int] | None
    _objects: tuple[tuple[str, str], ...] = ()

    def typed_objects(self) -> tuple[tuple[str, str], ...]:
        return self._objects

    @abstractmethod
    def _fold(self, facts: frozenset[Atom] | list[Atom], *, percept: bool) -> None:
        """Update the beliefs with ``facts`` (``percept``: seen now, not told or recalled)."""

    @abstractmethod
    def _set_size(self, rows: int, cols: int) -> None:
        """Lay out the grid's cells once its size is known."""

    def observe(self, wm: WorkingMemory) -> None:
        if self.size is None:
            grid = next((a for a in wm.task_facts if a[0] == "grid" and len(a) == 3), None)
            if grid is not None:
                self._set_size(int(grid[1]), int(grid[2]))
            self._fold(list(wm.task_facts), percept=False)  # e.g. a goal the task gives away
        recalled = [tuple(r.content) for r in wm.retrieved if r.kind == "fact" and r.content]
        if recalled:
            self._fold(recalled, percept=False)
        facts = wm.percept.facts
        self._fold(facts, percept=True)
        if (
            self.goal is not None
            and ("cell", self.goal) in facts
            and ("goal", self.goal) not in facts
        ):
            self.goal = None  # a recalled goal that is not there
