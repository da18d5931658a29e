"""How a decision cycle becomes an episodic event in long-term memory.

One cycle, one event: its text says what was perceived and what was done (so it can be found by
search), its facts are the percept's, and its decision record holds the candidates with their
values, the choice and the outcome (so "why did the agent do X" is answered from memory alone).
"""

from __future__ import annotations

import numpy as np

from memory.cycle_records import CycleRecord
from memory.entries import Entry


def event_from_cycle(record: CycleRecord) -> Entry:
    choice = record.decision.chosen
    outcome = record.outcome
    text = f"{record.percept.text} I chose {choice.name}.".strip()
    if outcome.reward:
        text += f" Reward {outcome.reward:g}."
    if outcome.terminated:
        text += " The episode ended." if not outcome.success else " I reached the goal."
    return Entry(
        kind="event",
        text=text,
        facts=record.percept.sorted_facts(),
        episode=record.episode_id or f"{record.agent}:{record.episode}",
        agent=record.agent,
        time=record.timestamp,
        decision={**record.decision.to_json(), "outcome": outcome.to_json()},
        metadata={
            "cycle": record.cycle,
            "step": record.step,
            "action": choice.name,
            "reward": outcome.reward,
        },
        vector=None
        if record.percept.embedding is None
        else np.asarray(record.percept.embedding, dtype=np.float32),
    )
