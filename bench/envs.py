"""Environment step overhead: what the kernel pays around an environment, and what wrappers cost.

    python bench/envs.py [--quick]

Every figure is measured in this run, on the same seeded action sequence for both sides of a
ratio (last line: one JSON object; no speed is asserted). For each environment:

* ``raw_steps_per_s``: the environment's own ``step``, no CogOS around it;
* ``handle_steps_per_s``: ``cogos.observation.EnvHandle.step`` around the same environment,
  i.e. what the decision cycle calls (``env.step`` plus turning ``info`` into an
  ``Observation`` with a frozenset of facts); ``handle_overhead_ratio`` is raw over handle
  (1.0 = free) and ``handle_overhead_us`` the extra microseconds per step.

Environments:

* ``maze``: ``envs.maze.MazeEnv`` 15x15, radius 2, random moves;
* ``minigrid``: MiniGrid FourRooms. ``gymnasium_steps_per_s`` is the raw
  ``gymnasium.make("MiniGrid-FourRooms-v0")`` (with gymnasium's default wrappers) on random
  primitive actions; ``wrapper_primitive`` is ``envs.minigrid.MiniGridEnv(actions="primitive")``
  on the same actions (its facts and text are the extra cost: ``wrapper_vs_gymnasium_ratio``),
  raw and through ``EnvHandle``; ``wrapper_cardinal`` steps random high-level actions, each one
  to three MiniGrid steps, reported per CogOS step and per MiniGrid step;
* ``household``: ``envs.household.HouseholdEnv`` on random admissible commands, when that
  package exists (it is skipped, with the reason, when it cannot be imported).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import _no_shadow  # noqa: F401  (before any project import: see the file)
import gymnasium
import numpy as np

from cogos.observation import EnvHandle
from envs.maze import MazeEnv

Stepper = Callable[[Any], tuple[Any, float, bool, bool, dict[str, Any]]]


def timed_steps(
    env: gymnasium.Env[Any, Any], step: Callable[[Any], Any], actions: list[Any], seed: int
) -> float:
    """Steps/s of ``step`` over ``actions``, resetting (next seed) when an episode ends."""
    env.reset(seed=seed)
    episode = seed
    t0 = time.perf_counter()
    for a in actions:
        out = step(a)
        terminated, truncated = (
            (out.terminated, out.truncated) if hasattr(out, "info") else out[2:4]
        )
        if terminated or truncated:
            episode += 1
            env.reset(seed=episode)
    return len(actions) / (time.perf_counter() - t0)


def compare(
    make: Callable[[], gymnasium.Env[Any, Any]], actions: list[Any], repeats: int
) -> dict[str, float]:
    """Raw ``env.step`` against ``EnvHandle.step`` on fresh envs, best of ``repeats`` each."""
    raw = handle = 0.0
    for _ in range(repeats):
        env = make()
        raw = max(raw, timed_steps(env, env.step, actions, 0))
        env = make()
        h = EnvHandle(env, "bench")
        handle = max(handle, timed_steps(env, h.step, actions, 0))
    return {
        "raw_steps_per_s": round(raw),
        "handle_steps_per_s": round(handle),
        "handle_overhead_ratio": round(raw / handle, 3),
        "handle_overhead_us": round(1e6 / handle - 1e6 / raw, 2),
    }


def bench_maze(n: int, repeats: int) -> dict[str, Any]:
    actions = np.random.default_rng(0).integers(4, size=n).tolist()
    return {"env": "maze 15x15 radius 2", **compare(MazeEnv, actions, repeats)}


def bench_minigrid(n: int, repeats: int) -> dict[str, Any]:
    try:
        import minigrid  # noqa: F401 - registers the MiniGrid ids

        from envs.minigrid import MiniGridEnv
    except ImportError as exc:
        return {"skipped": f"cannot import minigrid: {exc}"}
    task = "MiniGrid-FourRooms-v0"
    primitive = np.random.default_rng(1).integers(7, size=n).tolist()
    cardinal = np.random.default_rng(2).integers(4, size=max(1, n // 2)).tolist()

    gym_rate = 0.0
    for _ in range(repeats):
        env = gymnasium.make(task)
        gym_rate = max(gym_rate, timed_steps(env, env.step, primitive, 0))
    wrapped = compare(lambda: MiniGridEnv(id=task, actions="primitive"), primitive, repeats)

    card = compare(lambda: MiniGridEnv(id=task), cardinal, repeats)
    env = MiniGridEnv(id=task)  # MiniGrid steps per high-level step on the same sequence
    env.reset(seed=0)
    prims, episode = 0, 0
    for a in cardinal:
        _, _, terminated, truncated, info = env.step(a)
        prims += info["action_primitive_steps"]
        if terminated or truncated:
            episode += 1
            env.reset(seed=episode)
    per_step = prims / len(cardinal)
    return {
        "env": f"{task}, random actions",
        "gymnasium_steps_per_s": round(gym_rate),
        "wrapper_primitive": {
            **wrapped,
            "wrapper_vs_gymnasium_ratio": round(gym_rate / wrapped["raw_steps_per_s"], 3),
            "wrapper_extra_us": round(1e6 / wrapped["raw_steps_per_s"] - 1e6 / gym_rate, 2),
        },
        "wrapper_cardinal": {
            **card,
            "minigrid_steps_per_cogos_step": round(per_step, 3),
            "handle_minigrid_steps_per_s": round(card["handle_steps_per_s"] * per_step),
        },
    }


def bench_household(n: int, repeats: int) -> dict[str, Any]:
    try:
        from envs.household import HouseholdEnv
    except ImportError as exc:
        return {"skipped": f"envs.household is not available: {exc}"}
    # random admissible commands, drawn once along a seeded run so both sides get the same ones
    env = HouseholdEnv()
    rng = np.random.default_rng(3)
    _, info = env.reset(seed=0)
    actions: list[str] = []
    episode = 0
    while len(actions) < n:
        commands = list(info.get("admissible_actions") or ["look"])
        actions.append(commands[int(rng.integers(len(commands)))])
        _, _, terminated, truncated, info = env.step(actions[-1])
        if terminated or truncated:
            episode += 1
            _, info = env.reset(seed=episode)
    return {
        "env": "household, random admissible commands",
        **compare(HouseholdEnv, actions, repeats),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer steps (CI smoke)")
    args = parser.parse_args()
    repeats = 2 if args.quick else 3
    n_fast = 20_000 if args.quick else 200_000  # the maze steps in microseconds
    n_slow = 1_000 if args.quick else 10_000  # MiniGrid's own step is ~150 us

    result: dict[str, Any] = {"bench": "envs", "quick": args.quick}
    for name, fn, n in (
        ("maze", bench_maze, n_fast),
        ("minigrid", bench_minigrid, n_slow),
        ("household", bench_household, n_slow),
    ):
        result[name] = fn(n, repeats)
        print(f"{name}: {json.dumps(result[name])}", flush=True)
    result["python"] = sys.version.split()[0]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
