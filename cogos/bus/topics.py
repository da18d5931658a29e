"""MQTT topic names and filters, with MQTT's own rules.

The internal bus uses the same syntax as MQTT so that a subtree can be bridged to a broker
without translation: levels split on ``/``; ``+`` matches exactly one level; ``#`` matches any
number of levels (including none) and may only be the last level; wildcards must fill a whole
level; a filter starting with a wildcard does not match topics starting with ``$`` (the bus keeps
its own notices under ``$bus/``, as brokers keep theirs under ``$SYS/``).
"""

from __future__ import annotations

from functools import lru_cache


def validate_topic(topic: str) -> None:
    """Reject names that cannot be published to (empty, wildcards, NUL)."""
    if not topic:
        raise ValueError("topic must not be empty")
    if "+" in topic or "#" in topic:
        raise ValueError(f"topic {topic!r} contains a wildcard; wildcards are for filters only")
    if "\x00" in topic:
        raise ValueError(f"topic {topic!r} contains a NUL character")


@lru_cache(maxsize=1024)
def compile_filter(topic_filter: str) -> tuple[str, ...]:
    """Split and validate a filter once; matching then works on the tuple of levels."""
    if not topic_filter:
        raise ValueError("topic filter must not be empty")
    levels = tuple(topic_filter.split("/"))
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            raise ValueError(
                f"topic filter {topic_filter!r}: '#' must be a whole level and the last one"
            )
        if "+" in level and level != "+":
            raise ValueError(f"topic filter {topic_filter!r}: '+' must be a whole level")
    return levels


def matches(levels: tuple[str, ...], topic: str) -> bool:
    """True if ``topic`` matches the compiled filter ``levels``."""
    parts = topic.split("/")
    if parts[0].startswith("$") and levels[0] in ("+", "#"):
        return False
    n = len(levels)
    for i, want in enumerate(levels):
        if want == "#":
            return True
        if i >= len(parts):
            return False
        if want != "+" and want != parts[i]:
            return False
    return n == len(parts)


def topic_matches(topic_filter: str, topic: str) -> bool:
    """Convenience form of :func:`matches` taking the filter as a string."""
    return matches(compile_filter(topic_filter), topic)
