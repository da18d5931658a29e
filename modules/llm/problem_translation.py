"""A task in English to a whole PDDL problem: objects with types, initial facts and goal.

Two constrained calls, each checked before it is used (LLM+P, Liu et al. 2023, with the
alignment that a small model needs):

1. **objects**: every name-like word of the task is a required key whose value is an enum of
   the domain's types (the model cannot skip one); then the objects the text leaves unnamed.
   Where the worked example shows their naming (``lgripperK`` for each ``robotK``), they are
   named here instead (:mod:`modules.llm.object_families`);
2. **facts**: the text is cut into sentences and lifted into patterns
   (:mod:`modules.llm.task_text`). A pattern the worked example also has is read the way the
   example reads it (:mod:`modules.llm.example_alignment`); the model reads the others, each
   spelled out in the schema, saying whether it states the initial state or the goal and which
   facts, each an alternative per predicate with every argument an enum of the objects of its
   type. Its answer is lifted to the pattern's slots and grounded once per sentence.

Measured with Qwen2.5-Coder-1.5B on blocksworld: asked for ``init`` and ``goal`` as lists, the
initial states came out reversed (``on b1 b3`` for "b3 is on top of b1"); asked sentence by
sentence, they came out right, but a sentence such as "You have 12 blocks." still grew facts
that the worked example shows it does not state. Nothing here knows a domain.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from memory.cycle_records import Atom
from modules.llm.client import Answer, LLMClient
from modules.llm.example_alignment import (
    Reading,
    ReadSentence,
    align,
    demonstration,
    known_readings,
)
from modules.llm.object_families import Family, expand, find_families, members
from modules.llm.prompting import render, section
from modules.llm.schemas import JsonSchema, atom_schema
from modules.llm.task_text import Pattern, lift, named_words, sentences
from modules.planning.domain import Domain
from modules.planning.ipc_problems import GeneratedProblem
from modules.planning.problem_parts import ProblemParts, read_problem

NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
"""An object name a PDDL reader takes (it lowercases it)."""
Part = Literal["init", "goal", "neither"]


@dataclass(frozen=True)
class WorkedExample:
    """A task with its PDDL problem (and maybe its plan): the model's worked example."""

    text: str
    problem_pddl: str
    problem: ProblemParts
    plan: str | None = None
    types: tuple[str, ...] = ()
    """The domain's object types (the objects step's answer lists every one)."""

    @classmethod
    def load(cls, text_path: Path, domain: Domain) -> WorkedExample:
        """``p_example.nl`` with ``p_example.pddl`` beside it (and ``p_example.sol`` if there)."""
        pddl_path = text_path.with_suffix(".pddl")
        text = text_path.read_text(encoding="utf-8")
        problem_pddl = pddl_path.read_text(encoding="utf-8")
        sol = text_path.with_suffix(".sol")
        plan = sol.read_text(encoding="utf-8") if sol.exists() else None
        problem = read_problem(domain.text, problem_pddl, str(pddl_path))
        return cls(text, problem_pddl, problem, plan, tuple(object_types(domain)))

    @cached_property
    def families(self) -> list[Family]:
        """The unnamed objects whose naming the example shows (``lgripperK`` per ``robotK``)."""
        problem = self.problem
        facts = problem.init | problem.goal
        return find_families(dict(problem.objects), named_words(self.text), facts)

    def derived_types(self) -> set[str]:
        """Types whose unnamed objects the model is not asked for.

        A family's type (its objects are named by the family) and its owners' type (the
        example names every robot: Qwen2.5-Coder-1.5B listed ``lgripper1`` as an unnamed robot
        on grippers p10, which made ``free lgripper1 lgripper1``).
        """
        return {f.kind for f in self.families} | {f.owner_type for f in self.families}

    def objects_answer(self) -> ObjectsAnswer:
        """The objects step's answer for this example (what the model is shown)."""
        return objects_answer_for(self.text, self.problem, self.types, self.derived_types())

    def implied_types(self) -> list[str]:
        """Types of which this example needs objects its text does not name."""
        return [kind for kind, names in self.objects_answer().others.items() if names]

    def objects_for(self, answer: ObjectsAnswer) -> dict[str, str]:
        """The objects of ``answer``, with each family's members for the task's owners.

        The model is not asked for unnamed objects of a family's type or of its owners' type;
        any it gives are dropped.
        """
        derived = self.derived_types()
        answer = answer.model_copy(
            update={"others": {k: v for k, v in answer.others.items() if k not in derived}}
        )
        objects = answer.objects()
        return {**members(self.families, objects), **objects}

    @cached_property
    def readings(self) -> list[ReadSentence] | None:
        """The example sentence by sentence (None when that pairing is not sure)."""
        return align(self.text, self.problem)

    def known(self) -> dict[tuple[str, tuple[str, ...]], Reading]:
        """How the example reads each of its sentence shapes (see ``known_readings``)."""
        readings = self.readings
        if readings is None:
            return {}
        return known_readings(readings, dict(self.problem.objects), self.families)

    def prompt(self) -> str:
        """The example as both steps show it: its objects, and its sentences read.

        Both steps' prompts begin alike (domain, example, task), so a server that keeps the last
        prompt's state (llama.cpp) reads that part once: the second call costs only its end.
        The sentences are shown read one by one when that pairing is sure, else as PDDL.
        """
        objects = self.objects_answer().model_dump_json()
        head = f"\nAn example task:\n{self.text.strip()}\n\nIts objects:\n{objects}\n\n"
        readings = self.readings
        if readings is None:
            return head + f"Its PDDL problem:\n{self.problem_pddl.strip()}\n"
        shown = demonstration(readings, dict(self.problem.objects))
        answer = {"sentences": [r.to_json() for r in shown]}
        return head + f"Its sentences (one of each kind), read:\n{json.dumps(answer)}\n"


@dataclass
class Translation:
    """What the model made of a task: the problem, and how it was read."""

    objects: dict[str, str]
    patterns: list[Pattern] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)
    facts: list[list[Atom]] = field(default_factory=list)
    """Per pattern, its facts with slots."""
    sources: list[str] = field(default_factory=list)
    """Per pattern, who read it: ``model``, or ``example`` (a shape the worked example shows)."""

    @property
    def init(self) -> frozenset[Atom]:
        return self._grounded("init")

    @property
    def goal(self) -> frozenset[Atom]:
        return self._grounded("goal")

    def _grounded(self, part: Part) -> frozenset[Atom]:
        out: set[Atom] = set()
        for pattern, which, atoms in zip(self.patterns, self.parts, self.facts, strict=True):
            if which == part:
                out |= pattern.ground(atoms)
        return frozenset(out)

    def problem(self, domain: Domain, name: str = "task") -> GeneratedProblem:
        return GeneratedProblem(
            name,
            domain.name,
            tuple(self.objects.items()),
            self.init,
            self.goal,
        )

    def readings(self) -> list[dict[str, Any]]:
        """Each pattern as the model read it (for the CLI and the bench's records)."""
        return [
            {
                "pattern": p.text,
                "sentences": len(p.groundings),
                "part": part,
                "facts": [list(a) for a in atoms],
                "read_by": source,
            }
            for p, part, atoms, source in zip(
                self.patterns, self.parts, self.facts, self.sources, strict=True
            )
        ]


class ObjectsAnswer(BaseModel):
    """The objects step's answer: the task's names typed, and the objects it leaves unnamed."""

    named: dict[str, str] = Field(default_factory=dict)
    """Each name-like word of the task -> its type (or ``NOT_AN_OBJECT``)."""
    others: dict[str, list[str]] = Field(default_factory=dict)
    """Objects the task does not name, by type."""

    def objects(self) -> dict[str, str]:
        """Lowercase name -> type."""
        out = {w.lower(): kind for w, kind in self.named.items() if kind != NOT_AN_OBJECT}
        out.update((n.lower(), kind) for kind, n in self.unnamed())
        return out

    def unnamed(self) -> list[tuple[str, str]]:
        """``(type, name)`` of the objects listed under ``others``.

        A small model fills a type it has nothing for with the word it was given for "not an
        object" (``"none"``): that is no name, and is dropped.
        """
        return [
            (kind, name)
            for kind, names in self.others.items()
            for name in names
            if name.lower() != NOT_AN_OBJECT
        ]


class SentenceReading(BaseModel):
    """One sentence of the facts step's answer."""

    sentence: str = ""
    part: Part
    facts: list[list[str]] = Field(default_factory=list)


class FactsAnswer(BaseModel):
    """The facts step's answer: one reading per sentence asked, in order."""

    sentences: list[SentenceReading]


def object_types(domain: Domain) -> list[str]:
    """The types an object can be declared with (``object`` in an untyped domain)."""
    return list(domain.types) or ["object"]


MAX_UNNAMED = 32
"""Unnamed objects of one type the objects step may list (a bound on a runaway answer)."""
NOT_AN_OBJECT = "none"
"""The type of a name-like word that is no object of the problem."""


def objects_answer_for(
    text: str, problem: ProblemParts, types: Sequence[str], derived: Collection[str] = ()
) -> ObjectsAnswer:
    """The right objects answer for ``text`` whose problem is ``problem`` (a worked example's).

    Unnamed objects of a ``derived`` type are left out (the model is not asked for them).
    """
    objects = dict(problem.objects)
    named = {w: objects.get(w.lower(), NOT_AN_OBJECT) for w in named_words(text)}
    said = {w.lower() for w in named}
    others: dict[str, list[str]] = {kind: [] for kind in types if kind not in derived}
    for name, kind in problem.objects:
        if name not in said and kind not in derived:
            others.setdefault(kind, []).append(name)
    return ObjectsAnswer(named=named, others=others)


def objects_schema(
    types: Sequence[str],
    named: Sequence[str],
    implied: Sequence[str] = (),
    derived: Collection[str] = (),
) -> JsonSchema:
    """Each named word typed (an enum: it cannot be skipped), then the unnamed objects.

    ``implied``: types of which the worked example needed objects its text never named: the
    answer lists at least one of each. ``derived``: types whose unnamed objects are not asked
    for (the example's naming gives them, :mod:`modules.llm.object_families`). Each list has at
    most :data:`MAX_UNNAMED` names: Qwen2.5-Coder-1.5B on grippers p18 wrote names until the
    server's context was full (2,591 tokens) and the answer could not be read.
    """
    names = {
        "type": "array",
        "items": {"type": "string", "pattern": NAME_PATTERN},
        "maxItems": MAX_UNNAMED,
    }
    unnamed = [t for t in types if t not in derived]
    at_least_one = {**names, "minItems": 1}
    return {
        "type": "object",
        "properties": {
            "named": {
                "type": "object",
                "properties": {w: {"enum": [*types, NOT_AN_OBJECT]} for w in named},
                "required": list(named),
                "additionalProperties": False,
            },
            "others": {
                "type": "object",
                "properties": {t: at_least_one if t in implied else names for t in unnamed},
                "required": unnamed,
                "additionalProperties": False,
            },
        },
        "required": ["named", "others"],
        "additionalProperties": False,
    }


def check_objects(answer: ObjectsAnswer, types: Sequence[str], named: Sequence[str]) -> str | None:
    """Every named word typed, known types, no name twice."""
    missing = [w for w in named if w not in answer.named]
    if missing:
        return f"the task names {', '.join(missing)}: give the type of each (or {NOT_AN_OBJECT!r})"
    seen = {w.lower(): kind for w, kind in answer.named.items()}
    for kind in [*seen.values(), *answer.others]:
        if kind not in types and kind != NOT_AN_OBJECT:
            return f"unknown type {kind!r} (the domain's types: {', '.join(types)})"
    for kind, name in answer.unnamed():
        low = name.lower()
        if seen.get(low, kind) != kind:
            return f"object {name!r} is given two types ({seen[low]} and {kind})"
        seen[low] = kind
    if not answer.objects():
        return "no objects: list every object the task involves"
    return None


def facts_schema(
    domain: Domain, objects: Mapping[str, str], patterns: Sequence[Pattern]
) -> JsonSchema:
    """One item per pattern, in order, its sentence spelled out; facts typed over the objects."""
    atom = atom_schema(domain.signatures, objects, domain.subtypes)
    items = [
        {
            "type": "object",
            "properties": {
                "sentence": {"const": pattern.example},
                "part": {"enum": ["init", "goal", "neither"]},
                "facts": {"type": "array", "items": atom},
            },
            "required": ["sentence", "part", "facts"],
            "additionalProperties": False,
        }
        for pattern in patterns
    ]
    readings = {
        "type": "array",
        "prefixItems": items,
        "items": False,
        "minItems": len(items),
        "maxItems": len(items),
    }
    return {
        "type": "object",
        "properties": {"sentences": readings},
        "required": ["sentences"],
        "additionalProperties": False,
    }


def check_atom(atom: Sequence[str], domain: Domain, scope: Mapping[str, str]) -> str | None:
    """Why ``atom`` is not a fact of this problem (predicate, arity, object, type), or None."""
    if not atom:
        return "a fact is empty"
    name, args = atom[0], atom[1:]
    signature = domain.signatures.get(name)
    if signature is None:
        return f"unknown predicate {name!r} (the domain's: {', '.join(domain.signatures)})"
    if len(args) != len(signature):
        return f"{name} takes {len(signature)} argument(s), got {len(args)} in {list(atom)}"
    for arg, wanted in zip(args, signature, strict=True):
        kind = scope.get(arg)
        if kind is None:
            return f"unknown object {arg!r} in {list(atom)}"
        if kind not in domain.subtypes(wanted) and kind in domain.subtypes("object"):
            return f"{arg!r} is a {kind}, but {name} takes a {wanted} there ({list(atom)})"
    return None


def check_facts(
    answer: FactsAnswer, domain: Domain, objects: Mapping[str, str], patterns: Sequence[Pattern]
) -> str | None:
    if len(answer.sentences) != len(patterns):
        return f"{len(patterns)} sentences were listed, the answer reads {len(answer.sentences)}"
    for i, (reading, pattern) in enumerate(zip(answer.sentences, patterns, strict=True), 1):
        for atom in reading.facts:
            problem = check_atom(atom, domain, objects)
            if problem is not None:
                return f"sentence {i} ({pattern.example!r}): {problem}"
    return None


def _render(
    prompt: str,
    domain: Domain,
    domain_text: str | None,
    example: WorkedExample | None,
    task: str,
    feedback: Sequence[str],
    **fields: str,
) -> tuple[str, str]:
    """Both steps' prompts: the same beginning (domain, description, example, task)."""
    return render(
        prompt,
        domain=domain.text.strip(),
        domain_text=f"\n{domain_text.strip()}\n" if domain_text else "",
        example=example.prompt() if example is not None else "",
        task=task.strip(),
        feedback=section("Earlier answers were rejected", list(feedback)),
        **fields,
    )


async def translate_objects(
    client: LLMClient,
    domain: Domain,
    task: str,
    *,
    example: WorkedExample | None = None,
    domain_text: str | None = None,
    feedback: Sequence[str] = (),
) -> tuple[dict[str, str], Answer[ObjectsAnswer]]:
    """The problem's objects (lowercase name -> type), checked: known types, no name twice."""
    types = object_types(domain)
    system, user = _render(
        "problem_objects",
        domain,
        domain_text,
        example,
        task,
        feedback,
        types=", ".join(types),
        none=NOT_AN_OBJECT,
    )
    named = named_words(task)
    answer = await client.ask(
        system,
        user,
        ObjectsAnswer,
        check=lambda a: check_objects(a, types, named),
        what="problem objects",
        json_schema=objects_schema(
            types,
            named,
            example.implied_types() if example else (),
            example.derived_types() if example else (),
        ),
    )
    objects = example.objects_for(answer.value) if example else answer.value.objects()
    return objects, answer


def _sentence_lines(patterns: Sequence[Pattern]) -> str:
    lines = []
    for i, p in enumerate(patterns, 1):
        more = len(p.groundings) - 1
        alike = f"  ({more} more sentence{'s' if more > 1 else ''} like it)" if more else ""
        lines.append(f"{i}. {p.example}{alike}")
    return "\n".join(lines)


async def translate_facts(
    client: LLMClient,
    domain: Domain,
    task: str,
    objects: Mapping[str, str],
    *,
    example: WorkedExample | None = None,
    domain_text: str | None = None,
    feedback: Sequence[str] = (),
    reuse_example: bool = True,
) -> tuple[Translation, Answer[FactsAnswer] | None]:
    """Read every sentence pattern of ``task`` into facts of the initial state or the goal.

    Patterns of a shape the worked example shows are read as the example reads them (unless
    ``reuse_example`` is off); the model reads the others, in one call. The answer is None when
    the model had nothing to read.
    """
    patterns = lift(sentences(task), objects)
    known = example.known() if example is not None and reuse_example else {}
    ask = [p for p in patterns if (p.shape, p.slot_types) not in known]
    answer: Answer[FactsAnswer] | None = None
    read: dict[int, tuple[Part, list[Atom]]] = {}
    if ask:
        answer = await _ask_facts(
            client, domain, task, objects, ask, example, domain_text, feedback
        )
        for pattern, reading in zip(ask, answer.value.sentences, strict=True):
            read[id(pattern)] = (reading.part, pattern.lift_facts(reading.facts))
    translation = Translation(dict(objects), patterns)
    for pattern in patterns:
        if id(pattern) in read:
            part, atoms = read[id(pattern)]
            source = "model"
        else:
            found, lifted = known[(pattern.shape, pattern.slot_types)]
            part, atoms, source = _part(found), expand(lifted, objects), "example"
        translation.parts.append(part)
        translation.facts.append(atoms)
        translation.sources.append(source)
    return translation, answer


def _part(name: str) -> Part:
    return "init" if name == "init" else "goal" if name == "goal" else "neither"


async def _ask_facts(
    client: LLMClient,
    domain: Domain,
    task: str,
    objects: Mapping[str, str],
    patterns: Sequence[Pattern],
    example: WorkedExample | None,
    domain_text: str | None,
    feedback: Sequence[str],
) -> Answer[FactsAnswer]:
    by_type: dict[str, list[str]] = {}
    for name, kind in objects.items():
        by_type.setdefault(kind, []).append(name)
    system, user = _render(
        "problem_facts",
        domain,
        domain_text,
        example,
        task,
        feedback,
        objects="\n".join(f"- {kind}: {', '.join(names)}" for kind, names in by_type.items()),
        sentences=_sentence_lines(patterns),
    )
    return await client.ask(
        system,
        user,
        FactsAnswer,
        check=lambda a: check_facts(a, domain, objects, patterns),
        what="problem facts",
        json_schema=facts_schema(domain, objects, patterns),
    )
