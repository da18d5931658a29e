"""``llm``: the model chooses the actions directly (the baseline neuro-symbolic agents beat).

Each cycle the model ranks the actions available now (the admissible commands, or the env's
action names) given the task, the percept and lessons from memory. Its answer is parsed and
checked (only available actions count); the best-scored action is taken. A rejection (the
critic vetoed it, or the model failed) goes back into the next prompt. If the model cannot be
used at all this cycle, the policy takes a random available action and says so (counted as a
fallback), or, with ``llm.on_failure: stop``, the run stops with the model's error.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from cogos.config import RunConfig
from cogos.context import ComponentContext
from cogos.episode import EpisodeStart, EpisodeSummary
from cogos.policy import Policy
from memory.cycle_records import Candidate, Rejection
from memory.working import WorkingMemory
from modules.llm.chat import preflight
from modules.llm.client import LLMError
from modules.llm.component_llm import ComponentLLM
from modules.llm.reasoning import rank_actions


class LLMPolicyOptions(BaseModel):
    """Options of the ``llm`` policy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    k: int = Field(default=3, ge=1, description="actions the model ranks per cycle")
    lessons: int = Field(default=3, ge=0)


def available(wm: WorkingMemory) -> list[tuple[str, object]]:
    """(name, native action) pairs the agent can take now."""
    if wm.percept.affordances:
        return [(a, a) for a in wm.percept.affordances]
    return [(name, i) for i, name in enumerate(wm.action_names)]


class LLMPolicy(Policy[LLMPolicyOptions]):
    """See the module docstring."""

    @classmethod
    def check_config(cls, config: RunConfig) -> None:
        preflight(config.llm, "policy 'llm'")

    def __init__(self, ctx: ComponentContext) -> None:
        super().__init__(ctx)
        self.llm = ComponentLLM(ctx, "policy 'llm'")

    async def begin_episode(self, episode: EpisodeStart) -> None:
        await super().begin_episode(episode)
        await self.llm.begin_episode(episode, self.options.lessons)

    async def end_episode(self, summary: EpisodeSummary) -> None:
        self.llm.end_episode(summary)

    async def propose(self, wm: WorkingMemory) -> Sequence[Candidate]:
        actions = available(wm)
        native = dict(actions)
        try:
            answer = await rank_actions(
                self.llm.client,
                wm.goal_text,
                wm.percept.text,
                [name for name, _ in actions],
                k=self.options.k,
                lessons=self.llm.lessons,
                feedback=[r.reason for r in wm.rejections],
            )
        except LLMError as exc:
            self.llm.fall_back(exc)
            order = self.rng.permutation(len(actions))
            return [
                Candidate(
                    actions[i][0], actions[i][1], source=self.name, rationale=f"random: {exc}"
                )
                for i in order[:1]
            ]
        return [
            Candidate(
                r.action,
                native[r.action],
                source=self.name,
                args={"score": r.score},
                rationale=r.reason,
            )
            for r in answer.value.actions
        ]

    async def evaluate(self, wm: WorkingMemory, candidates: Sequence[Candidate]) -> Sequence[float]:
        return [float(c.args.get("score", 0.0)) for c in candidates]

    async def select(
        self, wm: WorkingMemory, candidates: Sequence[Candidate], values: Sequence[float]
    ) -> Candidate | Rejection:
        if not candidates:
            return Rejection("no action is available", by=self.name)
        return candidates[max(range(len(candidates)), key=values.__getitem__)]
