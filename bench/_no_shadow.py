"""Imported first by every script in bench/, so that our packages win over their namesakes.

Run as ``python bench/<script>.py``, a script sees its own folder first on ``sys.path``, where
bench/envs.py and bench/memory.py (named as the issues name them) would stand in for the
``envs`` and ``memory`` packages, for the script and for every component it loads by name. The
repository root goes first instead. bench/ stays on the path after it: a child process that
multiprocessing spawns imports the script again, and this module with it.
"""

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(_ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != _ROOT]
