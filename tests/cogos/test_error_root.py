"""Every error CogOS raises on purpose is a CogOSError (cogos/errors.py draws the tree).

Walks the packages that may import the root and checks each exception class they define, so a
new ``class FooError(Exception)`` outside the tree fails here rather than slipping past an
``except CogOSError``. ``envs`` imports nothing of the other packages, so its errors cannot
derive from the root and are not walked.
"""

import importlib
import pkgutil
from collections.abc import Iterator

import pytest

from cogos.daemon.protocol import CommandError, Unanswerable
from cogos.errors import CogOSError
from cogos.inspector.runs import TraceFormatError
from modules.planning.domain import DomainError
from modules.planning.pddl_errors import PDDLInputError

OUTSIDE_ON_PURPOSE = {
    # a BaseException like KeyboardInterrupt: no ``except`` inside a run may swallow it
    "cogos.experiments.execute.RunTimeoutError",
    # the command lines' exits (click prints them), raised at the edge from a CogOSError
    "cogos.cli.errors.CLIError",
    "memory.cli.MemoryCLIError",
    "modules.planning.cli.PlanCLIError",
}


def exception_classes() -> Iterator[tuple[str, type[BaseException]]]:
    for package in ("cogos", "memory", "modules", "policies"):
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, f"{package}."):
            try:
                module = importlib.import_module(info.name)
            except ImportError:  # an extra that is not installed: nothing of it can be raised
                continue
            for name, obj in vars(module).items():
                if (
                    isinstance(obj, type)
                    and issubclass(obj, BaseException)
                    and obj.__module__ == module.__name__
                ):
                    yield f"{module.__name__}.{name}", obj


def test_every_error_defined_in_cogos_is_under_the_root() -> None:
    found = dict(exception_classes())
    outside = {name for name, cls in found.items() if not issubclass(cls, CogOSError)}
    assert outside == OUTSIDE_ON_PURPOSE & set(found), (
        "derive these from CogOSError (cogos.errors), keeping a builtin base callers rely on, "
        f"and add them to the tree in cogos/errors.py: {sorted(outside - OUTSIDE_ON_PURPOSE)}"
    )


@pytest.mark.parametrize(
    ("error", "builtin"),
    [
        (DomainError, ValueError),
        (PDDLInputError, ValueError),
        (TraceFormatError, ValueError),
        (CommandError, Exception),
        (Unanswerable, Exception),
    ],
)
def test_errors_moved_under_the_root_keep_their_builtin_base(
    error: type[Exception], builtin: type[Exception]
) -> None:
    assert issubclass(error, CogOSError) and issubclass(error, builtin)


def test_a_command_error_still_carries_its_kind() -> None:
    exc = CommandError("busy", "episodes are already running")
    assert isinstance(exc, CogOSError) and exc.kind == "busy"
    assert str(exc) == "episodes are already running"
