"""The typed shapes LLM answers must parse into (JSON in, pydantic out; never code)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, Field


class GoalAnswer(BaseModel):
    """The goal as ground atoms (all must hold)."""

    goal: list[list[str]] = Field(min_length=1)


class SubgoalAnswer(BaseModel):
    """Ordered subgoals, each a conjunction of ground atoms."""

    subgoals: list[list[list[str]]] = Field(min_length=1)


class RankedAction(BaseModel):
    """One available action with the model's score and reason."""

    action: str
    score: float = Field(ge=0, le=1)
    reason: str = ""


class ActionAnswer(BaseModel):
    """The model's ranking of the available actions."""

    actions: list[RankedAction] = Field(min_length=1)


class LessonAnswer(BaseModel):
    """A one-sentence lesson from an episode."""

    lesson: str = Field(min_length=1, max_length=400)


# JSON schemas built from the world, for providers that constrain decoding to a schema
# (llm.structured_output): the model can then only name predicates, objects and actions that
# exist, each argument of the type the domain declares. Measured with Qwen2.5-Coder-1.5B on
# household goals: enums of names alone gave 2/6 right goals, one typed alternative per
# predicate 6/6.

JsonSchema = dict[str, Any]


def _object(properties: JsonSchema, required: list[str]) -> JsonSchema:
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def atom_schema(
    signatures: Mapping[str, Sequence[str]],
    objects: Mapping[str, str],
    subtypes: Callable[[str], set[str]],
) -> JsonSchema:
    """One alternative per predicate: ``[name, arg1, ...]``.

    Each argument is an enum of the objects of its parameter's type; an object of no type the
    domain knows (``object``, or an environment's own kind such as ``fridge``) fits every one.
    """
    known = subtypes("object") - {"object"}
    alternatives = []
    for name, params in signatures.items():
        slots: list[JsonSchema] = [{"const": name}]
        for param in params:
            fits = subtypes(param)
            names = sorted(o for o, kind in objects.items() if kind in fits or kind not in known)
            if not names:
                break
            slots.append({"enum": names})
        else:
            alternatives.append(
                {
                    "type": "array",
                    "prefixItems": slots,
                    "items": False,
                    "minItems": len(slots),
                    "maxItems": len(slots),
                }
            )
    return {"anyOf": alternatives}


def goal_schema(atom: JsonSchema) -> JsonSchema:
    return _object({"goal": {"type": "array", "items": atom, "minItems": 1}}, ["goal"])


def subgoal_schema(atom: JsonSchema) -> JsonSchema:
    conjunction = {"type": "array", "items": atom, "minItems": 1}
    return _object(
        {"subgoals": {"type": "array", "items": conjunction, "minItems": 1}}, ["subgoals"]
    )


def action_schema(actions: Sequence[str], k: int) -> JsonSchema:
    ranked = _object(
        {
            "action": {"enum": list(actions)},
            "score": {"type": "number", "minimum": 0, "maximum": 1},
            "reason": {"type": "string"},
        },
        ["action", "score", "reason"],
    )
    return _object(
        {"actions": {"type": "array", "items": ranked, "minItems": 1, "maxItems": k}}, ["actions"]
    )


LESSON_SCHEMA: JsonSchema = _object(
    {"lesson": {"type": "string", "minLength": 1, "maxLength": 400}}, ["lesson"]
)
