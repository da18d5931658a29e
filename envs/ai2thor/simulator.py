"""Finding an AI2-THOR simulator build and starting ``ai2thor.controller.Controller`` on it.

``Controller(scene=...)`` normally looks for the Unity build of its own commit in
``~/.ai2thor/releases`` and, when it is not there, downloads it (about 0.5 GB) from AI2's server.
CogOS never triggers that download behind the user's back: unless ``download`` is on, a build
must be given (``local_executable_path`` or ``COGOS_AI2THOR_EXECUTABLE``) or already be cached,
and otherwise the environment fails at once, before any episode, with a message that says how
to point CogOS at a build. Nothing here touches the network.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXECUTABLE_ENV = "COGOS_AI2THOR_EXECUTABLE"


class SimulatorUnavailableError(ValueError):
    """No AI2-THOR simulator build can be used (none given, none cached, no download).

    A ``ValueError`` so that CogOS reports it as one line (its config error for an environment
    that rejects its options) rather than a traceback.
    """


def how_to_fix() -> str:
    return (
        f"set env.options.local_executable_path or {EXECUTABLE_ENV} to a local AI2-THOR Unity "
        "build (e.g. ~/.ai2thor/releases/thor-Linux64-COMMIT/thor-Linux64-COMMIT), or "
        "env.options.download: true on a machine with internet access"
    )


def ai2thor_commit() -> str | None:
    """The simulator commit the installed ``ai2thor`` package expects (``None``: unknown)."""
    try:
        import ai2thor.build
    except ImportError:
        return None
    commit = ai2thor.build.COMMIT_ID
    return str(commit) if commit else None


def cached_build() -> Path | None:
    """A build of the installed ``ai2thor``'s commit already in ``~/.ai2thor/releases``."""
    try:
        import ai2thor.build
        import ai2thor.platform
    except ImportError:
        return None
    commit = ai2thor.build.COMMIT_ID
    if not commit:
        return None
    releases = os.path.join(os.path.expanduser("~"), ".ai2thor", "releases")
    for platform in (
        ai2thor.platform.Linux64,
        ai2thor.platform.CloudRendering,
        ai2thor.platform.OSXIntel64,
    ):
        build = ai2thor.build.Build(platform, commit, False, releases)
        if os.path.isdir(build.base_dir):
            return Path(build.base_dir)
    return None


@dataclass(frozen=True)
class BuildSource:
    """Where the simulator will come from: ``"local"``, ``"cached"`` or ``"download"``."""

    kind: str
    path: Path | None = None


def find_build(local_executable_path: str | None, *, download: bool) -> BuildSource:
    """Decide, without starting anything or touching the network, which build to use.

    Raises :class:`SimulatorUnavailableError` (one line) when there is none.
    """
    try:
        import ai2thor.controller  # noqa: F401
    except ImportError as exc:
        raise SimulatorUnavailableError(
            f"the ai2thor package is not installed ({exc}); install it with "
            "pip install 'cogos[envs]', then " + how_to_fix()
        ) from None
    if local_executable_path:
        path = Path(local_executable_path).expanduser()
        if not path.is_file():
            raise SimulatorUnavailableError(
                f"the AI2-THOR executable {str(path)!r} does not exist or is not a file; "
                + how_to_fix()
            )
        if not os.access(path, os.X_OK):
            raise SimulatorUnavailableError(
                f"the AI2-THOR executable {str(path)!r} is not executable (chmod +x it)"
            )
        return BuildSource("local", path)
    cached = cached_build()
    if cached is not None:
        return BuildSource("cached", cached)
    if download:
        return BuildSource("download")
    commit = (ai2thor_commit() or "unknown")[:8]
    raise SimulatorUnavailableError(
        "no AI2-THOR simulator build is available (none configured, none cached in "
        f"~/.ai2thor/releases for commit {commit}, download off): " + how_to_fix()
    )


def start_controller(source: BuildSource, kwargs: dict[str, Any]) -> Any:
    """Build ``ai2thor.controller.Controller(**kwargs)`` on ``source``; it starts Unity.

    Any failure to find, fetch or start the build becomes a one-line
    :class:`SimulatorUnavailableError` that keeps the cause's first line.
    """
    from ai2thor.controller import Controller

    if source.kind == "local":
        kwargs = {**kwargs, "local_executable_path": str(source.path)}
    try:
        return Controller(**kwargs)
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        if isinstance(exc, ValueError) and "not contained in build" in first:
            raise ValueError(f"scene {kwargs.get('scene')!r}: {first}") from None
        what = {
            "local": f"start the AI2-THOR build {source.path}",
            "cached": f"start the cached AI2-THOR build {source.path}",
            "download": "fetch and start the AI2-THOR build (is this machine offline?)",
        }[source.kind]
        fix = (
            "check that it is an AI2-THOR build for this ai2thor package and that it can render "
            "(a local build runs on X11: set DISPLAY or env.options.x_display, e.g. under "
            "xvfb-run; a cached build can also use env.options.platform: CloudRendering)"
            if source.kind != "download"
            else how_to_fix()
        )
        raise SimulatorUnavailableError(
            f"could not {what}: {type(exc).__name__}: {first}; {fix}"
        ) from exc
