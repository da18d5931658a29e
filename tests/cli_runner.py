"""The ``cogos`` command as a user runs it: a real subprocess of this interpreter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def cogos(
    *args: str, cwd: Path, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cogos.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )
