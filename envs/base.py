"""The contract every CogOS environment keeps on top of gymnasium's ``Env``.

Why a contract beyond gymnasium: the decision cycle needs more than an observation tensor. The
planner needs *symbolic facts*, the LLM modules need *text*, and the experiment runner needs the
*optimal* episode length to score an agent. Each environment therefore puts, in the ``info``
dict of both ``reset`` and ``step``:

``info["facts"]``
    a sorted list of atoms, each a tuple of strings ``(predicate, arg, ...)``; this is what the
    agent can currently perceive (never hidden state).
``info["text"]``
    a short natural-language description of the same percept.
``info["optimal_steps"]``
    the length of a shortest solution from the start state (``None`` when unknown); for scoring
    only, policies must not read it.
``info["admissible_actions"]`` (optional)
    for environments whose actions are text commands (a ``gymnasium.spaces.Text`` action
    space, as in ALFWorld), the commands that are admissible now; an inadmissible command is a
    failed action (``info["action_success"] = False``), never an exception.

Everything else in ``info`` is environment specific. Atoms are plain tuples (hashable, JSON
friendly as lists) so that ``envs`` does not depend on the kernel.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import gymnasium as gym

Atom = tuple[str, ...]  # also in memory/cycle_records.py: envs imports nothing of memory
"""A ground atom ``(predicate, arg1, ...)``, e.g. ``("at", "c3_4")``."""


@dataclass(frozen=True)
class TaskSpec:
    """What the agent is asked to achieve in the current episode.

    ``goal_facts`` is the symbolic goal as far as it is known to the agent at reset; it may be
    empty when the goal must first be discovered (the maze's goal cell is only known once seen).
    ``facts`` is static background knowledge that comes with the task and never changes during
    the episode (the maze's size, a household's rooms), so that a planner can use it without the
    environment repeating it in every percept.
    """

    text: str
    goal_facts: frozenset[Atom] = field(default_factory=frozenset)
    facts: frozenset[Atom] = field(default_factory=frozenset)


class CogEnv(gym.Env[Any, Any]):
    """Base class for CogOS environments: a gymnasium ``Env`` with named actions and a task.

    Subclasses implement gymnasium's ``reset``/``step`` and fill ``info`` as described in the
    module docstring.
    """

    #: Human-readable action names, index ``i`` naming ``Discrete`` action ``i``.
    action_names: ClassVar[tuple[str, ...]] = ()

    @property
    def task(self) -> TaskSpec:
        """The current episode's task; valid after ``reset``."""
        raise NotImplementedError

    def action_from_name(self, name: str) -> Any:
        """Map an action name to the env's native action (the index in ``action_names``)."""
        try:
            return self.action_names.index(name)
        except ValueError:
            raise ValueError(
                f"unknown action {name!r}; expected one of {', '.join(self.action_names)}"
            ) from None

    def action_name(self, action: Any) -> str:
        """Name of a native action, for traces and text."""
        return self.action_names[int(action)]


def facts_to_json(facts: Iterable[Atom]) -> list[list[str]]:
    """Sorted JSON-ready form of a set of atoms (stable across runs, for traces and the WAL)."""
    return [list(a) for a in sorted(facts)]
