"""The maze as a partially observable gymnasium environment.

The agent must *find* the goal: the task text does not say where it is, the observation shows only
the blocks around the agent, and the facts mention the goal only once it is in view. Everything a
step needs (moves, percepts, a padded view grid) is prepared at reset, because the kernel runs
thousands of decision cycles per second and ``step`` must stay a few microseconds of plain Python.
"""

from __future__ import annotations

from os import PathLike
from typing import Any

import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from envs.base import CogEnv, TaskSpec
from envs.maze.facts import PerceptCache
from envs.maze.generator import (
    DIRECTIONS,
    Cell,
    Maze,
    cell_name,
    generate_maze,
)
from envs.maze.options import RENDER_MODES, MazeOptions
from envs.maze.render import render_ansi, render_rgb, save_png, visibility_mask

# Values of the ``view`` observation. ``NOT_VISIBLE`` is reserved: without occlusion every block
# of the window is visible, but a future occluding variant keeps the same observation space.
NOT_VISIBLE, OPEN, WALL, GOAL = 0, 1, 2, 3

Observation = dict[str, npt.NDArray[Any]]


class MazeEnv(CogEnv):
    """Find the goal in a procedurally generated grid maze, seeing ``radius`` cells around you.

    Actions ``0..3`` move north, east, south, west; moving into a wall leaves the agent in place
    (``info["action_success"]`` is then ``False``). Reaching the goal gives reward 1 and ends the
    episode; every other step gives ``-step_penalty``; the episode is truncated after
    ``max_steps`` steps (default ``4 * width * height``).

    The maze is regenerated each episode from the env's seeded ``np_random`` unless a
    ``maze_seed`` is given (constructor, or ``reset(options={"maze_seed": ...})`` for one
    episode), in which case the layout, start and goal are the same whatever the reset seed;
    that is what repeated-maze memory experiments need.

    Observation: ``{"position": (row, col) int64, "view": int8 window}``. The view is the
    ``(4*radius+3)`` square of the block grid centred on the agent's cell: 1 open, 2 wall (also
    outside the maze), 3 the goal cell, 0 reserved for "not visible" (never produced: there is
    no occlusion, walls do not hide what lies behind them).
    """

    metadata: dict[str, Any] = {"render_modes": list(RENDER_MODES), "render_fps": 8}  # noqa: RUF012
    action_names = tuple(d.name for d in DIRECTIONS)

    def __init__(
        self,
        *,
        width: int = 15,
        height: int = 15,
        radius: int = 2,
        loops: float = 0.0,
        algorithm: str = "dfs",
        start_goal: str = "corners",
        max_steps: int | None = None,
        maze_seed: int | None = None,
        goal_known: bool = False,
        step_penalty: float = 0.0,
        render_mode: str | None = None,
    ) -> None:
        opts = MazeOptions.check(
            width=width,
            height=height,
            radius=radius,
            loops=loops,
            algorithm=algorithm,
            start_goal=start_goal,
            max_steps=max_steps,
            maze_seed=maze_seed,
            goal_known=goal_known,
            step_penalty=step_penalty,
            render_mode=render_mode,
        )
        self.width = opts.width
        self.height = opts.height
        self.radius = radius = opts.radius
        self.loops = opts.loops
        self.algorithm = opts.algorithm
        self.start_goal = opts.start_goal
        self.max_steps = 4 * self.width * self.height if opts.max_steps is None else opts.max_steps
        self.maze_seed = opts.maze_seed
        self.goal_known = opts.goal_known
        self.step_penalty = opts.step_penalty
        self.render_mode = opts.render_mode

        span = 4 * radius + 3
        self.action_space = spaces.Discrete(len(DIRECTIONS))
        self.observation_space = spaces.Dict(
            {
                "position": spaces.Box(
                    0, max(self.height, self.width) - 1, shape=(2,), dtype=np.int64
                ),
                "view": spaces.Box(0, 3, shape=(span, span), dtype=np.int8),
            }
        )
        self._task = TaskSpec(
            text=f"Find the goal cell in a {self.width}x{self.height} maze.",
            facts=frozenset({("grid", str(self.height), str(self.width))}),
        )
        self._span = span
        self._maze: Maze | None = None
        self._cells: list[Cell] = []
        self._moves: tuple[tuple[int, int, int, int], ...] = ()
        self._padded: npt.NDArray[np.int8] = np.zeros((0, 0), dtype=np.int8)
        self._percepts: PerceptCache | None = None
        self._seeded: tuple[int, Maze] | None = None
        self._pos = 0
        self._goal = 0
        self._steps = 0
        self._done = False
        self._optimal = 0
        self._visited: set[int] = set()

    # ------------------------------------------------------------------ gymnasium API

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Observation, dict[str, Any]]:
        """Start an episode in a fresh maze (or the fixed one when a maze seed applies)."""
        super().reset(seed=seed)
        maze_seed = self.maze_seed
        if options:
            unknown = set(options) - {"maze_seed"}
            if unknown:
                raise ValueError(
                    f"unknown reset options {sorted(unknown)}; the only option is 'maze_seed'"
                )
            if "maze_seed" in options:
                maze_seed = MazeOptions.check(
                    maze_seed=options["maze_seed"], label="options['maze_seed']"
                ).maze_seed
        if maze_seed is not None and self._seeded is not None and self._seeded[0] == maze_seed:
            maze = self._seeded[1]  # Same seed, same maze: reuse it and its cached percepts.
        else:
            rng = self.np_random if maze_seed is None else np.random.default_rng(maze_seed)
            maze = generate_maze(
                self.width,
                self.height,
                rng,
                loops=self.loops,
                algorithm=self.algorithm,
                start_goal=self.start_goal,
            )
            if maze_seed is not None:
                self._seeded = (maze_seed, maze)
        self._load(maze)
        return self._observation(), self._info(True)

    def step(self, action: Any) -> tuple[Observation, float, bool, bool, dict[str, Any]]:
        """Move one cell if no wall is in the way; see the class docstring for rewards."""
        if self._maze is None:
            raise RuntimeError("call reset() before step()")
        if self._done:
            raise RuntimeError("the episode is over (terminated or truncated); call reset()")
        a = int(action)
        if not 0 <= a < 4:
            raise ValueError(
                f"action must be in 0..3 ({', '.join(self.action_names)}), got {action!r}"
            )
        self._steps += 1
        target = self._moves[self._pos][a]
        success = target >= 0
        if success:
            self._pos = target
            self._visited.add(target)
        terminated = self._pos == self._goal
        truncated = not terminated and self._steps >= self.max_steps
        self._done = terminated or truncated
        reward = 1.0 if terminated else 0.0 - self.step_penalty  # never -0.0
        return self._observation(), reward, terminated, truncated, self._info(success)

    def render(self) -> str | npt.NDArray[np.uint8] | None:
        """ANSI text or an RGB frame of the whole maze per ``render_mode`` (``None``: nothing)."""
        if self.render_mode is None:
            return None
        if self.render_mode == "ansi":
            return render_ansi(self.maze, self.position, seen=self._seen_mask())
        return self._rgb()

    # ------------------------------------------------------------------ CogOS API

    @property
    def task(self) -> TaskSpec:
        """Find the goal: its cell must be discovered, unless ``goal_known`` gives it away.

        With ``goal_known`` the task says where the goal is (goal facts ``("at", g)`` and a task
        fact ``("goal", g)``) but not the way there: the classic setting of planning with an
        unknown map, where a plan through unseen cells meets walls and must be repaired.
        """
        if self.goal_known and self._maze is not None:
            goal = cell_name(self._maze.goal)
            return TaskSpec(
                self._task.text.replace("Find the goal cell", f"Reach the goal cell {goal}"),
                goal_facts=frozenset({("at", goal)}),
                facts=self._task.facts | {("goal", goal)},
            )
        return self._task

    @property
    def maze(self) -> Maze:
        """The current maze, goal included: privileged, for scoring, tests and rendering only."""
        if self._maze is None:
            raise RuntimeError("no maze yet; call reset() first")
        return self._maze

    @property
    def position(self) -> Cell:
        """The agent's current cell (also in the observation, so not privileged)."""
        if self._maze is None:
            raise RuntimeError("no position yet; call reset() first")
        return self._cells[self._pos]

    @property
    def steps(self) -> int:
        """Steps taken in the current episode."""
        return self._steps

    def save_png(self, path: str | PathLike[str], *, scale: int = 6) -> None:
        """Write the current frame as a PNG, whatever the ``render_mode``."""
        save_png(self._rgb(scale), path)

    # ------------------------------------------------------------------ internals

    def _load(self, maze: Maze) -> None:
        """Precompute everything ``step`` needs for ``maze``."""
        h, w = maze.height, maze.width
        blocks = maze.blocks
        self._maze = maze
        self._cells = list(maze.cells())
        self._moves = maze.move_table
        pad = 2 * self.radius + 1
        padded = np.full((2 * h + 1 + 2 * pad, 2 * w + 1 + 2 * pad), WALL, dtype=np.int8)
        inner = padded[pad : pad + 2 * h + 1, pad : pad + 2 * w + 1]
        inner[...] = np.where(blocks, WALL, OPEN)
        inner[2 * maze.goal[0] + 1, 2 * maze.goal[1] + 1] = GOAL
        self._padded = padded
        if self._percepts is None or self._percepts.maze is not maze:
            self._percepts = PerceptCache(maze, self.radius)
        self._pos = maze.start[0] * w + maze.start[1]
        self._goal = maze.goal[0] * w + maze.goal[1]
        self._steps = 0
        self._done = False
        self._optimal = maze.shortest_path_length()
        self._visited = {self._pos}

    def _observation(self) -> Observation:
        r, c = self._cells[self._pos]
        br, bc = 2 * r + 1, 2 * c + 1
        return {
            "position": np.array((r, c), dtype=np.int64),
            "view": self._padded[br : br + self._span, bc : bc + self._span].copy(),
        }

    def _info(self, success: bool) -> dict[str, Any]:
        assert self._percepts is not None
        facts, text = self._percepts.get(self._pos)
        return {
            "facts": list(facts),
            "text": text,
            "optimal_steps": self._optimal,
            "grid": {"height": self.height, "width": self.width},
            "steps": self._steps,
            "action_success": success,
        }

    def _seen_mask(self) -> npt.NDArray[np.bool_]:
        return visibility_mask(self.maze, [self._cells[i] for i in self._visited], self.radius)

    def _rgb(self, scale: int = 6) -> npt.NDArray[np.uint8]:
        visible = visibility_mask(self.maze, [self.position], self.radius)
        return render_rgb(
            self.maze, self.position, visible=visible, seen=self._seen_mask(), scale=scale
        )
