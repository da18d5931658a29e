"""Durability by killing processes: SIGKILL a writer at random moments, >= 100 times, and
crash at every step of the checkpoint protocol. After each crash the directory is recovered and
checked: every acknowledged record is there, the log is a gap-free prefix, the views agree."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import struct
import subprocess
import sys
import textwrap
import time
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from memory.checkpoint import CRASH_POINTS
from memory.errors import UnknownItemError
from memory.memory_os import MemoryOS
from tests.memory.crash_writer import DIM, write_forever

KILLS_PER_CONFIG = 40
CONFIGS = [("group", 0), ("group", 300), ("always", 150)]  # (durability, checkpoint_every)


def read_acks(conn: Connection, values: list[int]) -> tuple[list[int], list[int]]:
    """Drain what a killed writer sent (the pipe keeps it) on top of `values` already read."""
    try:
        while conn.poll(0):
            raw = conn.recv_bytes()
            values.extend(struct.unpack(f"<{len(raw) // 8}q", raw))
    except EOFError:
        pass
    return [v for v in values if v > 0], [-v for v in values if v < 0]


def wait_for(conn: Connection, values: list[int], want: str, timeout: float = 60.0) -> None:
    """Read the writer's messages until it says `want`: "ready" (its empty marker, sent once the
    directory is open) or "ack" (a first acknowledged record). Waiting on the writer instead of
    on the clock keeps the kills landing mid-write however slow the machine's fsync is."""
    deadline = time.monotonic() + timeout
    while conn.poll(max(0.0, deadline - time.monotonic())):
        raw = conn.recv_bytes()
        if not raw:
            if want == "ready":
                return
            continue
        new = struct.unpack(f"<{len(raw) // 8}q", raw)
        values.extend(new)
        if want == "ack" and any(v > 0 for v in new):
            return
    raise AssertionError(f"the writer never sent {want!r} within {timeout:.0f} s")


def check_recovered(path: Path, acked: set[int], deleted: set[int], kills: int = 0) -> int:
    # the views are checked here, not by the open (which would raise on a mismatch itself)
    with MemoryOS.open(path, dim=DIM, verify_on_open=False) as m:
        assert m.verify() == []
        seqs = [s for s, _ in m.wal.read()]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))) if seqs else True, "gap in the log"
        assert m.wal.last_seq >= max(acked | deleted | {0})
        live = acked - deleted
        stored = {i.id: i for i in m.records.get(sorted(live), include_deleted=True)}
        assert set(stored) == live, f"acknowledged records lost: {sorted(live - set(stored))[:10]}"
        # a record may have been deleted by a delete the writer made but could not ack
        # before it was killed: it is then present as deleted, never missing
        unacked_deletes = [i for i in stored.values() if i.deleted]
        assert len(unacked_deletes) <= kills, "at most one unacknowledged delete per kill"
        for gone in deleted:
            with pytest.raises(UnknownItemError):
                m.get(gone)
        vectors = {i.id for i in stored.values() if i.has_vector and not i.deleted}
        assert all(m.vectors.contains(v) for v in list(vectors)[:50])
        return m.wal.last_seq


def kill_loop(
    path: Path, kills: int, durability: str, checkpoint_every: int, seed: int = 0
) -> dict[str, int]:
    """SIGKILL ``kills`` writers at random moments, checking the directory after each.

    Returns the counts: kills, acknowledged records, acknowledged deletes (``bench/memory_kills.py``
    runs it 1,000 times).
    """
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["memory.memory_os", "tests.memory.crash_writer", "numpy", "faiss"])
    rng = random.Random(seed)
    acked: set[int] = set()
    deleted: set[int] = set()
    done = 0
    for i in range(kills):
        read_end, write_end = ctx.Pipe(duplex=False)
        proc = ctx.Process(
            target=write_forever,
            args=(str(path), write_end, seed * 100_003 + i, durability, checkpoint_every),
            daemon=True,
        )
        proc.start()
        write_end.close()
        values: list[int] = []
        # a third of the kills count from the process start, so some land while it opens and
        # recovers; the rest count from when it is open, half of those after a first ack
        mode = ("start", "ready", "ack")[i % 3]
        if mode != "start":
            wait_for(read_end, values, mode)
        time.sleep(rng.uniform(0.0, 0.2))
        assert proc.pid is not None
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        assert proc.exitcode == -signal.SIGKILL
        done += 1
        new_acks, new_deletes = read_acks(read_end, values)
        read_end.close()
        assert not acked & set(new_acks), "an id was acknowledged twice (reused)"
        acked.update(new_acks)
        deleted.update(new_deletes)
        check_recovered(path, acked, deleted, done)
    return {"kills": done, "acknowledged": len(acked), "deletes": len(deleted)}


@pytest.mark.slow
@pytest.mark.parametrize(("durability", "checkpoint_every"), CONFIGS)
def test_sigkill_at_random_moments(tmp_path: Path, durability: str, checkpoint_every: int) -> None:
    seed = hash((durability, checkpoint_every)) & 0xFFFF
    counts = kill_loop(tmp_path, KILLS_PER_CONFIG, durability, checkpoint_every, seed)
    assert counts["kills"] == KILLS_PER_CONFIG
    assert counts["acknowledged"] >= KILLS_PER_CONFIG // 3, "the writers made progress"


CHECKPOINT_SCRIPT = textwrap.dedent(
    """
    import sys, numpy as np
    from memory.entries import Entry
    from memory.memory_os import MemoryOS
    path, phase = sys.argv[1], sys.argv[2]
    m = MemoryOS.open(path, dim=16, checkpoint_every=0)
    rng = np.random.default_rng(int(phase == "second"))
    ids = m.remember_many([Entry("event", text=str(i), episode="e", vector=rng.normal(size=16).astype("float32"))
                           for i in range(40)])
    print(*ids, flush=True)
    m.delete(ids[0])
    print(-ids[0], flush=True)
    m.checkpoint()
    print("checkpointed", flush=True)
    """
)


def run_checkpoint(
    path: Path, phase: str, crash_at: str | None
) -> tuple[subprocess.CompletedProcess[str], set[int], set[int]]:
    env = {**os.environ, "COGOS_MEMORY_CRASH_AT": crash_at or ""}
    proc = subprocess.run(
        [sys.executable, "-c", CHECKPOINT_SCRIPT, str(path), phase],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    values = [
        int(v) for line in proc.stdout.splitlines() if line != "checkpointed" for v in line.split()
    ]
    return proc, {v for v in values if v > 0}, {-v for v in values if v < 0}


@pytest.mark.parametrize("crash_at", CRASH_POINTS)
@pytest.mark.parametrize("phase", ["first", "second"])
def test_crash_at_each_checkpoint_step(tmp_path: Path, crash_at: str, phase: str) -> None:
    acked: set[int] = set()
    deleted: set[int] = set()
    if phase == "second":  # a completed checkpoint exists; the crash hits the next one
        proc, a, d = run_checkpoint(tmp_path, "first", None)
        assert proc.returncode == 0, proc.stderr
        acked |= a
        deleted |= d
    proc, a, d = run_checkpoint(tmp_path, phase, crash_at)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert "checkpointed" not in proc.stdout
    acked |= a
    deleted |= d
    check_recovered(tmp_path, acked, deleted)
    with MemoryOS.open(tmp_path, dim=DIM) as m:  # and the next checkpoint completes cleanly
        m.checkpoint()
    last = check_recovered(tmp_path, acked, deleted)
    assert last >= max(acked)
