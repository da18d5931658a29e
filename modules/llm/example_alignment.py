"""The worked example read sentence by sentence, to show a model the answer it should give.

A data set gives an example task's text and its PDDL problem, not which sentence states which
fact. That pairing is recovered here without knowing the domain: each fact goes to the sentence
that names the most of its objects, then shares the most words with its predicate's name
("Your arm is empty." for ``arm-empty``, "The robots' grippers are free." for ``free``). The
pairing is used only when it is consistent: sentences of one pattern must read the same way
once lifted, and every fact must find a sentence; otherwise the example is shown as text and
PDDL only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from memory.cycle_records import Atom
from modules.llm.object_families import Family, quantify
from modules.llm.task_text import lift, sentences
from modules.planning.problem_parts import ProblemParts

_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class ReadSentence:
    """One sentence of the example with its part and facts."""

    sentence: str
    part: str
    facts: tuple[Atom, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "sentence": self.sentence,
            "part": self.part,
            "facts": [list(a) for a in self.facts],
        }


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def _words(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text.lower())}


def _overlap(atom: Atom, sentence: str) -> int:
    """Words the sentence shares with the predicate's name (``arm-empty``: arm, empty)."""
    words = _words(sentence)
    return sum(w in words for w in _words(atom[0].replace("-", " ").replace("_", " ")))


def _says(score: tuple[bool, bool, int, int, int], arity: int) -> bool:
    """A sentence can state a fact if it names all its objects, or shares a word with it."""
    every, _, overlap, _, _ = score
    return overlap > 0 or (every and arity > 0)


def align(text: str, problem: ProblemParts) -> list[ReadSentence] | None:
    """Each sentence of ``text`` with the facts of ``problem`` it states; None if unsure.

    A fact goes to the sentence that, in order: names all its objects; reads alike in every
    sentence of its pattern (the lifted fact holds for each of them: "Nothing is on block b3."
    states ``clear b3`` because "Nothing is on block b1." states ``clear b1``); shares the most
    words with its predicate; names the fewest other objects; comes first.
    """
    lines = sentences(text)
    objects = dict(problem.objects)
    shapes = {(p.text, p.slot_types): p for p in lift(lines, objects)}
    own = [lift([line], objects)[0] for line in lines]
    mine = [(shapes[(p.text, p.slot_types)], p.groundings[0]) for p in own]
    facts: list[list[Atom]] = [[] for _ in lines]
    parts = ["neither"] * len(lines)
    for part, atoms in (("init", problem.init), ("goal", problem.goal)):

        def score(
            atom: Atom, i: int, atoms: frozenset[Atom] = atoms
        ) -> tuple[bool, bool, int, int, int]:
            pattern, named = mine[i]
            args = atom[1:]
            hits = sum(a in named for a in args)
            binding = dict(zip(named, pattern.slots, strict=True))
            lifted = [tuple(binding.get(a, a) for a in atom)]
            alike = pattern.ground(lifted) <= atoms
            extra = len(set(named) - set(args))
            return hits == len(args), alike, _overlap(atom, lines[i]), -extra, hits

        for atom in sorted(atoms):
            scores = [score(atom, i) for i in range(len(lines))]
            best = max(scores)
            if not _says(best, len(atom) - 1):
                return None  # no sentence says it
            fits = [
                i for i, sc in enumerate(scores) if sc == best and parts[i] in (part, "neither")
            ]
            if not fits:
                return None  # only a sentence of the other part could: not a pairing
            index = next((i for i in fits if parts[i] == part), fits[0])
            parts[index] = part
            facts[index].append(atom)
    readings = [
        ReadSentence(line, part, tuple(found))
        for line, part, found in zip(lines, parts, facts, strict=True)
    ]
    return readings if _consistent(readings, objects) else None


def _consistent(readings: Sequence[ReadSentence], objects: dict[str, str]) -> bool:
    """Sentences of one pattern were read alike (same part, same lifted facts)."""
    seen: dict[tuple[str, tuple[str, ...]], tuple[str, frozenset[Atom]]] = {}
    for reading in readings:
        pattern = lift([reading.sentence], objects)[0]
        lifted = (reading.part, frozenset(pattern.lift_facts(reading.facts)))
        key = (pattern.text, pattern.slot_types)
        if seen.setdefault(key, lifted) != lifted:
            return False
    return True


def demonstration(readings: Sequence[ReadSentence], objects: dict[str, str]) -> list[ReadSentence]:
    """One sentence of each pattern: what the prompt shows (the others read the same way)."""
    shown: dict[tuple[str, tuple[str, ...]], ReadSentence] = {}
    for reading in readings:
        pattern = lift([reading.sentence], objects)[0]
        shown.setdefault((pattern.text, pattern.slot_types), reading)
    return list(shown.values())


Reading = tuple[str, tuple[Atom, ...]]
"""A pattern's part and its facts in its slots."""


def known_readings(
    readings: Sequence[ReadSentence],
    objects: dict[str, str],
    families: Sequence[Family] = (),
) -> dict[tuple[str, tuple[str, ...]], Reading]:
    """The example's patterns (by shape and slot types) whose facts it shows how to ground.

    A task sentence of the same shape states the same facts of its own objects, so it can be
    read without a model: when its facts are all in its slots, or are one template over each
    owner of a family ("The robots' grippers are free.": ``free <robot> lgripper<robot>``, see
    :mod:`modules.llm.object_families`). A pattern whose facts name other objects of the
    example is left to the model.
    """
    out: dict[tuple[str, tuple[str, ...]], Reading] = {}
    for reading in readings:
        pattern = lift([reading.sentence], objects)[0]
        key = (pattern.shape, pattern.slot_types)
        lifted = tuple(pattern.lift_facts(reading.facts))
        if all(arg in pattern.slots for atom in lifted for arg in atom[1:]):
            out[key] = (reading.part, lifted)
        elif families and (quantified := quantify(lifted, families, objects)) is not None:
            out[key] = (reading.part, quantified)
    return out
