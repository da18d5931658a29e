"""The experiment YAML, validated, and its expansion into runs.

::

    version: 1
    name: maze-memory
    base: ../maze_memory.yaml            # a run config (relative to this file)
    overrides: [episodes=3]              # applied to every run
    grid:                                # cartesian product of these keys' values
      memory.path: [null, "{run_dir}/memory"]
      env.options.maze_seed: [11, 12, 13]
    labels:                              # optional: readable names for values in tables/plots
      memory.path: {null: "memory off", "{run_dir}/memory": "memory on"}
    seeds: [0, 1]                        # every cell runs once per seed (the run's `seed`)
    group_by: [memory.path]              # summarise over the other keys (default: all keys)

A value may use ``{run_dir}`` (the run's own directory), ``{cell}`` and ``{seed}``. A cell is
one combination of grid values; a run is a cell with a seed.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from cogos.config.loader import load_config, load_model
from cogos.config.yaml_source import YamlSource
from cogos.errors import ConfigError


class ExperimentSpec(BaseModel):
    """See the module docstring."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    base: str
    overrides: list[str] = Field(default_factory=list)
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    labels: dict[str, dict[str, str]] = Field(default_factory=dict)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    group_by: list[str] | None = None
    timeout: float | None = Field(
        default=None, gt=0, description="seconds per run; a run still going then fails"
    )

    @field_validator("grid")
    @classmethod
    def _non_empty(cls, grid: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in grid.items():
            if not values:
                raise ValueError(f"grid key {key!r} has no values")
        return grid


def value_label(spec: ExperimentSpec, key: str, value: Any) -> str:
    """How a grid value is shown: its label, else ``key=value``.

    A whole section in the grid (an ``agent``, say) is shown by its ``name``.
    """
    named = spec.labels.get(key, {}).get("null" if value is None else str(value))
    if named is None and isinstance(value, dict) and "name" in value:
        named = f"{key}={value['name']}"
    return named or f"{key}={value}"


@dataclass(frozen=True)
class Cell:
    """One combination of grid values."""

    id: str
    values: dict[str, Any]

    def label(self, spec: ExperimentSpec, keys: list[str] | None = None) -> str:
        chosen = keys if keys is not None else list(self.values)
        return ", ".join(value_label(spec, key, self.values[key]) for key in chosen) or "all"


@dataclass(frozen=True)
class RunSpec:
    """One run: a cell with a seed, the overrides that make its config, and its directory."""

    cell: Cell
    seed: int
    directory: Path
    base: Path
    overrides: tuple[str, ...]
    timeout: float | None = None

    @property
    def key(self) -> str:
        return f"{self.cell.id}/seed-{self.seed}"


def _slug(values: dict[str, Any]) -> str:
    text = "_".join(f"{k.rsplit('.', 1)[-1]}-{v}" for k, v in values.items()) or "base"
    text = re.sub(r"[^A-Za-z0-9_.=-]+", "-", text)[:60].strip("-")
    digest = hashlib.blake2b(
        json.dumps(values, sort_keys=True, default=str).encode(), digest_size=3
    )
    return f"{text}-{digest.hexdigest()}"


def cells(spec: ExperimentSpec) -> list[Cell]:
    """The grid's cartesian product, in a stable order."""
    keys = list(spec.grid)
    combos = itertools.product(*(spec.grid[k] for k in keys)) if keys else [()]
    out = []
    for combo in combos:
        values = dict(zip(keys, combo, strict=True))
        out.append(Cell(_slug(values), values))
    return out


def _override(key: str, value: Any, variables: dict[str, str]) -> str:
    if isinstance(value, str):
        value = value.format(**variables)
    text = yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()
    return f"{key}={text}"


def expand(spec: ExperimentSpec, base: Path, out: Path) -> list[RunSpec]:
    """Every run of the experiment, with its config overrides and run directory."""
    runs = []
    for cell in cells(spec):
        for seed in spec.seeds:
            directory = out / "runs" / cell.id / f"seed-{seed}"
            variables = {"run_dir": str(directory), "cell": cell.id, "seed": str(seed)}
            overrides = [
                *spec.overrides,
                *(_override(k, v, variables) for k, v in cell.values.items()),
                f"seed={seed}",
            ]
            runs.append(RunSpec(cell, seed, directory, base, tuple(overrides), spec.timeout))
    return runs


def load_experiment(
    path: str | Path, overrides: list[str] | None = None
) -> tuple[ExperimentSpec, Path]:
    """Read and validate an experiment file; ``key=value`` overrides apply to it first."""
    spec, source = load_model(path, ExperimentSpec, overrides or [])
    base = (Path(path).resolve().parent / spec.base).resolve()
    if not base.exists():
        raise ConfigError(f"base config {base} does not exist", file=source.file, key="base")
    check_runs(spec, base, source)
    return spec, base


def check_runs(spec: ExperimentSpec, base: Path, source: YamlSource) -> None:
    """Load every cell's run config now.

    A bad grid key or value then fails the experiment up front (exit 2) instead of failing
    each of its runs later.

    Seeds cannot make a config invalid, so one seed per cell is enough.
    """
    for run in expand(
        spec.model_copy(update={"seeds": spec.seeds[:1]}), base, Path("runs") / "check"
    ):
        try:
            load_config(base, run.overrides)
        except ConfigError as exc:
            key = _experiment_key(spec, exc.key)
            raise ConfigError(
                f"cell {run.cell.label(spec)}: {exc}",
                file=source.file,
                key=key,
                line=source.line_of(_path_of(key)),
            ) from None


def _experiment_key(spec: ExperimentSpec, run_key: str | None) -> str:
    """Where in the experiment file a run config's bad key came from.

    A grid key, the overrides list, or else the base config itself.
    """
    if run_key is None:
        return "base"

    def related(key: str) -> bool:
        return run_key == key or run_key.startswith(key + ".") or key.startswith(run_key + ".")

    for key in spec.grid:
        if related(key):
            return f"grid.{key}"
    if any(related(o.partition("=")[0].strip()) for o in spec.overrides):
        return "overrides"
    return "base"


def _path_of(key: str) -> tuple[str | int, ...]:
    head, _, rest = key.partition(".")
    return (head, rest) if rest else (head,)
