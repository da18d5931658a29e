"""Typed records of one decision cycle: percept, candidates, decision, outcome.

They are frozen where they are shared (a candidate may sit in working memory, in a trace line and
in a bus message at once) and convert to plain JSON with ``to_json`` for traces, the WAL and MQTT.
Actions are kept as the environment's native value *and* a name, so records stay readable and a
replay can re-issue the native action.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Atom = tuple[str, ...]
"""A ground atom ``(predicate, arg1, ...)``."""

ActionKind = Literal["external", "internal"]


def to_jsonable(value: Any) -> Any:
    """Plain-JSON form of records (their ``to_json``), containers, and numpy values.

    Traces, the WAL and the MQTT bridge all serialise through this one function.
    """
    if value is None or isinstance(value, bool | int | float | str):
        return value
    to_json = getattr(value, "to_json", None)
    if callable(to_json):
        return to_json()
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    item = getattr(value, "item", None)  # numpy scalar
    if callable(item):
        return to_jsonable(item())
    tolist = getattr(value, "tolist", None)  # numpy array
    if callable(tolist):
        return to_jsonable(tolist())
    return repr(value)


@dataclass(frozen=True, slots=True)
class Percept:
    """What perception made of one observation: facts, text, admissible actions, maybe a vector.

    ``affordances`` are the actions the environment says are admissible now (text commands such
    as ``"take apple 1 from countertop 1"``); environments with a fixed discrete action set leave
    it empty and policies use the env's action names instead.
    """

    facts: frozenset[Atom] = frozenset()
    text: str = ""
    embedding: tuple[float, ...] | None = None
    affordances: tuple[str, ...] = ()
    _sorted: tuple[Atom, ...] | None = field(default=None, init=False, repr=False, compare=False)

    def sorted_facts(self) -> tuple[Atom, ...]:
        """The facts in a stable order, as records and events keep them: sorted once.

        A set's order changes with the process's string hashing; sorting ~150 facts costs
        ~30 µs, which the daemon pays after its reply, while the environment acts, rather than
        when the next observation concludes the cycle.
        """
        cached = self._sorted
        if cached is None:
            cached = tuple(sorted(self.facts))
            object.__setattr__(self, "_sorted", cached)
        return cached

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"facts": list(map(list, self.sorted_facts())), "text": self.text}
        if self.embedding is not None:
            out["embedding_dim"] = len(self.embedding)
        if self.affordances:
            out["affordances"] = list(self.affordances)
        return out


@dataclass(frozen=True, slots=True)
class RetrievedItem:
    """One memory brought into working memory by a retrieval module, with its score."""

    kind: str
    content: Any
    score: float = 0.0
    source: str = ""
    ref: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "content": to_jsonable(self.content),
            "score": self.score,
            "source": self.source,
            "ref": self.ref,
        }


@dataclass(frozen=True, slots=True)
class Candidate:
    """A proposed action.

    ``external`` candidates carry the environment's native ``action``; ``internal`` ones (learning,
    reasoning) name the module that executes them in ``target`` and carry ``args``.
    """

    name: str
    action: Any = None
    kind: ActionKind = "external"
    source: str = ""
    target: str | None = None
    args: Mapping[str, Any] = field(default_factory=dict)
    rationale: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "source": self.source}
        if self.kind == "external":
            out["action"] = to_jsonable(self.action)
        if self.target is not None:
            out["target"] = self.target
        if self.args:
            out["args"] = to_jsonable(self.args)
        if self.rationale:
            out["rationale"] = self.rationale
        return out


@dataclass(frozen=True, slots=True)
class Rejection:
    """A verdict against a proposal (by the policy's select or a critic module), with the reason.

    The reason is put back into working memory so that the next proposal round can avoid it.
    """

    reason: str
    by: str
    candidate: Candidate | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "by": self.by,
            "candidate": None if self.candidate is None else self.candidate.name,
        }


@dataclass(frozen=True, slots=True)
class Attempt:
    """One propose -> evaluate -> select round of a cycle."""

    candidates: tuple[Candidate, ...]
    values: tuple[float, ...]
    choice: Candidate | None
    rejection: Rejection | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "candidates": [
                {**c.to_json(), "value": v}
                for c, v in zip(self.candidates, self.values, strict=True)
            ],
            "choice": None if self.choice is None else self.choice.name,
            "rejection": None if self.rejection is None else self.rejection.to_json(),
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of the select phase: the chosen candidate and the rounds that led to it.

    ``forced`` is True when every round was rejected and the cycle fell back to the best
    candidate of the last round, which the trace makes visible rather than hiding.
    """

    chosen: Candidate
    value: float
    attempts: tuple[Attempt, ...]
    forced: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "choice": self.chosen.to_json(),
            "value": self.value,
            "forced": self.forced,
            "attempts": [a.to_json() for a in self.attempts],
        }


@dataclass(frozen=True, slots=True)
class Outcome:
    """What executing the chosen action did."""

    reward: float = 0.0
    terminated: bool = False
    truncated: bool = False
    success: bool | None = None
    info: Mapping[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.terminated or self.truncated

    def to_json(self) -> dict[str, Any]:
        return {
            "reward": self.reward,
            "terminated": self.terminated,
            "truncated": self.truncated,
            "success": self.success,
            "info": to_jsonable(self.info),
        }


@dataclass(frozen=True, slots=True)
class CycleRecord:
    """Everything one decision cycle did; one trace line and, with a memory OS, one WAL record."""

    agent: str
    episode: int
    cycle: int
    step: int
    timestamp: float
    percept: Percept
    retrieved: Sequence[RetrievedItem]
    decision: Decision
    outcome: Outcome
    durations: Mapping[str, float] = field(default_factory=dict)
    episode_id: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "cycle",
            "agent": self.agent,
            "episode": self.episode,
            "episode_id": self.episode_id,
            "cycle": self.cycle,
            "step": self.step,
            "timestamp": self.timestamp,
            "percept": self.percept.to_json(),
            "retrieved": [r.to_json() for r in self.retrieved],
            "decision": self.decision.to_json(),
            "outcome": self.outcome.to_json(),
            "durations_us": {k: round(v * 1e6, 1) for k, v in self.durations.items()},
        }
