"""Text observations in ALFWorld's words, so that prompts and parsers written for ALFWorld work.

Each function describes a household, or what one command did, for the agent: only what it can
see. Like the rules (:mod:`envs.household.rules`), the text is written once over
:class:`~envs.household.rules.HouseholdView`, so the symbolic household and AI2-THOR say the same
things in the same words. ALFWorld's quirks are kept on purpose ("a apple 1", ", and" before
the last item).
"""

from __future__ import annotations

from collections.abc import Sequence

from envs.household.commands import Command
from envs.household.names import text_name
from envs.household.rules import HouseholdView

NOTHING_HAPPENS = "Nothing happens."

FLAG_WORDS: tuple[tuple[str, str], ...] = (
    ("heated", "hot"),
    ("cooled", "cool"),
    ("cleaned", "clean"),
    ("sliced", "sliced"),
    ("toggled", "switched on"),
)
"""How ``examine`` words an object's state predicates, in the order it lists them."""


def listing(entities: Sequence[str]) -> str:
    """``"a apple 1, a bread 1, and a knife 1"``, or ``"nothing"``."""
    items = [f"a {text_name(e)}" for e in entities]
    if not items:
        return "nothing"
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + ", and " + items[-1]


def receptacle_view(view: HouseholdView, receptacle: str) -> str:
    """What the agent sees of the receptacle it is at: closed, or what lies on or in it."""
    name = text_name(receptacle)
    seen = listing(view.contents(receptacle))
    if not view.openable(receptacle):
        return f"On the {name}, you see {seen}."
    if not view.is_open(receptacle):
        return f"The {name} is closed."
    return f"The {name} is open. In it, you see {seen}."


def room_view(view: HouseholdView) -> str:
    """The first look around: every receptacle, none of the objects."""
    return (
        "You are in the middle of a room. Looking quickly around you, you see "
        f"{listing(view.receptacles)}."
    )


def initial_text(view: HouseholdView, task_text: str) -> str:
    """The reset observation: the room and the task, as ALFWorld opens an episode."""
    return f"{room_view(view)}\n\nYour task is to: {task_text}"


def look_text(view: HouseholdView) -> str:
    """``look``: the room, or the receptacle the agent is at."""
    if view.at is None:
        return room_view(view)
    return f"You are at {text_name(view.at)}. {receptacle_view(view, view.at)}"


def inventory_text(view: HouseholdView) -> str:
    """``inventory``: what the agent holds."""
    if view.holding is None:
        return "You are not carrying anything."
    return f"You are carrying: a {text_name(view.holding)}."


def examine_text(view: HouseholdView, entity: str) -> str:
    """``examine``: a receptacle as seen from it, or an object's state in words."""
    if view.is_receptacle(entity):
        return receptacle_view(view, entity)
    flags = view.flags(entity)
    words = [word for flag, word in FLAG_WORDS if flag in flags]
    if not words:
        return f"There's nothing special about {text_name(entity)}."
    return f"This is a {', '.join(words)} {text_name(entity)}."


def feedback(after: HouseholdView, cmd: Command) -> str:
    """What the agent is told once an admissible ``cmd`` was carried out (``after``: the result)."""
    names = [text_name(a) for a in cmd.args]
    verb = cmd.verb
    if verb == "go":
        return f"You arrive at {names[0]}. {receptacle_view(after, cmd.args[0])}"
    if verb == "open":
        return f"You open the {names[0]}. {receptacle_view(after, cmd.args[0])}"
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
        on = "toggled" in after.flags(cmd.args[0])
        return f"You turn {'on' if on else 'off'} the {names[0]}."
    if verb == "inventory":
        return inventory_text(after)
    if verb == "look":
        return look_text(after)
    if verb == "examine":
        return examine_text(after, cmd.args[0])
    return NOTHING_HAPPENS
