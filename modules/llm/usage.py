"""Token and call accounting: each LLM component adds its usage to the episode summary."""

from __future__ import annotations

from typing import Any

from modules.llm.client import Usage


def add_usage(extra: dict[str, Any], usage: Usage) -> None:
    """Add ``usage`` into ``extra["llm"]`` (several components share one episode's total)."""
    total = extra.setdefault("llm", {})
    for key, value in usage.to_json().items():
        if isinstance(value, dict):
            merged = total.setdefault(key, {})
            for cause, count in value.items():
                merged[cause] = merged.get(cause, 0) + count
        else:
            total[key] = total.get(key, 0) + value
