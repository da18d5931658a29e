"""Environment step overhead: what the kernel pays around an environment, and what wrappers cost.

    python bench/environments.py [--quick] [--missions EPISODES [--seed S]]

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

``--missions N`` also solves MiniGrid and BabyAI missions (N episodes a level, from ``--seed``)
with the planner-first agent, beside BabyAI's scripted bot on the same seeds: success rates and
MiniGrid steps of both, per level.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np

from cogos.env_handle import EnvHandle
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


MISSION_LEVELS = (
    "BabyAI-GoToRedBall-v0",
    "BabyAI-GoToLocal-v0",
    "BabyAI-PickupLoc-v0",
    "BabyAI-PutNextLocal-v0",
    "BabyAI-Open-v0",
    "BabyAI-Unlock-v0",
    "BabyAI-KeyCorridorS3R3-v0",
    "BabyAI-GoToSeq-v0",
    "BabyAI-Synth-v0",
    "BabyAI-SynthLoc-v0",
    "BabyAI-BossLevel-v0",
    "MiniGrid-Fetch-8x8-N3-v0",
    "MiniGrid-PutNear-8x8-N3-v0",
    "MiniGrid-GoToDoor-8x8-v0",
    "MiniGrid-Unlock-v0",
    "MiniGrid-UnlockPickup-v0",
    "MiniGrid-BlockedUnlockPickup-v0",
    "MiniGrid-KeyCorridorS3R3-v0",
    "MiniGrid-ObstructedMaze-1Dlhb-v0",
    "MiniGrid-LavaCrossingS9N1-v0",
    "MiniGrid-Dynamic-Obstacles-8x8-v0",
)
QUICK_LEVELS = ("BabyAI-GoToLocal-v0", "BabyAI-PutNextLocal-v0", "MiniGrid-Fetch-8x8-N3-v0")
MISSION_AGENT = Path(__file__).resolve().parent.parent / "config" / "babyai.yaml"
"""The shipped planner-first MiniGrid/BabyAI config; the level, seeds and episodes are set."""


def bot_episode(level: str, seed: int) -> tuple[bool, int]:
    """BabyAI's scripted bot (``minigrid.utils.baby_ai_bot``, which reads the level's verifier
    objects: BabyAI levels only) on one episode: success and MiniGrid steps."""
    from minigrid.utils.baby_ai_bot import BabyAIBot

    env = gymnasium.make(level)
    try:
        env.reset(seed=seed)
        bot = BabyAIBot(env)
        limit = env.unwrapped.max_steps
        for step in range(1, limit + 1):
            try:
                action = bot.replan()
            except Exception:  # the bot's own assertion on levels it cannot solve
                return False, step
            _, reward, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                return bool(terminated and reward > 0), step
        return False, limit
    finally:
        env.close()


def bench_missions(levels: tuple[str, ...], episodes: int, seed: int) -> dict[str, Any]:
    """Missions solved by CogOS's planner-first agent and by BabyAI's bot, side by side.

    Both play the same seeds; steps are MiniGrid steps (the agent's high-level actions take
    one to four each). The bot is BabyAI's reference solver: it reads the mission's verifier
    objects, not the text, and plans with the full grid in view of what it has seen.
    """
    try:
        import minigrid  # noqa: F401 - registers the ids

        from cogos import load_config
        from cogos.runner import run
    except ImportError as exc:
        return {"skipped": f"cannot import minigrid: {exc}"}
    out: dict[str, Any] = {}
    for level in levels:
        started = time.perf_counter()
        overrides = [f"env.options.id={level}", f"episodes={episodes}", f"seed={seed}"]
        result = run(load_config(MISSION_AGENT, [*overrides, "trace.enabled=false"]))
        ours = result.summaries
        seconds = time.perf_counter() - started
        # the bot reads BabyAI's verifier objects: MiniGrid's own tasks have none
        bot = [bot_episode(level, s.seed) for s in ours] if level.startswith("BabyAI") else []
        out[level] = {
            "cogos_success": sum(s.success for s in ours) / len(ours),
            "bot_success": sum(ok for ok, _ in bot) / len(bot) if bot else None,
            "cogos_steps": round(
                float(np.mean([s.extra.get("primitive_steps", s.steps) for s in ours])), 1
            ),
            "bot_steps": round(float(np.mean([n for _, n in bot])), 1) if bot else None,
            "cogos_failed_seeds": [s.seed for s in ours if not s.success],
            "cogos_seconds_per_episode": round(seconds / len(ours), 3),
        }
        print(f"{level}: {json.dumps(out[level])}", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer steps (CI smoke)")
    parser.add_argument(
        "--missions",
        type=int,
        metavar="EPISODES",
        help="also solve MiniGrid and BabyAI missions, this many episodes a level, beside "
        "BabyAI's bot (--quick: 3 levels)",
    )
    parser.add_argument("--seed", type=int, default=5000, help="first seed of --missions")
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
    if args.missions:
        levels = QUICK_LEVELS if args.quick else MISSION_LEVELS
        result["missions"] = bench_missions(levels, args.missions, args.seed)
    result["python"] = sys.version.split()[0]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
