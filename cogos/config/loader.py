"""Load a run configuration: YAML file -> overrides -> schema -> resolved components.

Every failure is a :class:`~cogos.errors.ConfigError` that names the file, the line, the dotted
key and what was expected, and says when the bad value came from a command-line override. The
CLI prints it on one line and exits with code 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from cogos.config.components import ResolvedComponents, resolve_components
from cogos.config.overrides import Override, apply_overrides, parse_override
from cogos.config.schema import RunConfig
from cogos.config.yaml_source import YamlSource, load_yaml, read_yaml
from cogos.errors import ConfigError
from memory.suggestions import close_matches, did_you_mean

M = TypeVar("M", bound=BaseModel)


def load_model(
    path: str | Path, model: type[M], overrides: Sequence[str] = ()
) -> tuple[M, YamlSource]:
    """Read, override and validate a YAML file that is not a run config.

    For a daemon's or an experiment's file: ``key=value`` overrides apply first, and the first
    problem is a ConfigError naming the file, the line and the key, worded as for run configs.
    """
    source = read_yaml(path)
    parsed = [parse_override(o) for o in overrides]
    data = apply_overrides(_mapping_of(source), parsed)
    try:
        return model.model_validate(data), source
    except ValidationError as exc:
        raise schema_error(exc, model, source, parsed) from None


def _mapping_of(source: YamlSource) -> dict[str, Any]:
    """The file's top-level mapping; an empty file or a bare value is a config error.

    An empty file would otherwise run every default, which is never what its author meant.
    """
    if source.data is None:
        raise ConfigError(
            "the file is empty; expected a mapping of keys such as 'version: 1'", file=source.file
        )
    if not isinstance(source.data, dict):
        raise ConfigError(
            f"the top level must be a mapping of keys, got {type(source.data).__name__}",
            file=source.file,
        )
    return source.data


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config, the components it names, and where it came from."""

    config: RunConfig
    components: ResolvedComponents
    source: str
    overrides: tuple[str, ...] = ()
    yaml: YamlSource | None = field(default=None, repr=False, compare=False)

    def locate(self, exc: ConfigError) -> ConfigError:
        """Give a later error the file and line of its key, as load-time errors have.

        For a component that rejects its options while being built, after loading.
        """
        if self.yaml is None or exc.file is not None:
            return exc
        return _locate(exc, self.yaml, [parse_override(o) for o in self.overrides])

    def resolved(self) -> dict[str, Any]:
        """The config as it will run: defaults filled in, component options included."""
        data = self.config.model_dump(mode="json")
        data["env"]["options"] = self.components.env.options_json()
        data["agent"]["policy"]["options"] = self.components.policy.options_json()
        for spec, comp in zip(data["agent"]["modules"], self.components.modules, strict=True):
            spec["options"] = comp.options_json()
        return data


def _key_path(key: str) -> tuple[str | int, ...]:
    return tuple(int(p) if p.isdigit() else p for p in key.split("."))


def _model_at(model: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The pydantic model that owns the field at ``loc`` (for listing its valid keys)."""
    current: Any = model
    for seg in loc:
        if isinstance(seg, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(seg)
        if field is None:
            return None
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        current = next(
            (a for a in (annotation, *args) if isinstance(a, type) and issubclass(a, BaseModel)),
            None,
        )
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _schema_message(err: Any, model: type[BaseModel]) -> str:
    loc = err["loc"]
    if err["type"] == "extra_forbidden":
        owner = _model_at(model, loc[:-1])
        known = sorted(owner.model_fields) if owner else []
        hint = did_you_mean(close_matches(str(loc[-1]), known, n=1))
        return f"unknown key {loc[-1]!r}{hint} (expected one of: {', '.join(known)})"
    if err["type"] == "missing":
        return "required key is missing"
    got = err.get("input")
    return f"{err['msg']} (got {got!r})" if not isinstance(got, dict) else str(err["msg"])


def schema_error(
    exc: ValidationError, model: type[BaseModel], source: YamlSource, overrides: list[Override]
) -> ConfigError:
    """The first problem of a failed validation, located in the file.

    An unknown key is reported before anything else: a misspelt ``nmae`` also makes ``name``
    missing, and the misspelling is the one to fix.
    """
    errors = exc.errors()
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    key = ".".join(str(p) for p in err["loc"]) or None
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return _locate(ConfigError(_schema_message(err, model) + more, key=key), source, overrides)


def _locate(exc: ConfigError, source: YamlSource, overrides: list[Override]) -> ConfigError:
    """Add file and line to an error raised with only a key; mention a matching override."""
    if exc.key is None:
        return ConfigError(exc.message, file=source.file)
    path = _key_path(exc.key)
    message = exc.message
    for ov in reversed(overrides):
        n = min(len(ov.path), len(path))
        if ov.path[:n] == path[:n]:
            message = f"{message} [from command-line override {ov.text!r}]"
            break
    return ConfigError(message, file=source.file, key=exc.key, line=source.line_of(path))


# top-level keys that only the other kinds of config file have, and the command that takes them
_OTHER_KINDS = (
    ({"broker", "agents"}, "a daemon config", "cogos daemon"),
    ({"base", "grid"}, "an experiment", "cogos experiment"),
)


def _refuse_other_kinds(data: dict[str, Any], file: str) -> None:
    """Refuse a daemon or experiment file handed to ``cogos run``, naming its command.

    Better than a list of unknown keys.
    """
    for keys, kind, command in _OTHER_KINDS:
        if keys & data.keys() and "env" not in data:
            raise ConfigError(
                f"this is {kind}, not a run config: use `{command} {file}`", file=file
            )


def _llm_section(name: str, source: YamlSource) -> Any:
    """``llm: llm/ollama.yaml``: the section from a recipe file, relative to the config's folder.

    One model's settings then serve every config that names them (``config/llm/``), and an
    override ``llm=llm/vllm.yaml`` swaps the model of any run.
    """
    base = Path(source.file).parent if not source.file.startswith("<") else Path.cwd()
    path = base / name
    try:
        recipe = read_yaml(path)
    except ConfigError as exc:
        raise ConfigError(
            f"llm names {name!r}: {exc}", file=source.file, key="llm", line=source.line_of(("llm",))
        ) from None
    data = recipe.data
    if isinstance(data, dict) and isinstance(data.get("llm"), dict):
        return data["llm"]
    raise ConfigError(
        f"llm names {name!r}, which has no 'llm:' mapping",
        file=source.file,
        key="llm",
        line=source.line_of(("llm",)),
    )


def load_config_source(source: YamlSource, overrides: Sequence[str] = ()) -> LoadedConfig:
    parsed = [parse_override(o) for o in overrides]
    data = apply_overrides(_mapping_of(source), parsed)
    _refuse_other_kinds(data, source.file)
    if isinstance(data.get("llm"), str):
        data = {**data, "llm": _llm_section(data["llm"], source)}
    try:
        config = RunConfig.model_validate(data)
    except ValidationError as exc:
        raise schema_error(exc, RunConfig, source, parsed) from None
    try:
        components = resolve_components(config)
    except ConfigError as exc:
        raise _locate(exc, source, parsed) from None
    return LoadedConfig(config, components, source.file, tuple(overrides), source)


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> LoadedConfig:
    """Load, override, validate and resolve the config at ``path``."""
    return load_config_source(read_yaml(path), overrides)


def load_config_text(
    text: str, overrides: Sequence[str] = (), *, name: str = "<string>"
) -> LoadedConfig:
    """Same as :func:`load_config` for YAML held in a string (tests, the daemon's commands)."""
    return load_config_source(load_yaml(text, name), overrides)
