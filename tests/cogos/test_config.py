"""Config loading: every error names file, line and key; overrides; the resolved round trip."""

from pathlib import Path

import pytest
import yaml

from cogos.config import load_config, load_config_text
from cogos.errors import ConfigError

GOOD = """\
version: 1
name: t
episodes: 2
env:
  name: maze
  options:
    width: 7
    height: 5
agent:
  policy:
    name: explore
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return p


def error_of(tmp_path: Path, text: str, overrides: tuple[str, ...] = ()) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), overrides)
    return info.value


def test_good_config_and_defaults(tmp_path: Path) -> None:
    loaded = load_config(write(tmp_path, GOOD))
    cfg = loaded.config
    assert (cfg.name, cfg.episodes, cfg.seed) == ("t", 2, 0)
    assert loaded.components.env.options.model_dump()["width"] == 7
    assert [m.name for m in cfg.agent.modules] == ["perception.facts"]
    assert cfg.agent.cycle.max_rejects == 3


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    err = error_of(tmp_path, "episodes: 2\nenv:\n  name: [maze\n")
    assert err.file
    assert err.file.endswith("c.yaml")
    assert err.line is not None
    assert err.line >= 3
    assert "invalid YAML" in str(err)


def test_unknown_key_with_suggestion_and_line(tmp_path: Path) -> None:
    err = error_of(tmp_path, GOOD.replace("  policy:", "  polcy:"))
    assert err.key == "agent.polcy"
    assert err.line == 10
    assert "did you mean 'policy'" in str(err)
    assert str(err).startswith(f"{err.file}:10: agent.polcy:")


def test_wrong_type_names_key_and_value(tmp_path: Path) -> None:
    err = error_of(tmp_path, GOOD.replace("episodes: 2", "episodes: many"))
    assert err.key == "episodes"
    assert err.line == 3
    assert "valid integer" in err.message
    assert "'many'" in err.message


def test_out_of_range(tmp_path: Path) -> None:
    err = error_of(tmp_path, GOOD.replace("episodes: 2", "episodes: 0"))
    assert err.key == "episodes"
    assert "greater than or equal to 1" in err.message


def test_unknown_component_name_with_suggestion(tmp_path: Path) -> None:
    err = error_of(tmp_path, GOOD.replace("name: explore", "name: explor"))
    assert err.key == "agent.policy.name"
    assert err.line == 11
    assert "unknown policy 'explor'" in err.message
    assert "did you mean 'explore'" in err.message


def test_unknown_module(tmp_path: Path) -> None:
    text = GOOD + "  modules:\n    - name: perception.fact\n"
    err = error_of(tmp_path, text)
    assert err.key == "agent.modules.0.name"
    assert err.line == 13
    assert "did you mean 'perception.facts'" in err.message


def test_component_option_errors(tmp_path: Path) -> None:
    err = error_of(tmp_path, GOOD.replace("width: 7", "widht: 7"))
    assert err.key == "env.options.widht"
    assert err.line == 7
    assert "did you mean 'width'" in err.message
    err = error_of(tmp_path, GOOD.replace("width: 7", "width: wide"))
    assert err.key == "env.options.width"
    assert "integer" in err.message


def test_top_level_must_be_mapping(tmp_path: Path) -> None:
    err = error_of(tmp_path, "- a\n- b\n")
    assert "mapping" in err.message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yaml")


def test_overrides_apply_and_parse_yaml_values(tmp_path: Path) -> None:
    loaded = load_config(
        write(tmp_path, GOOD),
        ["episodes=5", "env.options.width=9", "agent.policy.name=random", "trace.enabled=false"],
    )
    assert loaded.config.episodes == 5
    assert loaded.components.env.options.model_dump()["width"] == 9
    assert loaded.config.agent.policy.name == "random"
    assert loaded.config.trace.enabled is False


def test_override_of_list_item(tmp_path: Path) -> None:
    loaded = load_config(
        write(tmp_path, GOOD),
        ["agent.modules=[{name: perception.facts}]", "agent.modules.0.options.text=false"],
    )
    assert loaded.components.modules[0].options.model_dump()["text"] is False


@pytest.mark.parametrize(
    ("override", "key", "fragment"),
    [
        ("episode=3", "episode", "did you mean 'episodes'"),
        ("env.options.colour=red", "env.options.colour", "unknown option"),
        ("agent.cycle.max_reject=1", "agent.cycle.max_reject", "did you mean 'max_rejects'"),
        ("seed=-1", "seed", "greater than or equal to 0"),
    ],
)
def test_bad_override_keys_name_the_override(
    tmp_path: Path, override: str, key: str, fragment: str
) -> None:
    err = error_of(tmp_path, GOOD, (override,))
    assert err.key == key
    assert fragment in err.message
    assert f"override {override!r}" in err.message


@pytest.mark.parametrize("override", ["episodes", "=3", "a..b=1", "agent.modules.7.name=x"])
def test_malformed_overrides(tmp_path: Path, override: str) -> None:
    with pytest.raises(ConfigError, match="override"):
        load_config(write(tmp_path, GOOD), [override])


def test_yaml_tags_are_not_executed(tmp_path: Path) -> None:
    err = error_of(tmp_path, "name: !!python/object/apply:os.system ['echo pwned']\n")
    assert "invalid YAML" in err.message


def test_resolved_config_round_trips(tmp_path: Path) -> None:
    loaded = load_config(write(tmp_path, GOOD), ["agent.policy.options.avoid_revisits=0.5"])
    resolved = loaded.resolved()
    assert resolved["env"]["options"]["radius"] == 2  # a default made explicit
    assert resolved["agent"]["policy"]["options"] == {"avoid_revisits": 0.5}
    again = load_config_text(yaml.safe_dump(resolved))
    assert again.resolved() == resolved


@pytest.mark.parametrize("text", ["", "\n# only a comment\n", "---\n"])
def test_an_empty_file_is_refused(tmp_path: Path, text: str) -> None:
    err = error_of(tmp_path, text)
    assert "empty" in err.message
    assert err.file is not None


def test_a_key_written_twice_is_refused(tmp_path: Path) -> None:
    err = error_of(tmp_path, GOOD + "episodes: 3\n")
    assert err.key == "episodes"
    assert err.line == 12
    assert "duplicate key (first written on line 3)" in err.message
    nested = GOOD.replace("    height: 5\n", "    height: 5\n    width: 9\n")
    assert error_of(tmp_path, nested).key == "env.options.width"


def test_a_misspelt_key_is_reported_before_the_key_it_leaves_missing(tmp_path: Path) -> None:
    err = error_of(tmp_path, GOOD.replace("    name: explore", "    nmae: explore"))
    assert err.key == "agent.policy.nmae"
    assert err.line == 11
    assert "unknown key 'nmae'; did you mean 'name'?" in err.message


def test_an_option_the_component_rejects_points_at_its_line(tmp_path: Path) -> None:
    from cogos.agent import Agent

    path = write(tmp_path, GOOD)
    loaded = load_config(path, ["env.options.width=-5"])
    with pytest.raises(ConfigError) as info:
        Agent(loaded)
    err = loaded.locate(info.value)
    assert (err.key, err.line, err.file) == ("env.options.width", 7, str(path))
    assert "width must be an integer >= 2" in err.message
    assert "override 'env.options.width=-5'" in err.message


def test_neuro_symbolic_without_its_modules_is_refused(tmp_path: Path) -> None:
    err = error_of(tmp_path, GOOD.replace("name: explore", "name: neuro_symbolic"))
    assert err.key == "agent.modules"
    assert "needs the module(s) llm.goal, planner.pddl" in err.message


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("broker: {port: 1883}\nagents: []\n", "cogos daemon"),
        ("base: x.yaml\ngrid: {}\n", "cogos experiment"),
    ],
)
def test_other_kinds_of_config_are_named(tmp_path: Path, text: str, command: str) -> None:
    err = error_of(tmp_path, "version: 1\n" + text)
    assert f"use `{command} " in err.message


def test_an_externally_driven_env_cannot_be_run_here(tmp_path: Path) -> None:
    from cogos.runner import run

    loaded = load_config(write(tmp_path, GOOD), ["env.name=external", "env.options={}"])
    with pytest.raises(ConfigError, match="cogos daemon") as info:
        run(loaded, tmp_path / "out")
    assert info.value.key == "env.name"
    assert not (tmp_path / "out").exists()
