"""Running one experiment run, in a worker process, and the executors that run many.

A run loads its base config with its overrides, runs it with :func:`cogos.runner.run` into its
own directory, and writes ``status.json``: ``done`` with the metrics, or ``failed`` with the
error. A failing run is recorded and never stops the others. ``LocalExecutor`` is a process
pool; ``RayExecutor`` sends runs to a Ray cluster (``pip install 'cogos[dist]'``); the tests use
a local Ray instance when Ray is installed.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Protocol

from cogos.experiments.spec import RunSpec

DONE = "done"
FAILED = "failed"


class RunTimeoutError(BaseException):
    """A run past its experiment's ``timeout``.

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` on the way (an
    environment wrapping its own errors, say) turns it into a different failure.
    """


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise RunTimeoutError in this (main) thread after ``seconds``.

    Each run has a process of its own (a pool worker, or a Ray worker), so the alarm is the
    run's alone.
    """
    if seconds is None:
        yield
        return
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("an experiment timeout needs the run in its process's main thread")

    def expire(signum: int, frame: Any) -> None:
        raise RunTimeoutError(f"the run took more than its timeout of {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_one(run: RunSpec) -> dict[str, Any]:
    """Run a single cell x seed; never raises (the failure is the result)."""
    os.environ.setdefault("PYTHONHASHSEED", "0")
    started = time.time()
    run.directory.mkdir(parents=True, exist_ok=True)
    status: dict[str, Any] = {
        "key": run.key,
        "cell": run.cell.id,
        "seed": run.seed,
        "started": started,
    }
    try:
        from cogos.config import load_config
        from cogos.runner import run as run_config

        with time_limit(run.timeout):
            loaded = load_config(run.base, list(run.overrides))
            result = run_config(loaded, run.directory)
        status.update(status=DONE, metrics=result.metrics)
    except BaseException as exc:  # a run's failure is data, whatever it was
        status.update(
            status=FAILED,
            error=f"{type(exc).__name__}: {exc}",
            traceback="".join(traceback.format_exception(exc))[-4000:],
        )
    status["seconds"] = time.time() - started
    (run.directory / "status.json").write_text(json.dumps(status, indent=2, default=str))
    return status


def finished(run: RunSpec) -> dict[str, Any] | None:
    """The saved status of a run that completed (for ``--resume``), else None."""
    path = run.directory / "status.json"
    if not path.exists():
        return None
    try:
        status: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return status if status.get("status") == DONE else None


class Executor(Protocol):
    """Runs many runs; yields each run's status as it completes."""

    def map(self, runs: Sequence[RunSpec]) -> Iterator[dict[str, Any]]: ...


class LocalExecutor:
    """A process pool of ``workers`` processes (fresh interpreters: no state leaks between runs)."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)

    def map(self, runs: Sequence[RunSpec]) -> Iterator[dict[str, Any]]:
        if self.workers == 1:
            for run in runs:
                yield run_one(run)
            return
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(self.workers, mp_context=context, max_tasks_per_child=1) as pool:
            futures: dict[Future[dict[str, Any]], RunSpec] = {
                pool.submit(run_one, r): r for r in runs
            }
            for future in as_completed(futures):
                try:
                    yield future.result()
                except Exception as exc:  # the worker process itself died
                    run = futures[future]
                    yield {
                        "key": run.key,
                        "cell": run.cell.id,
                        "seed": run.seed,
                        "status": FAILED,
                        "error": f"worker died: {type(exc).__name__}: {exc}",
                        "seconds": 0.0,
                    }


class RayExecutor:
    """Runs on a Ray cluster (``address``), or on a local one Ray starts (``num_cpus``)."""

    def __init__(self, address: str | None = None, *, num_cpus: int | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise ImportError("the ray executor needs Ray: pip install 'cogos[dist]'") from None
        self.ray = ray
        if not ray.is_initialized():
            ray.init(
                address=address,
                num_cpus=num_cpus if address is None else None,
                include_dashboard=False,
                log_to_driver=False,
            )

    def map(self, runs: Sequence[RunSpec]) -> Iterator[dict[str, Any]]:
        ray = self.ray
        remote = ray.remote(run_one)
        pending = [remote.remote(r) for r in runs]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])


def make_executor(kind: str, workers: int, address: str | None = None) -> Executor:
    if kind == "local":
        return LocalExecutor(workers)
    if kind == "ray":
        return RayExecutor(address, num_cpus=workers)
    raise ValueError(f"unknown executor {kind!r}; expected local or ray")


def run_directory_info() -> dict[str, Any]:
    """What reproduces a run directory: versions, commit, interpreter."""
    import platform
    import subprocess

    from cogos._version import __version__

    commit = None
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        ).stdout.strip()
    return {
        "cogos_version": __version__,
        "git_commit": commit,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
