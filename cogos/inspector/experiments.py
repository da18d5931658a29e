"""An experiment directory as the inspector reads it: the summary, the plots, the runs.

``summary.md`` is rendered with markdown-it (the Markdown parser rich already brings), with raw
HTML off: a label in the summary comes from a user's config and must not become markup. Plots are
served by name from the directory listing only, so no request can reach another file.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")


class ExperimentView:
    """One experiment directory (``cogos experiment ... --out DIR``)."""

    def __init__(self, root: Path, key: str) -> None:
        self.root = root
        self.key = key

    @staticmethod
    def looks_like(root: Path) -> bool:
        return (root / "summary.md").is_file() or (root / "experiment.yaml").is_file()

    def run_dirs(self) -> dict[str, Path]:
        """The experiment's runs, keyed ``<cell>/seed-<n>`` as ``results.csv`` names them."""
        base = self.root / "runs"
        if not base.is_dir():
            return {}
        return {
            str(path.parent.relative_to(base)): path.parent
            for path in sorted(base.glob("*/*/config.yaml"))
        }

    def plots(self) -> list[str]:
        return sorted(p.name for p in self.root.glob("*.png"))

    def plot(self, name: str) -> bytes:
        if name not in self.plots():
            raise KeyError(f"experiment {self.key!r} has no plot {name!r}")
        return (self.root / name).read_bytes()

    def summary(self) -> dict[str, Any]:
        summary = self.root / "summary.md"
        results = self.root / "results.csv"
        info = self.root / "info.json"
        rows: list[dict[str, str]] = []
        if results.is_file():
            with results.open(newline="", encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
        return {
            "key": self.key,
            "path": str(self.root),
            "summary_html": (
                _MARKDOWN.render(summary.read_text(encoding="utf-8")) if summary.is_file() else ""
            ),
            "results": rows,
            "info": json.loads(info.read_text(encoding="utf-8")) if info.is_file() else {},
            "plots": self.plots(),
            "runs": sorted(self.run_dirs()),
        }
