"""The household as a gymnasium environment with ALFWorld's text commands and observations.

Why text in and text out: it is ALFWorld's interface, which language-model agents are written
for, and the same command vocabulary is what the AI2-THOR adapter executes. The symbolic side
(``info["facts"]``, the task's goal and static facts) is what the PDDL planner reads. Both sides
describe only what the agent perceives; where objects are must be discovered by going to
receptacles and opening them.
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np
from gymnasium import spaces

from envs.base import CogEnv, TaskSpec
from envs.household.commands import parse_command
from envs.household.generator import Episode, generate_episode, validate_family
from envs.household.options import RENDER_MODES, HouseholdOptions
from envs.household.render import render_ansi
from envs.household.solver import shortest_plan
from envs.household.text import NOTHING_HAPPENS, feedback, initial_text
from envs.household.world import (
    State,
    StateView,
    admissible,
    apply,
    is_admissible,
    perceived_facts,
)

CHARSET = string.ascii_letters + string.digits + " \n.,:;!?'\"-/()[]*_="
"""Every character a command or an observation may contain."""

MAX_TEXT = 4096
"""Upper bound on an observation's length (the longest, the first one, is under 1,000)."""

MAX_COMMAND = 256
"""Upper bound on a command's length for the action space."""


class HouseholdEnv(CogEnv):
    """Carry out an ALFRED-style household task by typing ALFWorld commands.

    Each episode generates a household (seeded, :mod:`envs.household.generator`) and one task of
    the family given by ``task`` (``"any"``: drawn). Actions are command strings such as
    ``"go to fridge 1"`` or ``"put apple 1 in/on fridge 1"``; ``info["admissible_actions"]``
    lists those valid now. An inadmissible or unparseable command leaves the state unchanged,
    answers "Nothing happens." and sets ``info["action_success"] = False``.

    The observation is the text the agent is told (the first one also states the task).
    Reward 1 and ``terminated`` once the goal facts hold (as the agent perceives them);
    ``truncated`` after ``max_steps`` commands. With ``layout_seed`` (constructor, or
    ``reset(options={"layout_seed": n})``) the episode is the same whatever the reset seed.
    """

    metadata: dict[str, Any] = {"render_modes": list(RENDER_MODES), "render_fps": 4}  # noqa: RUF012

    def __init__(
        self,
        *,
        task: str = "any",
        max_steps: int = 50,
        layout_seed: int | None = None,
        render_mode: str | None = None,
    ) -> None:
        opts = HouseholdOptions.check(
            task=task, max_steps=max_steps, layout_seed=layout_seed, render_mode=render_mode
        )
        self.family = opts.family
        self.task_option = opts.task
        self.max_steps = opts.max_steps
        self.layout_seed = opts.layout_seed
        self.render_mode = opts.render_mode
        self.observation_space = spaces.Text(MAX_TEXT, min_length=1, charset=CHARSET)
        self.action_space = spaces.Text(MAX_COMMAND, min_length=1, charset=CHARSET)
        self._episode: Episode | None = None
        self._state: State | None = None
        self._task: TaskSpec | None = None
        self._steps = 0
        self._done = False
        self._optimal: int | None = None

    # ------------------------------------------------------------------ gymnasium API

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Generate a household and a task; options ``task`` and ``layout_seed`` override."""
        super().reset(seed=seed)
        family, layout_seed = self.family, self.layout_seed
        if options:
            unknown = set(options) - {"task", "layout_seed"}
            if unknown:
                raise ValueError(
                    f"unknown reset options {sorted(unknown)}; expected 'task', 'layout_seed'"
                )
            if "task" in options:
                family = validate_family(options["task"])
            if "layout_seed" in options:
                layout_seed = HouseholdOptions.check(
                    layout_seed=options["layout_seed"], label="options['layout_seed']"
                ).layout_seed
        rng = self.np_random if layout_seed is None else np.random.default_rng(layout_seed)
        episode = generate_episode(rng, family)
        self._episode = episode
        self._state = episode.start
        self._task = TaskSpec(episode.task.text, episode.task.goal, episode.layout.task_facts())
        self._steps = 0
        self._done = False
        plan = shortest_plan(episode.layout, episode.start, episode.task.goal)
        self._optimal = None if plan is None else len(plan)
        text = initial_text(StateView(episode.layout, episode.start), episode.task.text)
        return text, self._info(text, True)

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Carry out one command; see the class docstring."""
        if self._episode is None or self._state is None:
            raise RuntimeError("call reset() before step()")
        if self._done:
            raise RuntimeError("the episode is over (terminated or truncated); call reset()")
        layout = self._episode.layout
        cmd = parse_command(action) if isinstance(action, str) else None
        success = cmd is not None and is_admissible(layout, self._state, cmd)
        text = NOTHING_HAPPENS
        if success:
            assert cmd is not None
            self._state = apply(layout, self._state, cmd)
            text = feedback(StateView(layout, self._state), cmd)
        self._steps += 1
        info = self._info(text, success)
        terminated = bool(info["won"])
        truncated = not terminated and self._steps >= self.max_steps
        self._done = terminated or truncated
        reward = 1.0 if terminated else 0.0
        return text, reward, terminated, truncated, info

    def render(self) -> str | None:
        """The whole household as text when ``render_mode="ansi"`` (privileged: for people)."""
        if self.render_mode is None:
            return None
        return render_ansi(self.episode.layout, self.state, self.episode.task.text, self._steps)

    # ------------------------------------------------------------------ CogOS API

    @property
    def task(self) -> TaskSpec:
        """The goal text and atoms, and static facts on every entity (not where objects are)."""
        if self._task is None:
            raise RuntimeError("no task yet; call reset() first")
        return self._task

    def action_from_name(self, name: str) -> Any:
        """Commands are their own names."""
        return name

    def action_name(self, action: Any) -> str:
        return str(action)

    @property
    def episode(self) -> Episode:
        """The generated episode, hidden state included: for scoring, tests and oracles only."""
        if self._episode is None:
            raise RuntimeError("no episode yet; call reset() first")
        return self._episode

    @property
    def state(self) -> State:
        """The full current state (privileged, like :attr:`episode`)."""
        if self._state is None:
            raise RuntimeError("no state yet; call reset() first")
        return self._state

    @property
    def steps(self) -> int:
        """Commands issued in the current episode."""
        return self._steps

    # ------------------------------------------------------------------ internals

    def _info(self, text: str, success: bool) -> dict[str, Any]:
        episode, state = self.episode, self.state
        facts = perceived_facts(episode.layout, state)
        return {
            "facts": sorted(facts),
            "text": text,
            "optimal_steps": self._optimal,
            "admissible_actions": [c.text for c in admissible(episode.layout, state)],
            "action_success": success,
            "task_family": episode.task.family,
            "won": episode.task.goal <= facts,
            "steps": self._steps,
        }
