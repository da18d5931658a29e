"""The exploring policy: map what has been seen, head for the goal or the nearest frontier.

It works on the grid-navigation fact vocabulary of the built-in maze (``at``, ``cell``, ``open``,
``blocked``, ``goal``; cells named ``c<row>_<col>``, see docs/facts.md), so it drives any
environment that reports those facts.
Each cycle it folds the new percept into its map, proposes the moves that are known to be open,
and values each move by minus an estimate of the steps to the goal from the cell it leads to.
Before the goal has been seen the estimate is the known distance to the nearest frontier (a cell
known to be reachable but not yet seen). Once a known path leads to the goal, it is the length of
that path. While the goal is known (the task gives it, or it is in sight: sight goes through
walls) but no known path leads there, it is the distance to the goal with every passage not yet
seen assumed open (the free-space assumption of optimistic A* and D* Lite), recomputed as walls
appear, once the grid's size is known (``("grid", rows, cols)``); without the size, the known
path to a frontier cell plus the Manhattan distance from it to the goal. Select takes the best;
ties go to the first proposal, so a run is deterministic.

Facts recalled from long-term memory (``wm.retrieved`` items of kind ``fact``, e.g. from
``retrieval.memory``) are folded into the map as beliefs; what the percept shows overrides them
(a remembered passage that is now blocked is dropped, a remembered goal that is not there is
forgotten). In a maze seen before, the remembered map makes the known-path value exact.

This policy is the simple, dependency-free baseline that always finishes a solvable maze:
every step either reaches the goal or shrinks the frontier or the optimistic distance grows.
Goals other than a cell are the PDDL planner's (``planner_first``).
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cogos.context import ComponentContext
from cogos.episode import EpisodeStart
from cogos.facts import FactSchema
from cogos.policy import Policy
from envs.maze import DIRECTIONS, cell_name, grid_neighbours, parse_cell
from memory.cycle_records import Candidate, Rejection
from memory.working import WorkingMemory

_MOVES = {(d.drow, d.dcol): d.name for d in DIRECTIONS}
_DELTAS = {d.name: (d.drow, d.dcol) for d in DIRECTIONS}
UNREACHABLE = -1e9

GRID_FACTS = FactSchema(
    {
        "at": ("cell",),
        "cell": ("cell",),
        "open": ("cell", "cell"),
        "blocked": ("cell", "cell"),
        "goal": ("cell",),
    },
    {"cell": parse_cell},
)
"""The grid-navigation vocabulary (docs/facts.md) this policy reads."""
_ARITY = {name: len(args) + 1 for name, args in GRID_FACTS.predicates.items()}


class ExploreOptions(BaseModel):
    """Options of the ``explore`` policy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    avoid_revisits: float = Field(
        default=0.0,
        ge=0.0,
        description="penalty per earlier visit of the cell a move leads to (0: shortest path)",
    )


class GridMap:
    """What the agent knows of a grid: open passages, seen cells, the goal, where it is."""

    def __init__(self) -> None:
        self.adjacent: dict[str, set[str]] = {}
        self.seen: set[str] = set()
        self.goal: str | None = None
        self.position: str | None = None
        self.size: tuple[int, int] | None = None
        """Rows and columns, when the task says (``("grid", rows, cols)``)."""
        self.visits: dict[str, int] = {}
        self.version = 0
        """Bumped whenever the passages, the seen cells or the goal change: what the frontier
        and the distances depend on (with the position), so they are computed once per
        version. Change the map through ``update`` and ``remember`` only."""
        self._shown: frozenset[tuple[str, ...]] = frozenset()
        """The percept folded in last: the next one's atoms that it also held are not folded in
        again (an environment repeats most of its facts from one step to the next)."""
        self._cache: dict[str, tuple[object, object]] = {}

    def update(self, facts: frozenset[tuple[str, ...]]) -> None:
        """Fold in a percept; what it shows overrides anything remembered."""
        new, self._shown = facts - self._shown, facts
        adjacent, seen = self.adjacent, self.seen
        changed = False
        for atom in new:
            pred = atom[0]
            if len(atom) != _ARITY.get(pred, len(atom)):
                continue  # another vocabulary's predicate of the same name
            if pred == "open":
                passages = adjacent.setdefault(atom[1], set())
                if atom[2] not in passages:
                    passages.add(atom[2])
                    changed = True
            elif pred == "blocked":
                passages = adjacent.get(atom[1], set())
                if atom[2] in passages:
                    passages.discard(atom[2])
                    changed = True
            elif pred == "cell":
                if atom[1] not in seen:
                    seen.add(atom[1])
                    changed = True
            elif pred == "at":
                self.position = atom[1]
            elif pred == "goal" and self.goal != atom[1]:
                self.goal = atom[1]
                changed = True
        if (
            self.goal is not None
            and ("cell", self.goal) in facts
            and ("goal", self.goal) not in facts
        ):
            self.goal = None  # a remembered goal that is not there
            changed = True
        if changed:
            self.version += 1
        if self.position is not None:
            self.visits[self.position] = self.visits.get(self.position, 0) + 1

    def remember(self, facts: list[tuple[str, ...]]) -> None:
        """Fold in facts recalled from long-term memory (beliefs until a percept disagrees)."""
        for atom in facts:
            pred = atom[0]
            if pred == "open" and len(atom) == 3:
                self.adjacent.setdefault(atom[1], set()).add(atom[2])
            elif pred == "cell" and len(atom) == 2:
                self.seen.add(atom[1])
            elif pred == "goal" and len(atom) == 2 and self.goal is None:
                self.goal = atom[1]
            elif pred == "grid" and len(atom) == 3 and atom[1].isdigit() and atom[2].isdigit():
                self.size = (int(atom[1]), int(atom[2]))
        self.version += 1
        self._shown = frozenset()  # the next percept overrides these beliefs: all of it

    def _cached(self, name: str, key: object, compute: Any) -> Any:
        """``compute()``, or what it returned last time for the same ``key``."""
        hit = self._cache.get(name)
        if hit is not None and hit[0] == key:
            return hit[1]
        value = compute()
        self._cache[name] = (key, value)
        return value

    def frontier(self) -> set[str]:
        return set(self._frontier())

    def _frontier(self) -> frozenset[str]:
        seen = self.seen
        return self._cached(  # type: ignore[no-any-return]
            "frontier",
            self.version,
            lambda: frozenset(n for ns in self.adjacent.values() for n in ns if n not in seen),
        )

    def _from_goal(self) -> dict[str, int]:
        goal = self.goal
        assert goal is not None
        return self._cached(  # type: ignore[no-any-return]
            "from_goal", self.version, lambda: self.distances_to({goal: 0})
        )

    def estimates(self) -> dict[str, int]:
        """Estimated steps to finish from each cell, computed again only when the map changes.

        With the goal known (given by the task, or seen) but no known path to it, and the
        grid's size known, this is the distance under the free-space assumption (every passage
        not yet seen is open), the estimate of optimistic A* / D* Lite: the agent heads for the
        goal through unseen cells and replans as walls appear. Otherwise it is
        ``distances_to(targets())``. Read only: the same dict is returned until the map changes.
        """
        reachable = (
            self.goal is not None
            and self.position is not None
            and self.position in self._from_goal()
        )
        if self.goal is not None and self.size is not None and not reachable:
            return self._cached(  # type: ignore[no-any-return]
                "optimistic", self.version, self.optimistic_distances
            )
        return self._cached(  # type: ignore[no-any-return]
            "estimates", (self.version, reachable), lambda: self.distances_to(self.targets())
        )

    def optimistic_distances(self) -> dict[str, int]:
        """Steps from every cell of the grid to the goal, every passage not yet seen open.

        A seen cell's passages are all known (an environment reports each side of a cell in
        view, open or blocked); between two unseen cells nothing is known, so it is open.
        """
        assert self.goal is not None
        assert self.size is not None
        neighbours = grid_neighbours(*self.size)
        adjacent, seen = self.adjacent, self.seen
        none: set[str] = set()
        dist = {self.goal: 0}
        queue = deque([self.goal])
        while queue:
            cell = queue.popleft()
            d = dist[cell] + 1
            known = adjacent.get(cell, none) if cell in seen else None
            for n in neighbours.get(cell, ()):
                if n in dist:
                    continue
                if known is not None:
                    if n not in known:
                        continue
                elif n in seen and cell not in adjacent.get(n, none):
                    continue
                dist[n] = d
                queue.append(n)
        return dist

    def targets(self) -> dict[str, int]:
        """Cells to head for, each with the estimated steps still needed once there.

        A goal reachable on the known map is the only target: the known path is taken rather
        than gambling on unseen shortcuts (which only imperfect mazes have).
        """
        frontier = self._frontier()
        if self.goal is None:
            return dict.fromkeys(frontier, 0)
        if self.position is not None and self.position in self._from_goal():
            return {self.goal: 0}
        gr, gc = parse_cell(self.goal)
        out = {f: abs(r - gr) + abs(c - gc) for f in frontier for r, c in (parse_cell(f),)}
        out[self.goal] = 0
        return out

    def distances_to(self, targets: dict[str, int]) -> dict[str, int]:
        """Estimated steps to finish from every known cell, over the known (symmetric) passages.

        A breadth-first search when all targets start at 0, else Dijkstra from the weighted
        targets: a few hundred cells either way.
        """
        adjacent = self.adjacent
        if not any(targets.values()):
            dist = dict.fromkeys(targets, 0)
            queue = deque(targets)
            while queue:
                cell = queue.popleft()
                d = dist[cell] + 1
                for n in adjacent.get(cell, ()):
                    if n not in dist:
                        dist[n] = d
                        queue.append(n)
            return dist
        best = dict(targets)
        heap = [(d, cell) for cell, d in targets.items()]
        heapq.heapify(heap)
        done: set[str] = set()
        while heap:
            d, cell = heapq.heappop(heap)
            if cell in done:
                continue
            done.add(cell)
            for n in adjacent.get(cell, ()):
                if d + 1 < best.get(n, 1 << 30):
                    best[n] = d + 1
                    heapq.heappush(heap, (d + 1, n))
        return best


def move_name(src: str, dst: str) -> str:
    (r0, c0), (r1, c1) = parse_cell(src), parse_cell(dst)
    return _MOVES[(r1 - r0, c1 - c0)]


class ExplorePolicy(Policy[ExploreOptions]):
    """Frontier exploration over a remembered map; shortest known path once the goal is seen."""

    facts = GRID_FACTS

    def __init__(self, ctx: ComponentContext) -> None:
        super().__init__(ctx)
        self._revisit_penalty = self.options.avoid_revisits
        self.map = GridMap()
        self._mapped_cycle = -1

    async def begin_episode(self, episode: EpisodeStart) -> None:
        await super().begin_episode(episode)
        self.map = GridMap()
        self._mapped_cycle = -1

    async def propose(self, wm: WorkingMemory) -> Sequence[Candidate]:
        if wm.cycle != self._mapped_cycle:  # a rejected round proposes again on the same percept
            if self._mapped_cycle < 0 and wm.task_facts:
                self.map.remember(list(wm.task_facts))  # e.g. the goal, when the task gives it
            recalled = [tuple(r.content) for r in wm.retrieved if r.kind == "fact" and r.content]
            if recalled:
                self.map.remember(recalled)
            self.map.update(wm.percept.facts)
            self._mapped_cycle = wm.cycle
        here = self.map.position
        if here is None:
            return []
        names = wm.action_names
        out = []
        for n in sorted(self.map.adjacent.get(here, ())):
            name = move_name(here, n)
            if name in names:
                out.append(
                    Candidate(name, action=names.index(name), source=self.name, args={"to": n})
                )
        return out

    def destination(self, candidate: Candidate) -> str | None:
        """The cell a candidate leads to, whoever proposed it.

        Other modules propose too (the planner proposes the next move of its plan), and their
        candidates carry no ``to``: a move's destination is then read off its direction.
        """
        to = candidate.args.get("to")
        if isinstance(to, str):
            return to
        delta = _DELTAS.get(candidate.name)
        here = self.map.position
        if delta is None or here is None:
            return None
        row, col = parse_cell(here)
        to = cell_name((row + delta[0], col + delta[1]))
        return to if to in self.map.adjacent.get(here, ()) else None

    async def evaluate(self, wm: WorkingMemory, candidates: Sequence[Candidate]) -> Sequence[float]:
        """Minus the estimated steps to finish from where each candidate leads.

        A candidate that leads nowhere on the known map (not a move, or into a wall) is valued
        as unreachable, so it is chosen only if nothing else is left.
        """
        dist = self.map.estimates()
        visits = self.map.visits
        penalty = self._revisit_penalty
        values = []
        for c in candidates:
            to = self.destination(c)
            d = dist.get(to) if to is not None else None
            if to is None or d is None:
                values.append(UNREACHABLE)
            else:
                values.append(-(1.0 + d) - penalty * visits.get(to, 0))
        return values

    async def select(
        self, wm: WorkingMemory, candidates: Sequence[Candidate], values: Sequence[float]
    ) -> Candidate | Rejection:
        if not candidates:
            return Rejection("no known open move from here", by=self.name)
        best = max(range(len(candidates)), key=values.__getitem__)
        if values[best] <= UNREACHABLE:
            return Rejection(
                "neither the goal nor a frontier is reachable on the known map", by=self.name
            )
        return candidates[best]
