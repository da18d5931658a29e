"""A task written in English, cut into sentences and lifted into sentence patterns.

A problem description repeats a few sentence shapes with different objects ("b4 is on top of
b10.", "b11 is on top of b4.", ... ). A small model translates a short list of patterns
("?A is on top of ?B.", with ?A and ?B typed) more reliably, and many times faster, than every
sentence: its answer for a pattern is grounded here once per sentence that has that shape.
Nothing here knows a domain: objects are found by their names, sentences by their punctuation.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from memory.cycle_records import Atom

_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")
_NUMBER = re.compile(r"(?<![\w?])\d+(?![\w])")
SLOT_PREFIX = "?"
"""Slots are named ``?A``, ``?B``...: never an object's name (PDDL names cannot start with ?)."""


def sentences(text: str) -> list[str]:
    """The text's sentences, in order: split at line breaks and at . ! ? ; before a space."""
    out: list[str] = []
    for line in text.splitlines():
        out.extend(s.strip() for s in _SENTENCE_END.split(line) if s.strip())
    return out


@dataclass(frozen=True)
class Pattern:
    """A sentence shape: its text with slots, each slot's type, and the sentences it stands for."""

    text: str
    """The sentence with each object replaced by a slot: ``?A is on top of ?B.``"""
    slots: tuple[str, ...]
    slot_types: tuple[str, ...]
    groundings: tuple[tuple[str, ...], ...]
    """For each sentence of this shape, the object in each slot."""
    example: str
    """The first sentence of this shape, as written."""

    @property
    def shape(self) -> str:
        """:attr:`text` with numbers as ``#``, so "You have 5 blocks." is "You have 12 blocks."."""
        return _NUMBER.sub("#", self.text)

    def legend(self) -> str:
        """What the slots are, for the prompt: ``?A, ?B: block``."""
        by_type: dict[str, list[str]] = {}
        for slot, kind in zip(self.slots, self.slot_types, strict=True):
            by_type.setdefault(kind, []).append(slot)
        return "; ".join(f"{', '.join(slots)}: {kind}" for kind, slots in by_type.items())

    def lift_facts(self, atoms: Sequence[Sequence[str]]) -> list[Atom]:
        """Facts read from :attr:`example`, with its objects replaced by this pattern's slots.

        Objects the sentence does not name (parts it implies) stay as they are.
        """
        binding = dict(zip(self.groundings[0], self.slots, strict=True))
        return [tuple(binding.get(a, a) for a in atom) for atom in atoms]

    def ground(self, atoms: Sequence[Sequence[str]]) -> set[Atom]:
        """The atoms of every sentence of this shape, with the slots filled in."""
        out: set[Atom] = set()
        for objects in self.groundings:
            binding = dict(zip(self.slots, objects, strict=True))
            out.update(tuple(binding.get(a, a) for a in atom) for atom in atoms)
        return out


_NAMED = re.compile(r"(?<![\w-])[A-Za-z][A-Za-z_-]*\d[\w-]*(?![\w-])")
"""A word with letters then digits (``b4``, ``room2``, ``ball10``): most likely an object."""


def named_words(text: str) -> list[str]:
    """The task's name-like words, in order, once each: the model types every one of them."""
    first: dict[str, str] = {}
    for word in _NAMED.findall(text):
        first.setdefault(word.lower(), word)
    return list(first.values())


def _slot_names() -> list[str]:
    letters = string.ascii_uppercase
    return [SLOT_PREFIX + c for c in letters] + [
        SLOT_PREFIX + a + b for a in letters for b in letters
    ]


def lift(lines: Sequence[str], objects: Mapping[str, str]) -> list[Pattern]:
    """The distinct patterns of ``lines``, in order of first appearance.

    An object is a whole word of the sentence equal to one of ``objects``' names (case as
    written; names are matched longest first, so ``ball10`` is not ``ball1``). Two sentences
    share a pattern when their texts with slots are equal and their slots' types are too.
    """
    names = sorted(objects, key=len, reverse=True)
    finder = (
        re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, names)) + r")(?![\w-])")
        if names
        else None
    )
    slot_names = _slot_names()
    found: dict[tuple[str, tuple[str, ...]], list[tuple[str, ...]]] = {}
    first: dict[tuple[str, tuple[str, ...]], str] = {}
    for line in lines:
        order: list[str] = []

        def slot(match: re.Match[str], order: list[str] = order) -> str:
            name = match.group(1)
            if name not in order:
                order.append(name)
            if len(order) > len(slot_names):
                raise ValueError(f"a sentence names more than {len(slot_names)} objects")
            return slot_names[order.index(name)]

        text = finder.sub(slot, line) if finder is not None else line
        key = (text, tuple(objects[name] for name in order))
        found.setdefault(key, []).append(tuple(order))
        first.setdefault(key, line)
    return [
        Pattern(
            text,
            tuple(slot_names[: len(types)]),
            types,
            tuple(groundings),
            first[(text, types)],
        )
        for (text, types), groundings in found.items()
    ]
