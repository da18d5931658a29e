"""Imported first by every script in bench/, to take bench/ off ``sys.path``.

Run as ``python bench/<script>.py``, a script sees its own folder first on ``sys.path``, where
bench/envs.py and bench/memory.py (named as the issues name them) would stand in for the
``envs`` and ``memory`` packages, for the script and for every component it loads by name.
"""

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
