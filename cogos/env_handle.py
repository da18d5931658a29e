"""The handle the kernel drives an environment through, and the observations it makes.

Any gymnasium environment can be driven: a CogOS environment (see :mod:`envs.base`) also gives
facts, text, named actions and a task; for a plain gymnasium env the handle falls back to
numbered actions and empty facts, so perception modules decide what to make of the raw
observation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym

from cogos.observation import Observation
from memory.cycle_records import Atom


class EnvHandle:
    """Wraps a gymnasium env so the cycle deals in :class:`Observation` and named actions."""

    def __init__(self, env: gym.Env[Any, Any], name: str) -> None:
        self.env = env
        self.name = name
        inner = env.unwrapped
        names = getattr(inner, "action_names", ())
        if not names and isinstance(env.action_space, gym.spaces.Discrete):
            names = tuple(str(i) for i in range(int(env.action_space.n)))
        self.action_names: tuple[str, ...] = tuple(names)

    @property
    def task_text(self) -> str:
        task = getattr(self.env.unwrapped, "task", None)
        return str(getattr(task, "text", "")) if task is not None else ""

    @property
    def goal_facts(self) -> frozenset[Atom]:
        task = getattr(self.env.unwrapped, "task", None)
        facts: frozenset[Atom] = getattr(task, "goal_facts", frozenset())
        return frozenset(tuple(a) for a in facts)

    @property
    def task_facts(self) -> frozenset[Atom]:
        """Static facts that come with the task (``TaskSpec.facts``), if the env gives any."""
        task = getattr(self.env.unwrapped, "task", None)
        facts: frozenset[Atom] = getattr(task, "facts", frozenset())
        return frozenset(tuple(a) for a in facts)

    def action_from_name(self, name: str) -> Any:
        try:
            return self.action_names.index(name)
        except ValueError:
            raise ValueError(
                f"env {self.name!r} has no action {name!r}; "
                f"expected one of: {', '.join(self.action_names)}"
            ) from None

    def reset(self, seed: int | None = None) -> Observation:
        obs, info = self.env.reset(seed=seed)
        return _observation(obs, 0.0, False, False, info)

    def step(self, action: Any) -> Observation:
        obs, reward, terminated, truncated, info = self.env.step(action)
        return _observation(obs, float(reward), bool(terminated), bool(truncated), info)

    def close(self) -> None:
        self.env.close()


def _observation(
    obs: Any, reward: float, terminated: bool, truncated: bool, info: Mapping[str, Any]
) -> Observation:
    facts: list[tuple[str, ...]] = info.get("facts") or []
    return Observation(
        obs,
        reward,
        terminated,
        truncated,
        info,
        frozenset(tuple(a) for a in facts),
        str(info.get("text", "")),
        tuple(info.get("admissible_actions") or ()),
    )
