"""Read YAML safely and remember on which line each key was written.

Error messages then point at ``file:line`` as well as the dotted key. Only ``yaml.safe_load``
semantics are used (SafeLoader): no Python objects can be constructed from a config file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cogos.errors import ConfigError

Path_ = tuple[str | int, ...]


@dataclass
class YamlSource:
    """Parsed YAML data plus a map from key paths to 1-based line numbers."""

    data: Any
    file: str
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_of(self, path: Path_) -> int | None:
        """Line of ``path`` or of its nearest ancestor that appears in the file."""
        for n in range(len(path), 0, -1):
            line = self.lines.get(path[:n])
            if line is not None:
                return line
        return None


def _walk(node: yaml.Node, path: Path_, lines: dict[Path_, int], file: str) -> None:
    """Record each key's line; a key written twice in one mapping is an error.

    YAML itself lets the last duplicate win silently, which hides the very edit a user made.
    """
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            first = lines.get((*path, key))
            if first is not None and isinstance(key_node, yaml.ScalarNode):
                dotted = ".".join(str(p) for p in (*path, key))
                raise ConfigError(
                    f"duplicate key (first written on line {first})",
                    file=file,
                    key=dotted,
                    line=line,
                )
            lines[(*path, key)] = line
            _walk(value_node, (*path, key), lines, file)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*path, i)] = item.start_mark.line + 1
            _walk(item, (*path, i), lines, file)


def load_yaml(text: str, file: str) -> YamlSource:
    """Parse ``text``; a syntax error becomes a ConfigError with the file and line."""
    try:
        loader = yaml.SafeLoader(text)  # one parse for both the data and the line numbers
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or str(exc)
        raise ConfigError(f"invalid YAML: {problem}", file=file, line=line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", file=file) from None
    lines: dict[Path_, int] = {}
    if node is not None:
        _walk(node, (), lines, file)
    return YamlSource(data, file, lines)


def read_yaml(path: str | Path) -> YamlSource:
    """Load a YAML file; a missing or unreadable file is a ConfigError too."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", file=p) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read file: {exc}", file=p) from None
    return load_yaml(text, str(p))
