"""The mission parser: BabyAI's grammar and MiniGrid's own wordings, read without a model.

Every mission of every registered MiniGrid and BabyAI id (20 seeds each) is either parsed or
refused with the words it does not know: checked by test_every_registered_mission_is_read."""

import io
import re
from contextlib import redirect_stdout

import pytest

from tests.extras import needs_extra

needs_extra("envs", "minigrid")

from minigrid.minigrid_env import MiniGridEnv as MiniGridBase

from envs.minigrid.mission import Instruction, MissionError, ObjDesc, parse_mission


def test_babyai_sequences_keep_their_order() -> None:
    mission = parse_mission(
        "go to a key and go to a grey door after you go to a yellow key and go to the green box"
    )
    assert mission.stages == (
        (
            Instruction("go_to", ObjDesc("key", "yellow")),
            Instruction("go_to", ObjDesc("box", "green")),
        ),
        (Instruction("go_to", ObjDesc("key")), Instruction("go_to", ObjDesc("door", "grey"))),
    )
    then = parse_mission(
        "pick up the key and pick up a box on your left, then put a ball next to the green door "
        "behind you and open a door"
    )
    assert then.stages == (
        (
            Instruction("pick_up", ObjDesc("key")),
            Instruction("pick_up", ObjDesc("box", loc="left")),
        ),
        (
            Instruction("put_next", ObjDesc("ball"), ObjDesc("door", "green", "behind")),
            Instruction("open", ObjDesc("door")),
        ),
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("go fetch a green ball", Instruction("pick_up", ObjDesc("ball", "green"))),
        ("you must fetch a grey key", Instruction("pick_up", ObjDesc("key", "grey"))),
        (
            "put the blue key near the purple box",
            Instruction("put_next", ObjDesc("key", "blue"), ObjDesc("box", "purple")),
        ),
        ("open the door in front of you", Instruction("open", ObjDesc("door", loc="front"))),
        ("go to the purple object", Instruction("go_to", ObjDesc(None, "purple"))),
        ("avoid the lava and get to the green goal square", Instruction("reach_goal")),
        ("use the key to open the door and then get to the goal", Instruction("reach_goal")),
        (
            "get the red key from the yellow room, unlock the red door and go to the goal",
            Instruction("reach_goal"),
        ),
    ],
)
def test_minigrid_wordings(text: str, expected: Instruction) -> None:
    assert parse_mission(text).stages == ((expected,),)


def test_a_verb_carries_over_then() -> None:
    mission = parse_mission("open the red door then the blue door")
    assert mission.stages == (
        (Instruction("open", ObjDesc("door", "red")),),
        (Instruction("open", ObjDesc("door", "blue")),),
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "no mission"),
        ("go to the matching object at the end of the hallway", "'the matching object"),
        ("dance with the red ball", "not an instruction"),
        ("put the red ball on the table", "next to"),
        ("pick up the red spaceship", "not an object description"),
    ],
)
def test_what_is_outside_the_grammar_is_named(text: str, says: str) -> None:
    with pytest.raises(MissionError, match=says):
        parse_mission(text)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # gymnasium: older versions of ids
def test_every_registered_mission_is_read() -> None:
    """All MiniGrid and BabyAI ids, 20 seeds each: parsed, or refused for Memory (whose
    mission is not in the grammar) and Playground (which has none)."""
    import gymnasium
    import minigrid  # noqa: F401 - registers the ids

    refused = set()
    for env_id in [i for i in gymnasium.registry if i.startswith(("MiniGrid", "BabyAI"))]:
        if "WFC" in env_id:
            continue  # needs minigrid[wfc]
        env = gymnasium.make(env_id)
        try:
            for seed in range(20):
                with redirect_stdout(io.StringIO()):  # BabyAI's rejection sampling prints
                    env.reset(seed=seed)
                task = env.unwrapped
                assert isinstance(task, MiniGridBase)
                try:
                    parse_mission(task.mission)
                except MissionError:
                    refused.add(re.sub(r"(S\d+)?(Random)?$", "", env_id.split("-")[1]))
        finally:
            env.close()
    assert refused == {"Memory", "Playground"}
