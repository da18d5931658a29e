"""``learning.reflect``: after each episode, write its outcome and a lesson to semantic memory.

With an LLM configured the lesson is the model's one-sentence reflection on the episode (its
task, outcome and last steps); without one it is a plain record of the outcome ("succeeded at
... in 12 steps"). Either way it is stored as a ``fact`` marked ``lesson: 1`` with the task, and
the LLM components recall the lessons relevant to a new task into their prompts. Needs a memory
OS (``memory.path``); without one it does nothing.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from cogos.context import ComponentContext
from cogos.episode import EpisodeStart, EpisodeSummary
from cogos.module import Module, Phase
from memory.cycle_records import CycleRecord
from memory.working import WorkingMemory
from modules.llm.client import LLMClient, LLMError
from modules.llm.component_llm import ComponentLLM
from modules.llm.lessons import store_lesson


class ReflectOptions(BaseModel):
    """Options of ``learning.reflect``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    use_llm: bool = True


class ReflectionModule(Module[ReflectOptions]):
    """See the module docstring."""

    phases: ClassVar = frozenset({Phase.LEARN})

    def __init__(self, ctx: ComponentContext) -> None:
        super().__init__(ctx)
        # no model configured: the lesson is a plain record of the outcome (not an error)
        self.llm = (
            ComponentLLM(ctx, f"module {ctx.name!r}")
            if self.options.use_llm and ctx.llm is not None
            else None
        )
        self.steps: list[str] = []
        self.task = ""
        self.episode_id = ""

    async def begin_episode(self, episode: EpisodeStart) -> None:
        self.steps = []
        self.task = episode.goal_text
        self.episode_id = episode.episode_id

    async def learn(self, record: CycleRecord, wm: WorkingMemory) -> None:
        ok = record.outcome.info.get("action_success", True)
        self.steps.append(f"{record.decision.chosen.name}{'' if ok else ' (failed)'}")

    async def end_episode(self, summary: EpisodeSummary) -> None:
        outcome = (
            f"succeeded in {summary.steps} steps"
            if summary.success
            else f"failed after {summary.steps} steps"
        )
        lesson = f"Task '{self.task}': {outcome}."
        if self.llm is not None:
            try:
                lesson = await _reflect(self.llm.client, self.task, outcome, self.steps)
            except LLMError as exc:
                self.ctx.logger.warning("no lesson from the model: %s", exc)
            self.llm.end_episode(summary)
        await store_lesson(
            self.ctx.memory, self.task, lesson, success=summary.success, episode=self.episode_id
        )


async def _reflect(client: LLMClient, task: str, outcome: str, steps: list[str]) -> str:
    from modules.llm.reasoning import reflect

    answer = await reflect(client, task, outcome, steps)
    return answer.value.lesson
