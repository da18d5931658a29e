"""``key=value`` overrides from the command line, e.g. ``env.options.width=21 episodes=5``.

Values are parsed as YAML scalars or flow collections (``true``, ``3``, ``[1, 2]``,
``{a: 1}``) with the safe loader, so the command line can express what the file can. Keys are
dotted paths; a numeric segment indexes a list (``agent.modules.0.options.k=v``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from cogos.errors import ConfigError


@dataclass(frozen=True)
class Override:
    """One parsed ``key=value``."""

    path: tuple[str | int, ...]
    value: Any
    text: str

    @property
    def key(self) -> str:
        return ".".join(str(p) for p in self.path)


def parse_override(text: str) -> Override:
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"override {text!r} is not of the form key=value (e.g. episodes=5)")
    parts = key.split(".")
    if any(not p for p in parts):
        raise ConfigError(f"override {text!r}: empty segment in key {key!r}")
    path = tuple(int(p) if p.isdigit() else p for p in parts)
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"override {text!r}: value is not valid YAML ({exc})") from None
    return Override(path, value, text)


def apply_overrides(data: dict[str, Any], overrides: list[Override]) -> dict[str, Any]:
    """Set each override's path in (a copy of) ``data``, creating mappings as needed."""
    import copy

    out = copy.deepcopy(data)
    for ov in overrides:
        node: Any = out
        for i, seg in enumerate(ov.path):
            last = i == len(ov.path) - 1
            where = ".".join(str(p) for p in ov.path[: i + 1])
            if isinstance(seg, int):
                if not isinstance(node, list):
                    raise ConfigError(
                        f"override {ov.text!r}: {where!r} indexes something that is not a list"
                    )
                if seg >= len(node):
                    raise ConfigError(
                        f"override {ov.text!r}: index {seg} out of range ({len(node)} items)"
                    )
                if last:
                    node[seg] = ov.value
                else:
                    node = node[seg]
                continue
            if not isinstance(node, dict):
                raise ConfigError(
                    f"override {ov.text!r}: {where!r} is inside a value that is not a mapping"
                )
            if last:
                node[seg] = ov.value
            else:
                if node.get(seg) is None:
                    node[seg] = {}
                node = node[seg]
    return out
