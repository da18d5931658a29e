"""Find components (modules, policies, environments) by registered name.

Built-in components register exactly as third-party ones do: through entry points in
``pyproject.toml`` (groups ``cogos.modules``, ``cogos.policies``, ``cogos.envs``), loaded once and
lazily (``"package.module:Class"`` is imported only when that name is first used). A package
therefore adds a component with a pip install and one line of YAML, and the kernel never imports
a concrete component.

Code that has not been packaged can still be used: :func:`register` at import time, or a YAML
name of the form ``"package.module:Class"`` which is imported directly.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from dataclasses import dataclass
from typing import Literal

from cogos.errors import ComponentNotFound, RegistryError
from cogos.extras import install_hint
from memory.suggestions import close_matches

Kind = Literal["module", "policy", "env"]

ENTRY_POINT_GROUPS: dict[Kind, str] = {
    "module": "cogos.modules",
    "policy": "cogos.policies",
    "env": "cogos.envs",
}


@dataclass
class _Entry:
    target: str | type
    origin: str


class Registry:
    """Name -> component class for one kind of component."""

    def __init__(self, kind: Kind, group: str) -> None:
        self.kind = kind
        self.group = group
        self._entries: dict[str, _Entry] = {}
        self._entry_points_loaded = False

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for ep in importlib.metadata.entry_points(group=self.group):
            dist = ep.dist.name if ep.dist is not None else "?"
            existing = self._entries.get(ep.name)
            if existing is not None and existing.target != ep.value:
                raise RegistryError(
                    f"{self.kind} {ep.name!r} is registered twice: by {existing.origin} "
                    f"({existing.target}) and by entry point of {dist} ({ep.value})"
                )
            self._entries[ep.name] = _Entry(ep.value, f"entry point of {dist}")

    def register(self, name: str, target: str | type, *, replace: bool = False) -> None:
        """Register ``target`` (a class or a lazy ``"module:Class"`` string) under ``name``."""
        self._load_entry_points()
        if name in self._entries and not replace and self._entries[name].target != target:
            raise RegistryError(
                f"{self.kind} {name!r} is already registered ({self._entries[name].origin}); "
                "pass replace=True to override it"
            )
        self._entries[name] = _Entry(target, "register()")

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        self._load_entry_points()
        return name in self._entries

    def get(self, name: str) -> type:
        """The class registered as ``name`` (imported on first use).

        Raises :class:`~cogos.errors.ComponentNotFound` with close matches as a hint.
        """
        self._load_entry_points()
        entry = self._entries.get(name)
        if entry is None:
            if ":" in name:
                return import_target(name, self.kind)
            raise ComponentNotFound(
                self.kind,
                name,
                list(self._entries),
                close_matches(name, self._entries),
            )
        if isinstance(entry.target, str):
            entry.target = import_target(entry.target, self.kind)
        return entry.target


def import_target(spec: str, kind: str) -> type:
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise RegistryError(f"{kind} target {spec!r} is not of the form 'package.module:Class'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise RegistryError(f"cannot import {kind} {spec!r}: {exc}{install_hint(exc)}") from exc
    obj: object = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise RegistryError(
                f"cannot import {kind} {spec!r}: {module_name} has no attribute {attr!r}"
            ) from None
    if not isinstance(obj, type):
        raise RegistryError(f"{kind} target {spec!r} is not a class")
    return obj


_REGISTRIES: dict[Kind, Registry] = {
    kind: Registry(kind, group) for kind, group in ENTRY_POINT_GROUPS.items()
}


def registry(kind: Kind) -> Registry:
    """The process-wide registry for ``kind``."""
    return _REGISTRIES[kind]


def register(kind: Kind, name: str, target: str | type, *, replace: bool = False) -> None:
    """Register a component without packaging it (tests, notebooks, scripts)."""
    _REGISTRIES[kind].register(name, target, replace=replace)


def get(kind: Kind, name: str) -> type:
    """Look up a component class by registered name (or ``"module:Class"``)."""
    return _REGISTRIES[kind].get(name)
