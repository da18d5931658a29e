"""MiniGrid and BabyAI missions, parsed into goals: a symbolic parser of the BabyAI grammar.

BabyAI's missions are generated from a small grammar (Chevalier-Boisvert et al., "BabyAI",
ICLR 2019; ``minigrid.envs.babyai.core.verifier``)::

    mission  := clauses [", then " clauses | " after you " clauses]
    clauses  := action [" and " action]
    action   := "go to " desc | "pick up " desc | "open " desc | "put " desc " next to " desc
    desc     := ("the" | "a") [colour] ("door" | "key" | "ball" | "box" | "object") [location]
    location := "on your left" | "on your right" | "in front of you" | "behind you"

MiniGrid's own tasks word a few more: Fetch ("go get a blue key", "you must fetch a grey ball"),
PutNear ("put the blue ball near the green box"), RedBlueDoors ("open the red door then the
blue door"), and the tasks whose mission ends at the goal square ("avoid the lava and get to
the green goal square", "use the key to open the door and then get to the goal"): those are
read as *reach the goal*, the rest of the sentence being advice on how.

The result is a :class:`Mission`: stages in order, each a set of instructions to complete in
any order ("A and B, then C" is ``((A, B), (C,))``; "A after you B" is ``((B,), (A,))``).
Words outside the grammar raise :class:`MissionError` naming them, so an agent can fail the
episode with the reason instead of ignoring the mission.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

COLORS = ("red", "green", "blue", "purple", "yellow", "grey")
KINDS = ("door", "key", "ball", "box")
LOCATIONS = {
    "on your left": "left",
    "on your right": "right",
    "in front of you": "front",
    "behind you": "behind",
}

Verb = Literal["go_to", "pick_up", "open", "put_next", "reach_goal"]


class MissionError(ValueError):
    """A mission outside the grammar this parser knows: says which words."""


@dataclass(frozen=True)
class ObjDesc:
    """What an instruction is about, as in "the red ball on your left" (None: any)."""

    kind: str | None = None
    color: str | None = None
    loc: str | None = None
    """``left``, ``right``, ``front`` or ``behind``: relative to the agent's pose at the start,
    among the objects of the room it starts in (as BabyAI's verifier reads it)."""

    def matches(self, kind: str, color: str) -> bool:
        """Type and colour only; the location is the caller's (it needs the start pose)."""
        return (self.kind is None or self.kind == kind) and (
            self.color is None or self.color == color
        )


@dataclass(frozen=True)
class Instruction:
    """One clause: a verb, its object and, for ``put_next``, the object to put it next to."""

    verb: Verb
    obj: ObjDesc | None = None
    near: ObjDesc | None = None


@dataclass(frozen=True)
class Mission:
    """Stages in order; the instructions of a stage in any order."""

    stages: tuple[tuple[Instruction, ...], ...]
    text: str = ""

    def instructions(self) -> list[Instruction]:
        return [i for stage in self.stages for i in stage]


_GOAL_END = re.compile(
    r"(?:get|go|get to|go to|reach|traverse the rooms to get to)\s+(?:to\s+)?the\s+"
    r"(?:green\s+)?goal(?:\s+square)?$"
)
_FETCH = re.compile(r"^(?:go get|get|go fetch|fetch|you must fetch)\s+(.*)$")
_DESC = re.compile(
    r"^(?:the|a|an)\s+(?:(?P<color>" + "|".join(COLORS) + r")\s+)?"
    r"(?P<kind>" + "|".join((*KINDS, "object")) + r")"
    r"(?:\s+(?P<loc>" + "|".join(LOCATIONS) + r"))?$"
)


def parse_mission(text: str) -> Mission:
    """The mission's goals, or :class:`MissionError` naming what is outside the grammar."""
    clean = " ".join(text.lower().strip().rstrip(".").split())
    if not clean:
        raise MissionError("the task gives no mission")
    if _GOAL_END.search(clean):
        return Mission(((Instruction("reach_goal"),),), text)
    if " after you " in clean:
        then, first = clean.split(" after you ", 1)
        parts = [first, then]
    else:
        parts = re.split(r",? then ", clean)
    stages: list[tuple[Instruction, ...]] = []
    verb: str | None = None
    for part in parts:
        stage, verb = _clauses(part, verb)
        stages.append(stage)
    return Mission(tuple(stages), text)


def _clauses(text: str, verb: str | None) -> tuple[tuple[Instruction, ...], str | None]:
    """The instructions joined by "and", and the last verb (a clause may leave it out)."""
    out: list[Instruction] = []
    for part in _split_and(text):
        instruction, verb = _action(part, verb)
        out.append(instruction)
    return tuple(out), verb


def _split_and(text: str) -> list[str]:
    """Split at " and " between clauses (never inside "put X next to Y": no "and" there)."""
    return [p for p in re.split(r",? and ", text) if p]


def _action(text: str, previous: str | None) -> tuple[Instruction, str]:
    for prefix, verb in (("go to ", "go_to"), ("pick up ", "pick_up"), ("open ", "open")):
        if text.startswith(prefix):
            return Instruction(verb, _desc(text[len(prefix) :], text)), verb  # type: ignore[arg-type]
    if text.startswith("put "):
        rest = text[4:]
        for joint in (" next to ", " near "):
            if joint in rest:
                moved, fixed = rest.split(joint, 1)
                return Instruction("put_next", _desc(moved, text), _desc(fixed, text)), "put_next"
        raise MissionError(f"{text!r}: 'put' needs '... next to ...'")
    fetch = _FETCH.match(text)
    if fetch:
        return Instruction("pick_up", _desc(fetch.group(1), text)), "pick_up"
    if previous in ("go_to", "pick_up", "open") and _DESC.match(text):
        # "open the red door then the blue door": the verb carries over
        return Instruction(previous, _desc(text, text)), previous  # type: ignore[arg-type]
    raise MissionError(
        f"{text!r} is not an instruction this parser knows (go to, pick up, open, put ... next "
        "to, get/fetch, or reaching the goal)"
    )


def _desc(text: str, clause: str) -> ObjDesc:
    match = _DESC.match(text.strip())
    if match is None:
        raise MissionError(
            f"{text!r} in {clause!r} is not an object description ('the'/'a', a colour, one of "
            f"{', '.join(KINDS)} or 'object', and maybe a location)"
        )
    kind = match.group("kind")
    loc = match.group("loc")
    return ObjDesc(
        None if kind == "object" else kind, match.group("color"), LOCATIONS[loc] if loc else None
    )
