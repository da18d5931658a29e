"""Any gymnasium environment by id, as a CogOS environment.

``GymEnv(id="CartPole-v1", **kwargs)`` builds the env with ``gymnasium.make`` and passes its
spaces, rewards and termination through unchanged. What it adds is the CogOS contract:

* **action names**: for a ``Discrete`` action space, the wrapped env's own names when it has
  any (an ``action_names`` attribute, Atari's ``get_action_meanings()``, or an ``actions`` enum
  such as MiniGrid's), else ``"0"`` ... ``"n-1"``; other action spaces have no names;
* ``info["facts"]`` empty: a generic env has no symbolic percept, so perception modules decide
  what to make of the raw observation;
* ``info["text"]`` a short repr of the observation, ``info["optimal_steps"]`` ``None``
  (a CogOS env made by its gymnasium id, e.g. ``cogos/Maze-v0``, keeps its own facts, text and
  optimal steps);
* a task whose text names the env id;
* ``success_when="positive_reward"`` sets ``info["success"]`` for sparse-reward tasks where
  terminating is not the same as succeeding (see :data:`SUCCESS_RULES`).

A ``Discrete`` space with a non-zero ``start`` is exposed as starting at 0 (action ``i`` is the
wrapped env's ``start + i``), because CogOS numbers actions by their index in ``action_names``.
The wrapped env's own ``info`` keys are kept.
"""

from __future__ import annotations

from enum import EnumMeta
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces

from envs.base import CogEnv, TaskSpec

TEXT_LIMIT = 160
"""Longest ``info["text"]``; longer observation reprs are cut with an ellipsis."""
SUCCESS_RULES = ("terminated", "positive_reward")
"""``success_when``: the kernel's rule (an episode that terminates, rather than being truncated,
is a success; CartPole's fallen pole included), or termination with a positive last reward
(FrozenLake's goal rather than a hole). An env that reports ``info["success"]`` itself wins."""
SMALL_ARRAY = 16
"""Arrays with more elements are described by dtype and shape rather than values."""


def wrapped_action_names(env: gymnasium.Env[Any, Any]) -> tuple[str, ...]:
    """Names of a ``Discrete`` env's actions, from the env itself when it has any."""
    space = env.action_space
    if not isinstance(space, spaces.Discrete):
        return ()
    n = int(space.n)
    inner = env.unwrapped
    candidates: list[Any] = [getattr(inner, "action_names", None)]
    meanings = getattr(inner, "get_action_meanings", None)
    if callable(meanings):
        try:
            candidates.append(meanings())
        except Exception:  # an env whose meanings need a reset first, or are not implemented
            candidates.append(None)
    actions = getattr(inner, "actions", None)
    if isinstance(actions, EnumMeta):
        members = sorted(actions, key=lambda m: int(m.value))  # type: ignore[var-annotated]
        if [int(m.value) for m in members] == list(range(len(members))):
            candidates.append([m.name for m in members])
    for names in candidates:
        if names is not None and len(names) == n and len({str(x) for x in names}) == n:
            return tuple(str(x) for x in names)
    return tuple(str(i) for i in range(n))


def short_repr(value: Any, limit: int = TEXT_LIMIT) -> str:
    """A compact one-line repr of an observation (arrays rounded), at most ``limit`` chars."""
    if isinstance(value, np.ndarray) and value.size > SMALL_ARRAY:
        text = f"<{value.dtype} array {'x'.join(map(str, value.shape))}>"
    elif isinstance(value, np.ndarray):
        text = np.array2string(value, precision=3, separator=", ", max_line_width=10_000)
    elif isinstance(value, dict):
        text = "{" + ", ".join(f"{k}: {short_repr(v, limit)}" for k, v in value.items()) + "}"
    elif isinstance(value, float | np.floating):
        text = f"{float(value):.3g}"
    else:
        text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class GymEnv(CogEnv):
    """A gymnasium env by id with the CogOS contract on top; see the module docstring.

    ``kwargs`` go to ``gymnasium.make`` (the env's constructor options, ``max_episode_steps``).
    """

    def __init__(
        self,
        id: str,
        render_mode: str | None = None,
        success_when: str = "terminated",
        **kwargs: Any,
    ) -> None:
        if success_when not in SUCCESS_RULES:
            raise ValueError(
                f"success_when must be one of {', '.join(SUCCESS_RULES)}; got {success_when!r}"
            )
        try:
            if render_mode is not None:
                kwargs["render_mode"] = render_mode
            env = gymnasium.make(id, **kwargs)
        except gymnasium.error.Error as exc:
            raise ValueError(f"cannot make gymnasium env {id!r}: {exc}") from exc
        self.id = id
        self.success_when = success_when
        self._env = env
        self.metadata = dict(env.metadata)
        self.render_mode = env.render_mode
        space = env.action_space
        self._offset = 0
        if isinstance(space, spaces.Discrete) and int(space.start) != 0:
            self._offset = int(space.start)
            space = spaces.Discrete(int(space.n))
        self.action_space = space
        self.observation_space = env.observation_space
        self.action_names = wrapped_action_names(env)  # type: ignore[misc]
        self._task = TaskSpec(text=f"Act in the gymnasium environment {id}.")
        self._steps = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        obs, info = self._env.reset(seed=seed, options=options)
        self._steps = 0
        return obs, self._info(info, obs)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        if self._offset:
            action = int(action) + self._offset
        obs, reward, terminated, truncated, info = self._env.step(action)
        self._steps += 1
        out = self._info(info, obs)
        if self.success_when == "positive_reward" and "success" not in info:
            out["success"] = bool(terminated) and float(reward) > 0
        return obs, float(reward), bool(terminated), bool(truncated), out

    def render(self) -> Any:
        return self._env.render()

    def close(self) -> None:
        self._env.close()
        super().close()

    @property
    def task(self) -> TaskSpec:
        return self._task

    @property
    def wrapped(self) -> gymnasium.Env[Any, Any]:
        """The gymnasium env this one wraps (as ``gymnasium.make`` returned it)."""
        return self._env

    def _info(self, info: dict[str, Any], obs: Any) -> dict[str, Any]:
        out = dict(info)
        if "facts" not in out:  # what a CogOS env made by its gymnasium id reports is kept
            head = f"{self.id} step {self._steps}: "
            out["facts"] = []
            out["text"] = head + short_repr(obs, max(20, TEXT_LIMIT - len(head)))
        out.setdefault("text", "")
        out.setdefault("optimal_steps", None)
        out.setdefault("steps", self._steps)
        return out
