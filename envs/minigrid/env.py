"""MiniGrid tasks as CogOS environments: grid-vocabulary facts and high-level actions.

``MiniGridEnv(id="MiniGrid-FourRooms-v0")`` builds the MiniGrid task with ``gymnasium.make``
and steps it. The observation, reward and termination are MiniGrid's own (the observation is
MiniGrid's ``{"image", "direction", "mission"}`` dict, the reward ``1 - 0.9 * steps/max_steps``
on success, counted in MiniGrid steps). On top of that:

* ``info["facts"]``/``info["text"]``: what the agent sees now, in the grid vocabulary (see
  :mod:`envs.minigrid.facts` and docs/facts.md);
* high-level actions (``actions="cardinal"``, the default), each one several MiniGrid steps:

  ``north``, ``east``, ``south``, ``west`` (indices 0-3)
      turn to face that way, then step forward if the cell ahead can be entered (floor, the
      goal, an open door, lava). A wall, a closed door or an object ahead: no step, and
      ``info["action_success"]`` is ``False``. Lava is not refused: stepping into it ends the
      episode, as in MiniGrid, so avoiding it is the agent's job.
  ``open_<dir>`` (4-7)
      turn, then toggle the closed door ahead; a locked door opens only when a key of its
      colour is carried (the key stays carried). Never closes a door. A box ahead is opened:
      it is replaced by what it held (ObstructedMaze hides keys in boxes).
  ``pickup_<dir>`` (8-11)
      turn, then pick up the object ahead (hands must be empty).
  ``drop_<dir>`` (12-15)
      turn, then put the carried object on the empty cell ahead.
  ``face_<dir>`` (16-19)
      turn to face that way, and nothing else (BabyAI's "go to" is met by facing the object).
  ``done`` (20)
      MiniGrid's ``done``: GoToDoor and GoToObject reward it next to their target.
  ``wait`` (21)
      turn left and back: time passes (Dynamic-Obstacles' obstacles move), nothing changes.

  Turning takes the shorter way (a half turn is two ``right`` steps). An action whose effect
  cannot happen (checked on the cell ahead once the agent faces it) does not take its final
  MiniGrid step; if it took no MiniGrid step at all it turns left and back (MiniGrid has no
  no-op: its ``done`` ends GoToDoor and GoToObject), so that every CogOS step costs at least one
  MiniGrid step and MiniGrid's step limit still ends the episode.
* ``actions="primitive"``: MiniGrid's own seven actions (``left``, ``right``, ``forward``,
  ``pickup``, ``drop``, ``toggle``, ``done``), one MiniGrid step each.

``info`` also carries ``success`` (the episode ended with a positive reward, i.e. the task was
solved; lava ends it with 0), ``optimal_steps`` (a shortest solution in this env's actions from
the start, by breadth-first search over the full grid, see :mod:`envs.minigrid.optimal`; for
scoring only), ``primitive_steps`` (MiniGrid steps so far this episode), ``action_primitive_steps``
(MiniGrid steps of this action) and ``steps`` (CogOS steps so far).
"""

from __future__ import annotations

from typing import Any

import gymnasium
import minigrid  # noqa: F401 - registers the MiniGrid-* ids with gymnasium
import numpy.typing as npt
from gymnasium import spaces
from minigrid.core.actions import Actions
from minigrid.minigrid_env import MiniGridEnv as _MiniGridBase

from envs.base import CogEnv, TaskSpec
from envs.minigrid.facts import (
    CARDINAL_DIR,
    CARDINALS,
    STEP,
    Encoded,
    Perceiver,
    passable,
)
from envs.minigrid.optimal import shortest_solution

CARDINAL_ACTIONS: tuple[str, ...] = (
    *CARDINALS,
    *(f"open_{d}" for d in CARDINALS),
    *(f"pickup_{d}" for d in CARDINALS),
    *(f"drop_{d}" for d in CARDINALS),
    *(f"face_{d}" for d in CARDINALS),
    "done",
    "wait",
)
"""High-level action names, index ``i`` naming ``Discrete`` action ``i``."""
PRIMITIVE_ACTIONS: tuple[str, ...] = tuple(a.name for a in Actions)
"""MiniGrid's own action names (``left`` ... ``done``)."""
ACTION_SETS = {"cardinal": CARDINAL_ACTIONS, "primitive": PRIMITIVE_ACTIONS}

Observation = dict[str, Any]


def _encode(cell: Any) -> Encoded:
    if cell is None:
        return (1, 0, 0)  # empty
    code = cell.encode()
    return (int(code[0]), int(code[1]), int(code[2]))


class MiniGridEnv(CogEnv):
    """A MiniGrid task by gymnasium id, with facts, text and high-level actions.

    See the module docstring for the actions and ``info``; extra keyword arguments go to the
    MiniGrid task's constructor (e.g. ``max_steps``, ``size``, ``agent_view_size``).
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi", "rgb_array"], "render_fps": 10}  # noqa: RUF012

    def __init__(
        self,
        *,
        id: str = "MiniGrid-FourRooms-v0",
        actions: str = "cardinal",
        render_mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        if actions not in ACTION_SETS:
            raise ValueError(f"actions must be one of {', '.join(ACTION_SETS)}; got {actions!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be None or one of {', '.join(self.metadata['render_modes'])}; "
                f"got {render_mode!r}"
            )
        try:
            wrapped = gymnasium.make(
                id,
                render_mode="rgb_array" if render_mode == "rgb_array" else None,
                disable_env_checker=True,
                **kwargs,
            )
        except gymnasium.error.Error as exc:
            raise ValueError(f"cannot make MiniGrid task {id!r}: {exc}") from exc
        inner = wrapped.unwrapped
        if not isinstance(inner, _MiniGridBase):
            wrapped.close()
            raise ValueError(f"{id!r} is not a MiniGrid task ({type(inner).__name__})")
        try:  # some tasks need an optional package only when they lay out a grid (WFC)
            inner.reset(seed=0)
        except gymnasium.error.DependencyNotInstalled as exc:
            wrapped.close()
            raise ValueError(f"cannot make MiniGrid task {id!r}: {exc}") from None
        self.id = id
        self.actions = actions
        self.render_mode = render_mode
        self._wrapped = wrapped
        self._mg: _MiniGridBase = inner
        self.action_names = ACTION_SETS[actions]  # type: ignore[misc]
        self.action_space = spaces.Discrete(len(self.action_names))
        self.observation_space = inner.observation_space
        self._perceiver = Perceiver(inner.width, inner.height)
        self._task = TaskSpec(text="", facts=frozenset())
        self._obs: Observation | None = None
        self._steps = 0
        self._done = False
        self._optimal: int | None = None

    # ------------------------------------------------------------------ gymnasium API

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Observation, dict[str, Any]]:
        """Start a MiniGrid episode (the layout is drawn from the seed, as MiniGrid does)."""
        super().reset(seed=seed)
        obs, _ = self._mg.reset(seed=seed, options=options)
        mg = self._mg
        self._perceiver = Perceiver(mg.width, mg.height)
        self._task = TaskSpec(
            text=str(mg.mission).capitalize() + ".",
            facts=frozenset({("grid", str(mg.height), str(mg.width))}),
        )
        self._steps = 0
        self._done = False
        self._optimal = shortest_solution(mg, primitive=self.actions == "primitive")
        self._obs = obs
        return obs, self._info(True, 0, terminated=False, reward=0.0)

    def step(self, action: Any) -> tuple[Observation, float, bool, bool, dict[str, Any]]:
        """One CogOS step: a high-level action (several MiniGrid steps) or a primitive one."""
        if self._obs is None:
            raise RuntimeError("call reset() before step()")
        if self._done:
            raise RuntimeError("the episode is over (terminated or truncated); call reset()")
        a = int(action)
        if not 0 <= a < len(self.action_names):
            raise ValueError(
                f"action must be in 0..{len(self.action_names) - 1} "
                f"({', '.join(self.action_names)}), got {action!r}"
            )
        self._steps += 1
        if self.actions == "primitive":
            result = self._primitive(a)
        else:
            result = self._high_level(self.action_names[a])
        obs, reward, terminated, truncated, success, primitive_steps = result
        self._obs = obs
        self._done = terminated or truncated
        info = self._info(success, primitive_steps, terminated=terminated, reward=reward)
        return obs, reward, terminated, truncated, info

    def render(self) -> str | npt.NDArray[Any] | None:
        """``ansi``: MiniGrid's text grid; ``rgb_array``: MiniGrid's full-grid frame."""
        if self.render_mode is None:
            return None
        if self.render_mode == "ansi":
            inner: Any = self._mg  # pprint_grid is untyped
            return str(inner.pprint_grid())
        frame: npt.NDArray[Any] = self._mg.get_frame(self._mg.highlight, self._mg.tile_size)
        return frame

    def close(self) -> None:
        self._wrapped.close()
        super().close()

    # ------------------------------------------------------------------ CogOS API

    @property
    def task(self) -> TaskSpec:
        """MiniGrid's mission; the goal cell is not given (it is found by looking)."""
        return self._task

    @property
    def minigrid(self) -> _MiniGridBase:
        """The MiniGrid env itself: privileged (full grid), for tests and scoring only."""
        return self._mg

    @property
    def steps(self) -> int:
        """CogOS steps taken in the current episode."""
        return self._steps

    # ------------------------------------------------------------------ internals

    def _prim(self, action: int) -> tuple[Observation, float, bool, bool]:
        obs, reward, terminated, truncated, _ = self._mg.step(action)
        return obs, float(reward), bool(terminated), bool(truncated)

    def _primitive(self, a: int) -> tuple[Observation, float, bool, bool, bool, int]:
        mg = self._mg
        before = (
            tuple(mg.agent_pos),
            mg.agent_dir,
            mg.carrying,
            _encode(mg.grid.get(*mg.front_pos)),
        )
        obs, reward, terminated, truncated = self._prim(a)
        after = (
            tuple(mg.agent_pos),
            mg.agent_dir,
            mg.carrying,
            _encode(mg.grid.get(*mg.front_pos)),
        )
        success = a == Actions.done or terminated or after != before
        return obs, reward, terminated, truncated, success, 1

    def _high_level(self, name: str) -> tuple[Observation, float, bool, bool, bool, int]:
        mg: Any = self._mg  # MiniGrid's world objects are typed as the WorldObj base
        if name == "done":
            done = self._prim(Actions.done)
            return (*done, True, 1)
        if name == "wait":
            return self._turn_and_back(0.0)
        verb, _, direction = name.rpartition("_")
        verb = verb or "move"
        target = CARDINAL_DIR[direction]
        turns = (target - mg.agent_dir) % 4
        plan = {0: [], 1: [Actions.right], 2: [Actions.right, Actions.right], 3: [Actions.left]}
        obs = self._obs
        assert obs is not None
        reward, terminated, truncated, taken = 0.0, False, False, 0
        for turn in plan[turns]:
            obs, r, terminated, truncated = self._prim(turn)
            reward += r
            taken += 1
            if terminated or truncated:
                return obs, reward, terminated, truncated, False, taken
        dx, dy = STEP[direction]
        x, y = mg.agent_pos
        fx, fy = int(x) + dx, int(y) + dy
        inside = 0 <= fx < mg.width and 0 <= fy < mg.height
        ahead = mg.grid.get(fx, fy) if inside else None
        final: int | None = None
        if not inside or verb == "face":
            pass
        elif verb == "move":
            if passable(_encode(ahead)) or (ahead is not None and ahead.type == "lava"):
                final = Actions.forward
        elif verb == "open":
            if ahead is not None and ahead.type == "box":
                final = Actions.toggle  # the box is replaced by what it held
            elif ahead is not None and ahead.type == "door" and not ahead.is_open:
                held = mg.carrying
                key_fits = held is not None and held.type == "key" and held.color == ahead.color
                if not ahead.is_locked or key_fits:
                    final = Actions.toggle
        elif verb == "pickup":
            if ahead is not None and ahead.can_pickup() and mg.carrying is None:
                final = Actions.pickup
        elif verb == "drop" and ahead is None and mg.carrying is not None:
            final = Actions.drop
        success = final is not None or verb == "face"
        if final is None and taken == 0:  # nothing can happen, but time passes
            obs, reward, terminated, truncated, _, taken = self._turn_and_back(reward)
            return obs, reward, terminated, truncated, success, taken
        if final is not None:
            obs, r, terminated, truncated = self._prim(final)
            reward += r
            taken += 1
        return obs, reward, terminated, truncated, success, taken

    def _turn_and_back(self, reward: float) -> tuple[Observation, float, bool, bool, bool, int]:
        """MiniGrid has no no-op (its ``done`` ends GoToDoor): a left turn and a right one."""
        obs: Observation | None = self._obs
        terminated = truncated = False
        taken = 0
        for turn in (Actions.left, Actions.right):
            obs, r, terminated, truncated = self._prim(turn)
            reward += r
            taken += 1
            if terminated or truncated:
                break
        assert obs is not None
        return obs, reward, terminated, truncated, True, taken

    def _info(
        self, success: bool, primitive_steps: int, *, terminated: bool, reward: float
    ) -> dict[str, Any]:
        mg = self._mg
        obs = self._obs
        assert obs is not None
        pos = (int(mg.agent_pos[0]), int(mg.agent_pos[1]))
        held = mg.carrying
        carrying = (str(held.type), str(held.color)) if held is not None else None
        facts, text = self._perceiver.percept(
            obs["image"], pos, int(mg.agent_dir), _encode(mg.grid.get(*pos)), carrying
        )
        return {
            "facts": facts,
            "text": text,
            "optimal_steps": self._optimal,
            "grid": {"height": mg.height, "width": mg.width},
            "steps": self._steps,
            "primitive_steps": int(mg.step_count),
            "action_primitive_steps": primitive_steps,
            "action_success": success,
            "success": terminated and reward > 0,
        }
