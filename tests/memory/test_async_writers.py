"""Async writes from any event loop and thread (issue 15).

A harness that ran ``aremember`` from several threads, each with its own ``asyncio.run``, saw
hangs of more than 40 s, spurious ``commit cancelled`` errors, and writes reported failed that
were in fact persisted (a retrying caller then writes duplicates). Every async write must
complete, and a write reported failed must not be in the memory.
"""

from __future__ import annotations

import asyncio
import errno
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from memory.entries import Entry
from memory.errors import MemoryOSError
from memory.memory_os import MemoryOS

DIM = 8


def vec(i: int) -> np.ndarray:
    return np.random.default_rng(i).standard_normal(DIM).astype(np.float32)


@pytest.mark.parametrize("window_ms", [0.0, 5.0])
def test_writers_on_many_event_loops_all_complete(tmp_path: Path, window_ms: float) -> None:
    threads, per_thread = 6, 40
    results: dict[int, list[int]] = {}
    failures: list[BaseException] = []
    start = threading.Barrier(threads)

    def writer(t: int, memory: MemoryOS) -> None:
        async def run() -> list[int]:
            tasks = [
                memory.aremember(Entry("text", text=f"t{t} n{i}", vector=vec(t * 1000 + i)))
                for i in range(per_thread)
            ]
            ids = list(await asyncio.wait_for(asyncio.gather(*tasks), 60))
            await memory.flush()
            return ids

        start.wait()
        try:
            results[t] = asyncio.run(run())
        except BaseException as exc:  # reported below, with the others
            failures.append(exc)

    with MemoryOS.open(tmp_path, dim=DIM, group_window_ms=window_ms) as memory:
        workers = [threading.Thread(target=writer, args=(t, memory)) for t in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(120)
        assert not any(w.is_alive() for w in workers), "a writer hung"
        assert not failures, failures
        ids = sorted(i for got in results.values() for i in got)
        assert ids == list(range(1, threads * per_thread + 1)), "ids lost or reused"
    with MemoryOS.open(tmp_path) as memory:
        texts = {i.text for i in memory.recent(10_000)}
        assert texts == {f"t{t} n{i}" for t in range(threads) for i in range(per_thread)}
        assert memory.verify() == []


def test_a_write_reported_failed_is_not_in_the_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_fdatasync = os.fdatasync  # what the log calls (as os.fdatasync)
    failing = {"on": False}

    def fdatasync(fd: int) -> None:
        if failing["on"]:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fdatasync(fd)

    monkeypatch.setattr(os, "fdatasync", fdatasync)

    async def write(memory: MemoryOS, text: str) -> int:
        return await memory.aremember(Entry("text", text=text, vector=vec(len(text))))

    with MemoryOS.open(tmp_path, dim=DIM) as memory:
        assert asyncio.run(write(memory, "kept")) == 1
        failing["on"] = True
        with pytest.raises(MemoryOSError):
            asyncio.run(write(memory, "refused"))
        failing["on"] = False
    with MemoryOS.open(tmp_path) as memory:
        assert [i.text for i in memory.recent(10)] == ["kept"]
        assert memory.verify() == []
