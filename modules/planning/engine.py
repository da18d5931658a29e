"""Solving with a wall-clock limit we enforce ourselves.

Some unified-planning engines ignore the ``timeout`` they are given (pyperplan and tamer were
seen running past 90 s on blocksworld-20), and a pure-Python planner cannot be interrupted from
inside its own process. So every solve runs in a worker process that stays warm between requests
(unified-planning and the engines are imported once). If a request runs past its limit the
worker's whole process group is killed (Fast Downward runs as a child of the worker) and a fresh
worker is started; the caller gets a :class:`PlanStatus.TIMEOUT` result, never a hang.

Problems travel to the worker as plain data (:class:`PlanRequest`; unified-planning objects
belong to one process's expression manager and do not survive pickling), and plans come back as
plain ``(action, objects)`` tuples.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import shutil
import signal
import tempfile
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from modules.planning.pddl_errors import check_domain_name
from modules.planning.pddl_reader import parse
from modules.planning.results import GroundAction, PlanResult, PlanStatus

log = logging.getLogger("cogos.planner")

ENGINES = ("fast-downward", "fast-downward-opt", "pyperplan", "pyperplan-opt")
_STATUS = {
    "SOLVED_SATISFICING": PlanStatus.SOLVED,
    "SOLVED_OPTIMALLY": PlanStatus.SOLVED_OPTIMALLY,
    "UNSOLVABLE_PROVEN": PlanStatus.UNSOLVABLE,
    "UNSOLVABLE_INCOMPLETELY": PlanStatus.UNSOLVABLE,
    "TIMEOUT": PlanStatus.TIMEOUT,
    "MEMOUT": PlanStatus.ERROR,
    "INTERNAL_ERROR": PlanStatus.ERROR,
    "UNSUPPORTED_PROBLEM": PlanStatus.UNSUPPORTED,
}


@dataclass(frozen=True)
class PlanRequest:
    """A problem as plain data, so it can cross to the worker process.

    Either ``problem_pddl`` (a PDDL problem text, parsed in the worker) or ``objects`` (name ->
    type), ``init`` and ``goal`` (ground atoms; the goal is their conjunction), from which the
    worker builds the problem directly (much faster than writing and re-parsing PDDL).
    """

    domain_pddl: str
    problem_pddl: str | None = None
    objects: tuple[tuple[str, str], ...] = ()
    init: tuple[tuple[str, ...], ...] = ()
    goal: tuple[tuple[str, ...], ...] = ()
    name: str = "problem"


_DOMAINS: dict[str, Any] = {}


def build_problem(request: PlanRequest) -> Any:
    """The unified-planning ``Problem`` for a request (domains parsed once and cached)."""
    from unified_planning.shortcuts import Object

    if request.problem_pddl is not None:
        check_domain_name(request.domain_pddl, request.problem_pddl)
        try:
            return parse(request.domain_pddl, request.problem_pddl)
        except KeyError as exc:  # the reader's way of saying a name is not declared
            raise ValueError(f"the problem uses {exc} which the domain does not declare") from None
    domain = _DOMAINS.get(request.domain_pddl)
    if domain is None:
        domain = _DOMAINS[request.domain_pddl] = parse(request.domain_pddl)
    problem = domain.clone()
    problem.name = request.name
    objects = {o.name: o for o in problem.all_objects}  # the domain's constants
    added = [Object(name, problem.user_type(kind)) for name, kind in request.objects]
    problem.add_objects(added)
    objects.update((o.name, o) for o in added)
    fluents = {f.name: f for f in problem.fluents}
    for atom in request.init:
        problem.set_initial_value(fluents[atom[0]](*(objects[a] for a in atom[1:])), True)
    for atom in request.goal:
        problem.add_goal(fluents[atom[0]](*(objects[a] for a in atom[1:])))
    return problem


def _compiled_for(engine: str, problem: Any) -> tuple[Any, Any]:
    """Compile negative preconditions away for pyperplan, which cannot take them."""
    if not engine.startswith("pyperplan") or not problem.kind.has_negative_conditions():
        return problem, None
    from unified_planning.engines import CompilationKind
    from unified_planning.shortcuts import Compiler

    kind = CompilationKind.NEGATIVE_CONDITIONS_REMOVING
    with Compiler(problem_kind=problem.kind, compilation_kind=kind) as compiler:
        compiled = compiler.compile(problem, kind)
    return compiled.problem, compiled.map_back_action_instance


def solve_in_process(
    request: PlanRequest, engine: str, timeout: float | None, validate: bool = True
) -> dict[str, Any]:
    """Build, solve and (optionally) validate in this process: the worker's body.

    Validation uses unified-planning's sequential plan validator on the same problem object the
    engine solved, so a plan that reaches the caller as validated was checked against the domain.
    """
    import warnings

    from unified_planning.shortcuts import OneshotPlanner, PlanValidator, get_environment

    get_environment().credits_stream = None
    started = time.perf_counter()
    try:
        problem = build_problem(request)
        solvable, back = _compiled_for(engine, problem)
        with OneshotPlanner(name=engine) as planner, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "engine does not support timeout": we enforce it
            result = planner.solve(solvable, timeout=timeout if "fast-downward" in engine else None)
        solved_at = time.perf_counter()
        up_plan = result.plan
        if up_plan is not None and back is not None:
            up_plan = up_plan.replace_action_instances(back)
        valid = None
        if validate and up_plan is not None:
            with PlanValidator(name="sequential_plan_validator") as validator:
                valid = validator.validate(problem, up_plan).status.name == "VALID"
    except Exception as exc:  # a parse or engine error becomes a result, not a dead worker
        return {"status": "INTERNAL_ERROR", "message": f"{type(exc).__name__}: {exc}"}
    plan = None
    if up_plan is not None:
        plan = [
            (a.action.name, tuple(str(p) for p in a.actual_parameters)) for a in up_plan.actions
        ]
    return {
        "status": result.status.name,
        "plan": plan,
        "valid": valid,
        "seconds": solved_at - started,
        "message": _SUMMARY.get(result.status.name, result.status.name.lower()).format(
            engine=engine
        ),
        "log": "\n".join(str(m) for m in (result.log_messages or []))[-4000:],
    }


_SUMMARY = {
    "SOLVED_SATISFICING": "solved by {engine}",
    "SOLVED_OPTIMALLY": "solved optimally by {engine}",
    "UNSOLVABLE_PROVEN": "no plan exists: {engine} proved the problem unsolvable",
    "UNSOLVABLE_INCOMPLETELY": "no plan found: {engine} exhausted its search",
    "TIMEOUT": "{engine} ran out of time",
    "MEMOUT": "{engine} ran out of memory",
    "UNSUPPORTED_PROBLEM": "{engine} does not support this problem's features",
}


def _worker(conn: Connection, workdir: str) -> None:
    os.setpgrp()  # our own process group: a timeout kills Fast Downward's processes with us
    os.chdir(workdir)  # Fast Downward writes output.sas into the working directory: keep ours
    import unified_planning.shortcuts  # noqa: F401 - warm the imports before the first request

    while True:
        try:
            request, engine, timeout, validate = conn.recv()
        except EOFError:
            return
        conn.send(solve_in_process(request, engine, timeout, validate))


class PlannerWorker:
    """One warm worker process; ``solve`` blocks up to ``timeout`` seconds, then kills it."""

    def __init__(self) -> None:
        self._ctx = multiprocessing.get_context("forkserver")
        # workers fork from a server that has unified-planning imported already (no effect if
        # this process's fork server is running)
        self._ctx.set_forkserver_preload(["unified_planning.shortcuts", "modules.planning.engine"])
        self._process: Any = None
        self._conn: Connection | None = None
        self._lock = threading.Lock()
        self._workdir: str | None = None
        self.restarts = 0

    def _start(self) -> None:
        # a fixed hash seed for the fork server, so that pyperplan (whose search order depends on
        # set iteration) finds the same plan in every run; no effect once the server is running
        os.environ.setdefault("PYTHONHASHSEED", "0")
        parent, child = self._ctx.Pipe()
        if self._workdir is None:
            self._workdir = tempfile.mkdtemp(prefix="cogos-planner-")
        self._process = self._ctx.Process(
            target=_worker, args=(child, self._workdir), daemon=True, name="planner"
        )
        self._process.start()
        child.close()
        self._conn = parent

    def warm(self) -> threading.Thread:
        """Start the worker in the background.

        Its start (about a second of imports) then overlaps with the caller's own work:
        ``cogos plan`` parses the PDDL meanwhile. A ``solve`` that comes first waits for it
        (both take the lock).
        """

        def start() -> None:
            with self._lock:
                if self._process is None or not self._process.is_alive():
                    self._start()

        thread = threading.Thread(target=start, name="planner-warm", daemon=True)
        thread.start()
        return thread

    def _kill(self) -> None:
        if self._process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._process.pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
            self._process.join(timeout=5)
        if self._conn is not None:
            self._conn.close()
        self._process = None
        self._conn = None

    def solve(
        self, request: PlanRequest, engine: str, timeout: float, *, validate: bool = True
    ) -> PlanResult:
        if engine not in ENGINES:
            raise ValueError(
                f"unknown planning engine {engine!r}; expected one of {', '.join(ENGINES)}"
            )
        with self._lock:
            if self._process is None or not self._process.is_alive():
                self._start()
            assert self._conn is not None
            started = time.perf_counter()
            try:
                self._conn.send((request, engine, timeout, validate))
                ready = self._conn.poll(timeout)
                answer = self._conn.recv() if ready else None
            except (EOFError, OSError, BrokenPipeError) as exc:
                self._kill()
                self.restarts += 1
                return PlanResult(
                    PlanStatus.ERROR,
                    engine=engine,
                    message=f"planner worker died: {exc} (see stderr; a script using the planner "
                    "needs an `if __name__ == '__main__':` guard)",
                )
            elapsed = time.perf_counter() - started
            if answer is None:
                log.warning("planner %s ran past %.3g s: killed", engine, timeout)
                self._kill()
                self.restarts += 1
                return PlanResult(
                    PlanStatus.TIMEOUT,
                    engine=engine,
                    seconds=elapsed,
                    message=f"no plan within {timeout:g} s (wall clock; the solve was killed)",
                )
        status = _STATUS.get(answer["status"], PlanStatus.ERROR)
        plan: tuple[GroundAction, ...] | None = None
        if answer.get("plan") is not None and status.solved:
            plan = tuple((name, tuple(args)) for name, args in answer["plan"])
        if answer.get("valid") is False:
            return PlanResult(
                PlanStatus.ERROR, None, engine, elapsed, "the engine's plan failed validation"
            )
        return PlanResult(
            status,
            plan,
            engine,
            elapsed,
            answer.get("message", ""),
            validated=bool(answer.get("valid")),
            extra={"engine_seconds": answer.get("seconds"), "log": answer.get("log", "")},
        )

    async def asolve(
        self, request: PlanRequest, engine: str, timeout: float, *, validate: bool = True
    ) -> PlanResult:
        return await asyncio.to_thread(
            lambda: self.solve(request, engine, timeout, validate=validate)
        )

    def close(self) -> None:
        """Stop the worker; safe to call twice."""
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(OSError):
                    self._conn.close()
            if self._process is not None:
                self._process.join(timeout=2)
            self._kill()
            if self._workdir is not None:
                shutil.rmtree(self._workdir, ignore_errors=True)
                self._workdir = None
