"""An environment that lives outside the agent's process (a robot, a simulator, another service).

The agent never calls ``reset`` or ``step`` on it: observations arrive from outside (the
daemon's ``observe`` command over MQTT) and the chosen actions are sent back the same way. This
class only describes the environment to the agent: its action names (empty for text commands)
and its task, so that configs, working memory and the planner are set up as for any other env.
"""

from __future__ import annotations

from typing import Any

from gymnasium import spaces

from envs.base import CogEnv, TaskSpec


class ExternalEnv(CogEnv):
    """See the module docstring."""

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012
    driven_externally = True
    """The daemon sees this and drives the agent from ``observe`` commands."""

    def __init__(
        self,
        *,
        actions: list[str] | None = None,
        task: str = "",
        goal_facts: list[list[str]] | None = None,
        task_facts: list[list[str]] | None = None,
    ) -> None:
        names = tuple(actions or ())
        if len(set(names)) != len(names):
            raise ValueError(f"actions must be distinct, got {list(names)}")
        self.action_names = names  # type: ignore[misc]  # per instance: set by the config
        self.action_space = spaces.Discrete(len(names)) if names else spaces.Text(1024)
        self.observation_space = spaces.Text(65_536)
        self._task = TaskSpec(
            task,
            frozenset(tuple(a) for a in goal_facts or ()),
            frozenset(tuple(a) for a in task_facts or ()),
        )

    @property
    def task(self) -> TaskSpec:
        return self._task

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        raise RuntimeError(
            "an external environment is driven from outside: send observations with the "
            "daemon's 'observe' command (docs/mqtt.md)"
        )

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        raise RuntimeError("an external environment is stepped from outside (docs/mqtt.md)")
