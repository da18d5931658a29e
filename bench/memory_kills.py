"""kill -9 the memory OS, over and over: no acknowledged record lost, no id reused.

    python bench/memory_kills.py [--quick] [--kills N]

A writer process opens a memory directory, writes batches (events, facts, texts, with vectors,
and some deletes) and reports every acknowledged id through a pipe; it is SIGKILLed at a random
moment (a third while it opens and recovers), the directory is reopened and checked: every
acknowledged record is there, the log is a gap-free prefix, the views agree, no id was
acknowledged twice. The same loop as ``tests/memory/test_crash.py`` (which runs 120 kills in
CI), here 1,000 by default across three configurations: durability ``group`` without and with
checkpoints every 300 records, and ``always`` with checkpoints every 150.

Figures are printed, never asserted; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

# the kill harness is the test suite's own: it lives in the checkout's tests/, not in the package
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.memory.test_crash import CONFIGS, kill_loop

ROUND = 50
"""Kills per fresh directory."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 kills instead of 1,000")
    parser.add_argument("--kills", type=int, default=None, help="total kills (default 1,000)")
    args = parser.parse_args()
    total = args.kills or (30 if args.quick else 1000)
    per_config = [total // len(CONFIGS) + (i < total % len(CONFIGS)) for i in range(len(CONFIGS))]
    started = time.perf_counter()
    runs = []
    for (durability, checkpoint_every), kills in zip(CONFIGS, per_config, strict=True):
        t0 = time.perf_counter()
        counts = {"kills": 0, "acknowledged": 0, "deletes": 0}
        # rounds of ROUND kills, each on a fresh directory: without checkpoints every reopen
        # replays the whole log into the vector index, so one long run slows down quadratically
        for start in range(0, kills, ROUND):
            with tempfile.TemporaryDirectory(prefix="cogos-kills-") as tmp:
                n = min(ROUND, kills - start)
                got = kill_loop(Path(tmp), n, durability, checkpoint_every, seed=kills + start)
            counts = {key: counts[key] + got[key] for key in counts}
        seconds = time.perf_counter() - t0
        print(
            f"[memory kills] {durability}, checkpoint every {checkpoint_every}: {counts} "
            f"in {seconds:.0f} s",
            file=sys.stderr,
        )
        runs.append({"durability": durability, "checkpoint_every": checkpoint_every, **counts})
    result = {
        "bench": "memory_kills",
        "quick": args.quick,
        "kills": sum(r["kills"] for r in runs),
        "acknowledged_records": sum(r["acknowledged"] for r in runs),
        "acknowledged_deletes": sum(r["deletes"] for r in runs),
        "lost": 0,  # kill_loop raises on the first lost record or reused id
        "ids_reused": 0,
        "runs": runs,
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
