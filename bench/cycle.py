"""Decision-cycle throughput on the maze, and the bus's overhead against direct calls.

    python bench/cycle.py [--quick]

Figures (last line: one JSON object):

* ``cycles_per_s``: explore agent on 15x15 mazes, no trace (the kernel's own speed), telemetry
  off (the best of a few runs, alternated with the runs below);
* ``cycles_per_s_telemetry``: the same with OpenTelemetry spans on (``telemetry.exporter: none``:
  every span made and batched, nothing sent); ``telemetry_on_vs_off_ratio`` is on over off.
  Without the ``telemetry`` extra both are null and ``telemetry_note`` says why;
* ``cycles_per_s_traced``: the same with trace.jsonl written (what ``cogos run`` does);
* ``env_steps_per_s``: the raw maze env stepped with the same number of random actions, no
  agent at all; ``cycle_vs_env_ratio`` says how much of a cycle is the environment;
* ``bus_msgs_per_s`` / ``direct_calls_per_s``: one subscriber receiving N messages through the
  bus, against the same handler called N times directly; ``bus_overhead_ratio`` is direct
  calls/s over bus messages/s (1.0 = free). Measured for a trivial handler (worst case: all
  overhead) and for the tracer's handler (JSON-encoding a cycle record, the bus's real load).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import io
import json
import sys
import time
from typing import Any

import numpy as np

from cogos import load_config_text
from cogos.bus import Bus, Message
from cogos.runner import run_async
from envs.maze import MazeEnv
from memory.cycle_records import to_jsonable

CONFIG = """
name: bench
episodes: {episodes}
env: {{name: maze, options: {{width: 15, height: 15, radius: 2}}}}
agent: {{policy: {{name: explore}}}}
trace: {{enabled: {trace}}}
telemetry: {{enabled: {telemetry}, exporter: none}}
"""
REPEATS = 3
"""Off and on runs, alternated: the best of each is reported (a busy machine slows some runs)."""


def telemetry_installed() -> bool:
    try:
        return importlib.util.find_spec("opentelemetry.sdk") is not None
    except ModuleNotFoundError:  # not even the opentelemetry namespace
        return False


async def cycles(
    episodes: int, trace: bool, out: str | None, telemetry: bool = False
) -> tuple[float, int]:
    text = CONFIG.format(
        episodes=episodes, trace=str(trace).lower(), telemetry=str(telemetry).lower()
    )
    loaded = load_config_text(text)
    t0 = time.perf_counter()
    result = await run_async(loaded, out)
    elapsed = time.perf_counter() - t0
    n = int(result.metrics["cycles"])
    assert result.metrics["success_rate"] == 1.0, result.metrics
    return n / elapsed, n


def env_steps(n: int) -> float:
    env = MazeEnv(width=15, height=15, radius=2)
    rng = np.random.default_rng(0)
    actions = rng.integers(4, size=n)
    env.reset(seed=0)
    t0 = time.perf_counter()
    for a in actions:
        _, _, term, trunc, _ = env.step(int(a))
        if term or trunc:
            env.reset()
    return n / (time.perf_counter() - t0)


async def bus_vs_direct(n: int, handler: Any, payload: Any) -> tuple[float, float]:
    # direct: the handler called n times with a message built once
    msg = Message("cycle/commit", payload, "id", "bench", 0.0)
    t0 = time.perf_counter()
    for _ in range(n):
        handler(msg)
    direct = n / (time.perf_counter() - t0)
    # bus: n publishes to one subscriber, timed until the subscriber has handled them all
    async with Bus(queue_size=1024) as bus:
        sub = bus.subscribe("cycle/commit", handler)
        t0 = time.perf_counter()
        for _ in range(n):
            await bus.publish("cycle/commit", payload, source="bench")
        while sub.handled < n:  # noqa: ASYNC110
            await asyncio.sleep(0)  # yield to the worker until it caught up
        via_bus = n / (time.perf_counter() - t0)
    return direct, via_bus


async def sample_record() -> Any:
    """A real cycle record from a short run, as the tracer receives it."""
    loaded = load_config_text(CONFIG.format(episodes=1, trace="false", telemetry="false"))
    from cogos.agent import Agent

    agent = Agent(loaded)
    records: list[Any] = []
    async with agent:
        agent.bus.subscribe("cycle/commit", lambda m: records.append(m.payload))
        await agent.run_episode(0, 0)
    return records[len(records) // 2]


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer episodes and messages (CI smoke)"
    )
    args = parser.parse_args()
    episodes = 10 if args.quick else 60
    n_msgs = 20_000 if args.quick else 200_000

    import tempfile

    spans = telemetry_installed()
    await cycles(2, False, None)  # warm-up (imports, caches)
    if spans:
        await cycles(2, False, None, telemetry=True)
    off: list[float] = []
    on: list[float] = []
    for _ in range(REPEATS):
        cps, n_cycles = await cycles(episodes, False, None)
        off.append(cps)
        if spans:
            on.append((await cycles(episodes, False, None, telemetry=True))[0])
    cps = max(off)
    with tempfile.TemporaryDirectory() as tmp:
        cps_traced, _ = await cycles(episodes, True, tmp)
    eps = env_steps(n_cycles)

    counter = {"n": 0}

    def trivial(m: Message) -> None:
        counter["n"] += 1

    sink = io.StringIO()
    record = await sample_record()

    def tracer_like(m: Message) -> None:
        sink.write(json.dumps(to_jsonable(m.payload), separators=(",", ":")) + "\n")
        if sink.tell() > 1 << 24:
            sink.seek(0)
            sink.truncate()

    d_triv, b_triv = await bus_vs_direct(n_msgs, trivial, {"x": 1})
    d_real, b_real = await bus_vs_direct(n_msgs // 10, tracer_like, record)

    result = {
        "bench": "cycle",
        "quick": args.quick,
        "maze": "15x15 radius 2, explore policy",
        "cycles": n_cycles,
        "cycles_per_s": round(cps),
        "cycles_per_s_traced": round(cps_traced),
        "cycles_per_s_telemetry": round(max(on)) if on else None,
        "telemetry_on_vs_off_ratio": round(max(on) / cps, 2) if on else None,
        "env_steps_per_s": round(eps),
        "cycle_vs_env_ratio": round(eps / cps, 2),
        "goal_cycles_per_s": 2000,
        "trivial_handler": {
            "direct_calls_per_s": round(d_triv),
            "bus_msgs_per_s": round(b_triv),
            "bus_overhead_ratio": round(d_triv / b_triv, 2),
            "bus_overhead_us_per_msg": round(1e6 / b_triv - 1e6 / d_triv, 2),
        },
        "tracer_handler": {
            "direct_calls_per_s": round(d_real),
            "bus_msgs_per_s": round(b_real),
            "bus_overhead_ratio": round(d_real / b_real, 2),
        },
        "goal_bus_overhead_ratio": 3.0,
        "python": sys.version.split()[0],
    }
    if not spans:
        result["telemetry_note"] = (
            "telemetry on not measured: the 'telemetry' extra is not installed "
            '(pip install -e ".[telemetry]")'
        )
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
