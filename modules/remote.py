"""``remote``: a module whose work is done in another process, over the bus (and MQTT).

Each declared phase becomes a bus request on ``remote/<name>/<phase>`` carrying a snapshot of
working memory; whatever answers it (another process attached through the daemon's bus bridge,
``bridge.out: ["remote/#"]``) returns the phase's result as JSON. Proposals are lists of
``{"name", "action"?, "rationale"?}``; evaluations are lists of numbers, one per candidate. A
remote that does not answer within ``timeout`` seconds contributes nothing this cycle (counted
and logged), so a crashed helper process slows the agent down but never stops it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from cogos.bus import NoResponderError, RemoteHandlerError
from cogos.context import ComponentContext
from cogos.errors import RequestTimeout
from cogos.module import Module, Phase
from memory.cycle_records import Candidate
from memory.working import WorkingMemory

RemotePhase = Literal["propose", "evaluate"]
DEFAULT_PHASES: tuple[RemotePhase, ...] = ("propose",)


class RemoteOptions(BaseModel):
    """Options of ``remote``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    phases: list[RemotePhase] = Field(default_factory=lambda: list(DEFAULT_PHASES))
    topic: str | None = Field(default=None, description="request topic prefix (remote/<id>)")
    timeout: float = Field(default=2.0, gt=0)


class RemoteModule(Module[RemoteOptions]):
    """See the module docstring."""

    phases: ClassVar = frozenset({Phase.PROPOSE, Phase.EVALUATE})

    def __init__(self, ctx: ComponentContext) -> None:
        super().__init__(ctx)
        self.prefix = self.options.topic or f"remote/{ctx.name}"
        self.failures = 0

    async def _ask(self, phase: str, payload: dict[str, Any]) -> Any:
        try:
            reply = await self.ctx.bus.request(
                f"{self.prefix}/{phase}", payload, timeout=self.options.timeout, source=self.name
            )
        except (RequestTimeout, NoResponderError, RemoteHandlerError) as exc:
            self.failures += 1
            self.ctx.logger.warning("remote %s/%s: %s", self.prefix, phase, exc)
            return None
        return reply.payload

    async def propose(self, wm: WorkingMemory) -> Sequence[Candidate]:
        if "propose" not in self.options.phases:
            return []
        answer = await self._ask("propose", wm.snapshot())
        if not isinstance(answer, list):
            return []
        names = wm.action_names
        out = []
        for item in answer:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                continue
            name = item["name"]
            action = item.get("action", names.index(name) if name in names else name)
            rationale = str(item.get("rationale", ""))
            out.append(Candidate(name, action, source=self.name, rationale=rationale))
        return out

    async def evaluate(self, wm: WorkingMemory, candidates: Sequence[Candidate]) -> Sequence[float]:
        if "evaluate" not in self.options.phases or not candidates:
            return [0.0] * len(candidates)
        answer = await self._ask(
            "evaluate", {**wm.snapshot(), "candidates": [c.to_json() for c in candidates]}
        )
        if not isinstance(answer, list) or len(answer) != len(candidates):
            return [0.0] * len(candidates)
        try:
            return [float(v) for v in answer]
        except (TypeError, ValueError):
            return [0.0] * len(candidates)
