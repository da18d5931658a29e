"""The kernel's view of one environment step (made by :class:`cogos.env_handle.EnvHandle`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from memory.cycle_records import Atom


@dataclass(frozen=True, slots=True)
class Observation:
    """``env.step``'s five values, plus the facts and text the environment put in ``info``."""

    obs: Any
    reward: float
    terminated: bool
    truncated: bool
    info: Mapping[str, Any]
    facts: frozenset[Atom]
    text: str
    affordances: tuple[str, ...] = ()

    @property
    def success(self) -> bool:
        """``info["success"]`` when the env reports it, else "terminated without truncation"."""
        return bool(self.info.get("success", self.terminated and not self.truncated))
