"""The reasoning steps, each a prompt file plus a schema plus a check against the world.

* :func:`translate_goal`: task text -> PDDL goal atoms (LLM+P, Liu et al. 2023);
* :func:`decompose`: task text -> ordered subgoals, each reached by the planner (both through
  :func:`ask_atom_sets`, which asks either question and checks the atoms the same way);
* :func:`rank_actions`: percept + admissible actions -> scored candidates;
* :func:`reflect`: a finished episode -> a one-sentence lesson.

The checks reject answers that name predicates or objects that do not exist (with the wrong
arity, or actions that are not admissible now); the client shows the reason to the model and
asks again. ``feedback`` carries a planner's verdict on an earlier answer into the prompt.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel

from memory.cycle_records import Atom
from modules.llm.client import Answer, LLMClient
from modules.llm.prompting import render, section
from modules.llm.schemas import (
    LESSON_SCHEMA,
    ActionAnswer,
    GoalAnswer,
    JsonSchema,
    LessonAnswer,
    SubgoalAnswer,
    action_schema,
    goal_schema,
    subgoal_schema,
)


def _listing(
    predicates: Mapping[str, int],
    objects: Mapping[str, str],
    signatures: Mapping[str, Sequence[str]] | None = None,
) -> tuple[str, str]:
    """The vocabulary as the prompt shows it.

    Each predicate with its argument types where the domain gives them
    (``(in ?thing ?receptacle)``), and the objects grouped by type.
    """
    lines = []
    for name, arity in predicates.items():  # in the order given: the domain's, or the config's
        sig = (signatures or {}).get(name)
        lines.append(
            f"- ({' '.join([name, *(f'?{t}' for t in sig)])})"
            if sig is not None
            else f"- {name}/{arity}"
        )
    by_type: dict[str, list[str]] = {}
    for name, kind in objects.items():
        by_type.setdefault(kind, []).append(name)
    objs = "\n".join(
        f"- {kind}: {', '.join(sorted(names))}" for kind, names in sorted(by_type.items())
    )
    return "\n".join(lines), objs


def check_atoms(
    atoms: Sequence[Sequence[str]], predicates: Mapping[str, int], objects: Mapping[str, str]
) -> str | None:
    """Why these atoms cannot be a goal here (unknown predicate, wrong arity, unknown object)."""
    for atom in atoms:
        if not atom:
            return "an atom is empty"
        name, args = atom[0], atom[1:]
        if name not in predicates:
            return f"unknown predicate {name!r} (known: {', '.join(sorted(predicates))})"
        if len(args) != predicates[name]:
            return f"{name} takes {predicates[name]} argument(s), got {len(args)}"
        missing = [a for a in args if a not in objects]
        if missing:
            return f"unknown object(s) {', '.join(map(repr, missing))} in {list(atom)}"
    return None


A = TypeVar("A", bound=BaseModel)


@dataclass(frozen=True)
class AtomSetsQuestion(Generic[A]):
    """A question answered with sets of ground atoms: the goal (one set) or subgoals (in order).

    Both are asked, checked and read the same way (see :func:`ask_atom_sets`); they differ only
    in the prompt, the answer's shape and its JSON schema.
    """

    prompt: str
    """The prompt file, also the answer's name in the usage counts and the spans."""
    answer: type[A]
    atom_sets: Callable[[A], Sequence[Sequence[Sequence[str]]]]
    """The answer's sets of atoms, in order."""
    json_schema: Callable[[JsonSchema], JsonSchema]
    """The answer's schema, given the schema of one atom."""


GOAL = AtomSetsQuestion("goal", GoalAnswer, lambda a: [a.goal], goal_schema)
SUBGOALS = AtomSetsQuestion("subgoals", SubgoalAnswer, lambda a: a.subgoals, subgoal_schema)


async def ask_atom_sets(
    question: AtomSetsQuestion[A],
    client: LLMClient,
    task: str,
    predicates: Mapping[str, int],
    objects: Mapping[str, str],
    *,
    lessons: Sequence[str] = (),
    feedback: Sequence[str] = (),
    atom: JsonSchema | None = None,
    signatures: Mapping[str, Sequence[str]] | None = None,
) -> tuple[list[frozenset[Atom]], Answer[A]]:
    """The task's ``question`` answered as sets of ground atoms, each checked against the world.

    ``atom`` (from :func:`~modules.llm.schemas.atom_schema`) constrains providers that can;
    ``signatures`` show each predicate's argument types in the prompt.
    """
    preds, objs = _listing(predicates, objects, signatures)
    system, user = render(
        question.prompt,
        task=task,
        predicates=preds,
        objects=objs,
        lessons=section("Lessons from earlier episodes", list(lessons)),
        feedback=section("Earlier answers were rejected", list(feedback)),
    )

    def check(answer: A) -> str | None:
        for atoms in question.atom_sets(answer):
            problem = check_atoms(atoms, predicates, objects)
            if problem:
                return problem
        return None

    answer = await client.ask(
        system,
        user,
        question.answer,
        check=check,
        what=question.prompt,
        json_schema=question.json_schema(atom) if atom is not None else None,
    )
    sets = [frozenset(tuple(a) for a in atoms) for atoms in question.atom_sets(answer.value)]
    return sets, answer


async def translate_goal(
    client: LLMClient,
    task: str,
    predicates: Mapping[str, int],
    objects: Mapping[str, str],
    *,
    lessons: Sequence[str] = (),
    feedback: Sequence[str] = (),
    atom: JsonSchema | None = None,
    signatures: Mapping[str, Sequence[str]] | None = None,
) -> tuple[frozenset[Atom], Answer[GoalAnswer]]:
    """The task's goal as ground atoms, checked against the world (see :func:`ask_atom_sets`)."""
    (goal,), answer = await ask_atom_sets(
        GOAL,
        client,
        task,
        predicates,
        objects,
        lessons=lessons,
        feedback=feedback,
        atom=atom,
        signatures=signatures,
    )
    return goal, answer


async def decompose(
    client: LLMClient,
    task: str,
    predicates: Mapping[str, int],
    objects: Mapping[str, str],
    *,
    lessons: Sequence[str] = (),
    feedback: Sequence[str] = (),
    atom: JsonSchema | None = None,
    signatures: Mapping[str, Sequence[str]] | None = None,
) -> tuple[list[frozenset[Atom]], Answer[SubgoalAnswer]]:
    """The task as ordered subgoals, each checked against the world (see :func:`ask_atom_sets`)."""
    return await ask_atom_sets(
        SUBGOALS,
        client,
        task,
        predicates,
        objects,
        lessons=lessons,
        feedback=feedback,
        atom=atom,
        signatures=signatures,
    )


async def rank_actions(
    client: LLMClient,
    task: str,
    percept: str,
    actions: Sequence[str],
    *,
    k: int = 3,
    lessons: Sequence[str] = (),
    feedback: Sequence[str] = (),
) -> Answer[ActionAnswer]:
    allowed = set(actions)
    system, user = render(
        "actions",
        task=task,
        percept=percept or "(nothing described)",
        actions="\n".join(f"- {a}" for a in actions),
        k=k,
        lessons=section("Lessons from earlier episodes", list(lessons)),
        feedback=section("Earlier choices were rejected", list(feedback)),
    )

    def check(answer: ActionAnswer) -> str | None:
        bad = [r.action for r in answer.actions if r.action not in allowed]
        return f"not among the actions available now: {bad}" if bad else None

    return await client.ask(
        system,
        user,
        ActionAnswer,
        check=check,
        what="actions",
        json_schema=action_schema(list(actions), k),
    )


async def reflect(
    client: LLMClient, task: str, outcome: str, steps: Sequence[str]
) -> Answer[LessonAnswer]:
    system, user = render(
        "reflect", task=task, outcome=outcome, steps="\n".join(f"- {s}" for s in steps[-15:])
    )
    return await client.ask(system, user, LessonAnswer, what="lesson", json_schema=LESSON_SCHEMA)
