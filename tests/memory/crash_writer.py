"""A writer process for the crash tests: writes to a memory directory and reports each ack.

Runs in a child process that the test kills with SIGKILL at a random moment. After every
acknowledged write it sends the acknowledged ids down a pipe; the pipe keeps what was sent even
after the writer dies, so the test knows exactly which records were acknowledged.
"""

from __future__ import annotations

import random
import struct
from multiprocessing.connection import Connection

import numpy as np

DIM = 16


def write_forever(
    path: str, acks: Connection, seed: int, durability: str, checkpoint_every: int
) -> None:
    from memory.entries import Entry
    from memory.memory_os import MemoryOS

    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    memory = MemoryOS.open(
        path, dim=DIM, durability=durability, checkpoint_every=checkpoint_every, segment_bytes=16384
    )
    acks.send_bytes(b"")  # the empty marker: open and recovered, about to write
    step = 0
    while True:
        step += 1
        batch = []
        for _ in range(rng.randint(1, 20)):
            kind = rng.choice(["event", "event", "text", "fact"])
            vector = nrng.normal(size=DIM).astype(np.float32) if rng.random() < 0.8 else None
            if kind == "event":
                entry = Entry(
                    "event",
                    text=f"w{seed} s{step}",
                    vector=vector,
                    episode=f"ep{seed}-{step // 10}",
                    facts=[("at", f"c{rng.randint(0, 5)}_{rng.randint(0, 5)}")],
                    decision={"choice": "east", "values": [rng.random()]},
                )
            elif kind == "fact":
                entry = Entry(
                    "fact",
                    text="f",
                    facts=[("color", f"o{rng.randint(0, 9)}", "red")],
                    vector=vector,
                )
            else:
                entry = Entry("text", text=f"text {step}", vector=vector, metadata={"step": step})
            batch.append(entry)
        ids = memory.remember_many(batch)
        acks.send_bytes(struct.pack(f"<{len(ids)}q", *ids))  # one atomic pipe write (< PIPE_BUF)
        if rng.random() < 0.1:
            live = memory.recent(5)
            if live:
                memory.delete(live[-1].id)
                acks.send_bytes(struct.pack("<q", -live[-1].id))  # a negative id: an acked delete
