"""ALFWorld text commands: parsed into a :class:`Command` and written back in one canonical form.

The canonical forms are ALFWorld's (``go to fridge 1``, ``take apple 1 from countertop 1``,
``put apple 1 in/on fridge 1``, ...), and ``info["admissible_actions"]`` lists only those. The
parser is lenient where people and language models are: case, surrounding blanks, a final
period, ``put X in Y`` / ``put X on Y`` for ``put X in/on Y``, and ALFWorld 0.3's ``move X to Y``
all parse to the same command. Arguments are entity ids (``apple_1``) inside a command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from envs.household.names import fact_name, text_name

VERBS: tuple[str, ...] = (
    "go",
    "open",
    "close",
    "take",
    "put",
    "heat",
    "cool",
    "clean",
    "slice",
    "use",
    "examine",
    "look",
    "inventory",
)

_TEMPLATES: dict[str, str] = {
    "go": "go to {0}",
    "open": "open {0}",
    "close": "close {0}",
    "take": "take {0} from {1}",
    "put": "put {0} in/on {1}",
    "heat": "heat {0} with {1}",
    "cool": "cool {0} with {1}",
    "clean": "clean {0} with {1}",
    "slice": "slice {0} with {1}",
    "use": "use {0}",
    "examine": "examine {0}",
    "look": "look",
    "inventory": "inventory",
}

_E = r"([a-z]+ [1-9][0-9]*)"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(f"^{pattern}$"), verb)
    for pattern, verb in (
        (rf"go to {_E}", "go"),
        (rf"open {_E}", "open"),
        (rf"close {_E}", "close"),
        (rf"take {_E} from {_E}", "take"),
        (rf"put {_E} (?:in/on|in|on|into|onto) {_E}", "put"),
        (rf"move {_E} to {_E}", "put"),
        (rf"heat {_E} with {_E}", "heat"),
        (rf"cool {_E} with {_E}", "cool"),
        (rf"clean {_E} with {_E}", "clean"),
        (rf"slice {_E} with {_E}", "slice"),
        (rf"use {_E}", "use"),
        (rf"examine {_E}", "examine"),
        ("look", "look"),
        ("inventory", "inventory"),
    )
)


@dataclass(frozen=True, slots=True)
class Command:
    """A verb and its arguments (entity ids), e.g. ``Command("take", ("apple_1", "fridge_1"))``."""

    verb: str
    args: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The canonical ALFWorld text of the command."""
        return _TEMPLATES[self.verb].format(*(text_name(a) for a in self.args))

    def __str__(self) -> str:
        return self.text


def parse_command(text: str) -> Command | None:
    """The command a text names, or ``None`` when it is not one (never raises)."""
    words = " ".join(text.lower().split()).rstrip(".").strip()
    for pattern, verb in _PATTERNS:
        match = pattern.match(words)
        if match is not None:
            return Command(verb, tuple(fact_name(g) for g in match.groups()))
    return None
