"""The typed shapes LLM answers must parse into (JSON in, pydantic out; never code)."""

from __future__ import annotations

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
