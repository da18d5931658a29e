"""The environments' options models agree with their constructors and word errors by option.

The kernel validates an env's config options against its constructor's signature and maps a
constructor's ``ValueError`` to a config key by the option name it starts with
(``cogos.agent._option_key``); these tests keep the models, the signatures and the wording in
step.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pytest

from envs.ai2thor import AI2ThorEnv, AI2ThorOptions
from envs.household import HouseholdEnv
from envs.household.options import HouseholdOptions
from envs.maze import MazeEnv, MazeOptions, generate_maze
from envs.maze.options import GenerationOptions
from envs.options import EnvOptions

MODELS: list[tuple[type[Any], type[EnvOptions]]] = [
    (MazeEnv, MazeOptions),
    (HouseholdEnv, HouseholdOptions),
    (AI2ThorEnv, AI2ThorOptions),
]
IDS = [env.__name__ for env, _ in MODELS]


@pytest.mark.parametrize(("env", "model"), MODELS, ids=IDS)
def test_each_option_is_a_constructor_keyword_with_the_same_default(
    env: type[Any], model: type[EnvOptions]
) -> None:
    parameters = inspect.signature(env.__init__).parameters
    for name, field in model.model_fields.items():
        assert name in parameters, f"{name} is not a keyword of {env.__name__}"
        assert field.default == parameters[name].default, name


@pytest.mark.parametrize(("env", "model"), MODELS, ids=IDS)
def test_each_option_words_its_requirement(env: type[Any], model: type[EnvOptions]) -> None:
    for name, field in model.model_fields.items():
        assert field.description, f"{model.__name__}.{name} needs a description"
        values: dict[str, Any] = {name: object()}
        with pytest.raises(ValueError, match=rf"^{name} must be ") as info:
            model.check(**values)
        assert ", got <object object" in str(info.value)


def test_render_modes_are_the_options_choices() -> None:
    assert MazeEnv.metadata["render_modes"] == ["ansi", "rgb_array"]
    assert HouseholdEnv.metadata["render_modes"] == ["ansi"]
    assert AI2ThorEnv.metadata["render_modes"] == ["ansi", "rgb_array"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"width": True}, "width must be an integer >= 2, got True"),
        ({"height": 7.0}, "height must be an integer >= 2, got 7.0"),
        ({"loops": "0.5"}, r"loops must be a number in \[0, 1\], got '0.5'"),
        ({"max_steps": False}, "max_steps must be None or an integer >= 1, got False"),
        ({"step_penalty": float("nan")}, "step_penalty must be a finite number, got nan"),
    ],
)
def test_options_are_as_strict_as_the_checks_they_replace(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        MazeEnv(**kwargs)


def test_numpy_numbers_count_as_the_numbers_they_hold() -> None:
    numbers: dict[str, Any] = {
        "width": np.int64(7),
        "height": np.int32(5),
        "loops": np.float32(0.5),
        "radius": np.int8(1),
    }
    env = MazeEnv(**numbers)
    assert (env.width, env.height, env.loops, env.radius) == (7, 5, 0.5, 1)
    assert type(env.width) is int
    maze = generate_maze(numbers["width"], 3, np.random.default_rng(0))
    assert maze.blocks.shape == (7, 15)
    not_a_number: dict[str, Any] = {"width": np.bool_(True)}
    with pytest.raises(ValueError, match=r"^width must be an integer >= 2"):
        MazeEnv(**not_a_number)


def test_flags_take_what_reads_as_a_bool() -> None:
    yes: dict[str, Any] = {"goal_known": 1}
    no: dict[str, Any] = {"goal_known": "no"}
    assert MazeEnv(**yes).goal_known is True
    assert MazeEnv(**no).goal_known is False


def test_a_reset_option_is_named_as_it_was_given() -> None:
    with pytest.raises(ValueError, match=r"^options\['maze_seed'\] must be None or a non-neg"):
        MazeEnv().reset(options={"maze_seed": -1})
    with pytest.raises(ValueError, match=r"^options\['layout_seed'\] must be None or a non-neg"):
        HouseholdEnv().reset(options={"layout_seed": "x"})


def test_the_generator_and_the_env_share_the_generation_rules() -> None:
    assert set(GenerationOptions.model_fields) < set(MazeOptions.model_fields)
    for name in GenerationOptions.model_fields:
        assert MazeOptions.model_fields[name].description == (
            GenerationOptions.model_fields[name].description
        )
