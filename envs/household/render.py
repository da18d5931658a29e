"""A privileged text picture of the whole household, for people reading logs and debugging.

It shows every receptacle's contents, closed or not, so it must never be fed to a policy.
"""

from __future__ import annotations

from envs.household.names import text_name
from envs.household.world import STATE_FLAGS, Layout, State, contents


def _entity(state: State, entity: str) -> str:
    flags = [f for f in STATE_FLAGS if (f, entity) in state.flags]
    return text_name(entity) + (f" ({', '.join(flags)})" if flags else "")


def render_ansi(layout: Layout, state: State, task_text: str, steps: int) -> str:
    """One line per receptacle (``*`` where the agent is), then what it holds and the task."""
    lines = [f"task: {task_text}  (step {steps})"]
    if state.at is None:
        lines.append("* the agent is in the middle of the room")
    for r in layout.receptacles:
        mark = "*" if r == state.at else " "
        status = ""
        if r in layout.openable:
            status = " [open]" if ("opened", r) in state.flags else " [closed]"
        inside = ", ".join(_entity(state, o) for o in contents(layout, state, r)) or "-"
        lines.append(f"{mark} {text_name(r)}{status}: {inside}")
    held = "nothing" if state.holding is None else _entity(state, state.holding)
    lines.append(f"holding: {held}")
    return "\n".join(lines)
