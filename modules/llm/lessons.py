"""Lessons: short reflections stored in semantic memory and recalled into later prompts."""

from __future__ import annotations

import asyncio
from typing import Any

from cogos.long_term_memory import LongTermMemory
from memory.entries import Entry

LESSON_KEY = "lesson"


async def recall_lessons(memory: Any, task: str, k: int = 3) -> list[str]:
    """The lessons most relevant to ``task``, none without a memory OS.

    Those from the same task come first, newest first, then lessons from similar tasks (bm25
    over the lesson texts).
    """
    if not isinstance(memory, LongTermMemory) or not task or k <= 0:
        return []
    same = await asyncio.to_thread(memory.recent, k, {"kind": "fact", LESSON_KEY: 1, "task": task})
    lessons = [item.text for item in same]
    if len(lessons) < k:
        hits = await memory.asearch(
            task, k, {"kind": "fact", LESSON_KEY: 1}, mode="lexical", expand=0
        )
        lessons += [h.item.text for h in hits if h.item.text not in lessons]
    return lessons[:k]


async def store_lesson(
    memory: Any, task: str, lesson: str, *, success: bool, episode: str
) -> int | None:
    if not isinstance(memory, LongTermMemory):
        return None
    entry = Entry(
        "fact",
        text=lesson,
        metadata={LESSON_KEY: 1, "task": task, "success": success, "source": episode},
    )
    return await asyncio.to_thread(memory.remember, entry)
