"""Text observations in ALFWorld's words, so that prompts and parsers written for ALFWorld work.

Each function describes a state, or what one command did, for the agent: only what it can see.
ALFWorld's quirks are kept on purpose ("a apple 1", ", and" before the last item).
"""

from __future__ import annotations

from envs.household.commands import Command
from envs.household.names import text_name
from envs.household.world import Layout, State, accessible, contents

NOTHING_HAPPENS = "Nothing happens."


def listing(entities: list[str]) -> str:
    """``"a apple 1, a bread 1, and a knife 1"``, or ``"nothing"``."""
    items = [f"a {text_name(e)}" for e in entities]
    if not items:
        return "nothing"
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + ", and " + items[-1]


def receptacle_view(layout: Layout, state: State, receptacle: str) -> str:
    """What the agent sees of the receptacle it is at: closed, or what lies on or in it."""
    name = text_name(receptacle)
    seen = listing(contents(layout, state, receptacle))
    if receptacle not in layout.openable:
        return f"On the {name}, you see {seen}."
    if not accessible(layout, state, receptacle):
        return f"The {name} is closed."
    return f"The {name} is open. In it, you see {seen}."


def room_view(layout: Layout) -> str:
    """The first look around: every receptacle, none of the objects."""
    return (
        "You are in the middle of a room. Looking quickly around you, you see "
        f"{listing(list(layout.receptacles))}."
    )


def initial_text(layout: Layout, task_text: str) -> str:
    """The reset observation: the room and the task, as ALFWorld opens an episode."""
    return f"{room_view(layout)}\n\nYour task is to: {task_text}"


def _describe_object(layout: Layout, state: State, obj: str) -> str:
    states = [
        word
        for flag, word in (
            ("heated", "hot"),
            ("cooled", "cool"),
            ("cleaned", "clean"),
            ("sliced", "sliced"),
            ("toggled", "switched on"),
        )
        if (flag, obj) in state.flags
    ]
    if not states:
        return f"There's nothing special about {text_name(obj)}."
    return f"This is a {', '.join(states)} {text_name(obj)}."


def feedback(layout: Layout, before: State, after: State, cmd: Command) -> str:
    """What the agent is told after carrying out ``cmd`` (which was admissible in ``before``)."""
    names = [text_name(a) for a in cmd.args]
    verb = cmd.verb
    if verb == "go":
        return f"You arrive at {names[0]}. {receptacle_view(layout, after, cmd.args[0])}"
    if verb == "open":
        return f"You open the {names[0]}. {receptacle_view(layout, after, cmd.args[0])}"
    if verb == "close":
        return f"You close the {names[0]}."
    if verb == "take":
        return f"You pick up the {names[0]} from the {names[1]}."
    if verb == "put":
        return f"You put the {names[0]} in/on the {names[1]}."
    if verb in ("heat", "cool", "clean"):
        return f"You {verb} the {names[0]} using the {names[1]}."
    if verb == "slice":
        return f"You slice the {names[0]} with the {names[1]}."
    if verb == "use":
        on = ("toggled", cmd.args[0]) in after.flags
        return f"You turn {'on' if on else 'off'} the {names[0]}."
    if verb == "inventory":
        if after.holding is None:
            return "You are not carrying anything."
        return f"You are carrying: a {text_name(after.holding)}."
    if verb == "look":
        if after.at is None:
            return room_view(layout)
        return f"You are at {text_name(after.at)}. {receptacle_view(layout, after, after.at)}"
    if verb == "examine":
        if cmd.args[0] == after.at:
            return receptacle_view(layout, after, after.at)
        return _describe_object(layout, after, cmd.args[0])
    return NOTHING_HAPPENS
