"""The README's Python examples run as written (each block marked ``<!-- python-... -->``).

Each runs in a fresh interpreter in a temporary directory that sees the repository's config/,
as a user who copied it into a script would run it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLOCKS = dict(
    re.findall(
        r"<!-- (python-[\w-]+) -->\s*```python\n(.+?)\n```", (ROOT / "README.md").read_text(), re.S
    )
)


def test_the_readme_marks_its_examples() -> None:
    assert {"python-api", "python-memory"} <= set(BLOCKS)


@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_a_readme_example_runs(name: str, tmp_path: Path) -> None:
    (tmp_path / "config").symlink_to(ROOT / "config")
    script = tmp_path / "example.py"
    script.write_text(BLOCKS[name] + "\n")
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    if name == "python-api":
        first, second = proc.stdout.splitlines()[:2]
        assert first.startswith("1.0 [")
        assert "('at', 'c0_0')" in second
        assert "('north', 'east', 'south', 'west')" in second
        assert (tmp_path / "runs" / "api" / "metrics.json").exists()
