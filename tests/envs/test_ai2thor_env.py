"""AI2ThorEnv end to end through the real ai2thor Controller, with a fake server instead of Unity.

Every test builds a real ``ai2thor.controller.Controller(download_only=True)`` (the build lookup
patched out as ai2thor's own tests do), gives it a ``FakeServer`` whose queues the test controls
and whose default answers come from the shipped FloorPlan1/FloorPlan301 metadata fixtures, and
drives it through ``AI2ThorEnv.step``: ``Controller.step``, ``Controller.reset`` and ai2thor's
``Event`` are the library's own code. What reaches the fake server is exactly what Unity would
receive.
"""

from __future__ import annotations

import copy
from typing import Any

import gymnasium as gym
import pytest

from tests.extras import needs_extra

needs_extra("envs", "ai2thor")

from gymnasium.utils.env_checker import check_env

from envs.ai2thor import GYM_ID, AI2ThorEnv
from tests.envs.ai2thor_fake import (
    FakeServer,
    FixtureScene,
    load_metadata,
    load_poses,
    make_event,
    offline_controller,
)

APPLE = "Apple|-00.47|+01.15|+00.48"
ISLAND = "CounterTop|-00.08|+01.15|00.00"  # countertop_2
FRIDGE = "Fridge|-02.10|+00.00|+01.07"
MICROWAVE = "Microwave|-00.24|+01.69|-02.53"
BASIN = "Sink|-01.90|+00.97|-01.50|SinkBasin"
FAUCET = "Faucet|-02.15|+00.91|-01.50"
KNIFE_DRAWER = "Drawer|-01.56|+00.84|-00.20"  # drawer_9
KNIFE = "Knife|-01.70|+00.79|-00.22"
MUG = "Mug|-01.76|+00.90|-00.62"
LEFT_COUNTER = "CounterTop|-01.87|+00.95|-01.21"  # countertop_3

PUT_APPLE_IN_FRIDGE = {"type": "pick_and_place_simple", "object": "Apple", "receptacle": "Fridge"}


class Thor:
    """One env on a real Controller and a fake server answered from a fixture scene."""

    def __init__(self, scene: str = "FloorPlan1", **options: Any) -> None:
        self.scene = FixtureScene(scene)
        self.server = FakeServer(self.scene)
        self.controller = offline_controller(self.server)
        self.env = AI2ThorEnv(controller=self.controller, scene=scene, **options)
        self.sent = 0

    def reset(self, **kwargs: Any) -> tuple[str, dict[str, Any]]:
        out = self.env.reset(**kwargs)
        self.sent = len(self.server.requests)
        return out

    def step(self, command: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        out = self.env.step(command)
        self.sent = len(self.server.requests)
        return out

    def calls(self, since: int) -> list[tuple[str, str | None]]:
        return [(r["action"], r.get("objectId")) for r in self.server.requests[since:]]


@pytest.fixture
def thor() -> Thor:
    return Thor(task=PUT_APPLE_IN_FRIDGE)


def test_reset_loads_the_scene_through_the_controller(thor: Thor) -> None:
    obs, info = thor.reset(seed=0)
    requests = thor.server.requests
    assert [r["action"] for r in requests] == ["GetScenesInBuild", "Reset", "Initialize"]
    assert requests[1]["sceneName"] == "FloorPlan1_physics"  # ai2thor's name for FloorPlan1
    assert requests[2]["gridSize"] == 0.25
    assert requests[2]["visibilityDistance"] == 1.5
    assert obs.startswith("You are in the middle of a room. Looking quickly around you, you see")
    assert "a fridge 1" in obs
    assert obs.endswith("Your task is to: put some apple in fridge.")
    assert info["text"] == obs
    assert info["facts"] == []  # nothing held, nowhere yet, no object in view
    assert info["action_success"] is True
    assert info["optimal_steps"] == 5  # go to, take, go to, open, put
    assert info["task_family"] == "pick_and_place_simple"
    assert "go to fridge 1" in info["admissible_actions"]
    assert "look" in info["admissible_actions"]
    assert not [a for a in info["admissible_actions"] if a.startswith("take")]
    assert thor.env.task.goal_facts == frozenset({("in", "apple_1", "fridge_1")})


def test_pick_up_open_put_end_to_end(thor: Thor) -> None:
    thor.reset(seed=0)

    sent = thor.sent
    obs, reward, terminated, _, info = thor.step("go to countertop 2")
    assert thor.calls(sent) == [("GetInteractablePoses", ISLAND), ("TeleportFull", None)]
    assert info["action_success"] is True
    assert obs.startswith("You arrive at countertop 2. On the countertop 2, you see a apple 1,")
    assert ("at", "countertop_2") in info["facts"]
    assert ("in", "apple_1", "countertop_2") in info["facts"]
    assert "take apple 1 from countertop 2" in info["admissible_actions"]
    assert (reward, terminated) == (0.0, False)

    sent = thor.sent
    obs, _, _, _, info = thor.step("take apple 1 from countertop 2")
    assert thor.calls(sent) == [("PickupObject", APPLE)]
    assert thor.server.requests[-1]["forceAction"] is True
    assert obs == "You pick up the apple 1 from the countertop 2."
    assert ("holding", "apple_1") in info["facts"]
    assert ("in", "apple_1", "countertop_2") not in info["facts"]
    assert thor.env.world.holding == "apple_1"

    thor.step("go to fridge 1")
    sent = thor.sent
    obs, _, _, _, info = thor.step("open fridge 1")
    assert thor.calls(sent) == [("OpenObject", FRIDGE)]
    assert obs == "You open the fridge 1. The fridge 1 is open. In it, you see a egg 1."
    assert ("opened", "fridge_1") in info["facts"]
    assert ("in", "egg_1", "fridge_1") in info["facts"]
    assert ("cooled", "egg_1") not in info["facts"]  # cold from the start: never *cooled*

    sent = thor.sent
    obs, reward, terminated, truncated, info = thor.step("put apple 1 in/on fridge 1")
    assert thor.calls(sent) == [("PutObject", FRIDGE)]
    assert thor.server.requests[-1]["placeStationary"] is True
    assert obs == "You put the apple 1 in/on the fridge 1."
    assert ("in", "apple_1", "fridge_1") in info["facts"]
    assert (reward, terminated, truncated) == (1.0, True, False)
    assert info["success"] is True
    assert info["steps"] == 5  # the optimal 5: go to, take, go to, open, put


def test_info_lists_the_controller_calls_of_each_command(thor: Thor) -> None:
    thor.reset(seed=0)
    sent = thor.sent
    _, _, _, _, info = thor.step("go to countertop 2")
    assert info["thor_calls"] == thor.server.requests[sent:]
    pose = info["thor_calls"][1]
    nearest = min(
        load_poses("FloorPlan1")[ISLAND],
        key=lambda p: (p["x"] + 0.08) ** 2 + (p["z"] - 0.0) ** 2,
    )
    assert pose == {
        "action": "TeleportFull",
        "position": {"x": nearest["x"], "y": nearest["y"], "z": nearest["z"]},
        "rotation": {"x": 0.0, "y": nearest["rotation"], "z": 0.0},
        "horizon": nearest["horizon"],
        "standing": True,
    }
    assert info["thor_calls"][0] == {
        "action": "GetInteractablePoses",
        "objectId": ISLAND,
        "standings": [True],
    }


def test_a_refused_action_is_a_failed_step_not_an_exception(thor: Thor) -> None:
    thor.reset(seed=0)
    thor.step("go to countertop 2")
    before = thor.env.world.facts()
    failed = copy.deepcopy(thor.scene.metadata)
    failed.update(
        lastAction="PickupObject",
        lastActionSuccess=False,
        errorMessage=f"{APPLE} is not interactable and (perhaps it is occluded by something).",
    )
    thor.server.queue(make_event(failed))
    sent = thor.sent
    obs, reward, terminated, truncated, info = thor.step("take apple 1 from countertop 2")
    assert thor.calls(sent) == [("PickupObject", APPLE)]
    assert obs == "Nothing happens."
    assert info["action_success"] is False
    assert "is not interactable" in info["error_message"]
    assert info["error_message"].startswith("PickupObject: ")
    assert info["facts"] == before
    assert (reward, terminated, truncated) == (0.0, False, False)
    assert thor.env.world.holding is None
    # the same command still works once the simulator lets it
    _, _, _, _, info = thor.step("take apple 1 from countertop 2")
    assert info["action_success"] is True


def test_an_invalid_argument_raises_in_ai2thor_but_fails_softly_here(thor: Thor) -> None:
    thor.reset(seed=0)
    thor.step("go to countertop 2")
    bad = copy.deepcopy(thor.scene.metadata)
    bad.update(
        lastActionSuccess=False, errorCode="InvalidArgument", errorMessage="objectId not found"
    )
    thor.server.queue(make_event(bad))
    with pytest.raises(ValueError, match="objectId not found"):
        thor.controller.step(action="PickupObject", objectId="Nope|1|2|3")  # ai2thor's own rule
    thor.server.queue(make_event(bad))
    _, _, _, _, info = thor.step("take apple 1 from countertop 2")
    assert info["action_success"] is False
    assert info["error_message"] == "PickupObject: objectId not found"


def test_inadmissible_commands_fail_without_calling_the_simulator(thor: Thor) -> None:
    thor.reset(seed=0)
    thor.step("go to countertop 2")
    thor.step("take apple 1 from countertop 2")
    thor.step("go to fridge 1")
    sent = thor.sent
    for command in (
        "put apple 1 in/on fridge 1",  # the fridge is closed
        "take egg 1 from fridge 1",  # hands full, and the egg is not in view
        "go to fridge 1",  # already there
        "go to spaceship 1",  # no such receptacle
        "open sesame",  # not a command
        "",
    ):
        obs, reward, terminated, _, info = thor.step(command)
        assert obs == "Nothing happens.", command
        assert info["action_success"] is False, command
        assert info["error_message"], command
        assert info["thor_calls"] == []
        assert (reward, terminated) == (0.0, False)
    assert thor.sent == sent


def test_commands_are_forgiving_and_canonical(thor: Thor) -> None:
    thor.reset(seed=0)
    thor.step("  Go To   Countertop 2. ")
    _, _, _, _, info = thor.step("TAKE apple 1 from countertop 2")
    assert info["action_success"] is True
    thor.step("go to fridge 1")
    thor.step("open fridge 1")
    _, reward, _, _, info = thor.step("move apple 1 to fridge 1")  # ALFWorld 0.3's form
    assert info["action_success"] is True
    assert reward == 1.0


def test_heat_runs_alfreds_composition(thor: Thor) -> None:
    t = Thor(
        task={"type": "pick_heat_then_place_in_recep", "object": "apple", "receptacle": "fridge"}
    )
    t.reset(seed=0)
    assert t.env.task.goal_facts == {("heated", "apple_1"), ("in", "apple_1", "fridge_1")}
    assert t.env.task.text == "heat some apple and put it in fridge."
    t.step("go to countertop 2")
    t.step("take apple 1 from countertop 2")
    _, _, _, _, info = t.step("go to microwave 1")
    assert "heat apple 1 with microwave 1" in info["admissible_actions"]
    sent = t.sent
    obs, _, _, _, info = t.step("heat apple 1 with microwave 1")
    assert t.calls(sent) == [
        ("OpenObject", MICROWAVE),
        ("PutObject", MICROWAVE),
        ("CloseObject", MICROWAVE),
        ("ToggleObjectOn", MICROWAVE),
        ("ToggleObjectOff", MICROWAVE),
        ("OpenObject", MICROWAVE),
        ("PickupObject", APPLE),
        ("CloseObject", MICROWAVE),
    ]
    assert obs == "You heat the apple 1 using the microwave 1."
    assert {("heated", "apple_1"), ("holding", "apple_1")} <= set(info["facts"])
    assert ("opened", "microwave_1") not in info["facts"]
    assert t.scene.obj(APPLE)["temperature"] == "Hot"  # what the fixture scene did
    # cooling it again undoes the heating, as in the household
    t.step("go to fridge 1")
    obs, _, _, _, info = t.step("cool apple 1 with fridge 1")
    assert obs == "You cool the apple 1 using the fridge 1."
    assert ("cooled", "apple_1") in info["facts"]
    assert ("heated", "apple_1") not in info["facts"]


def test_a_composition_stops_at_the_first_refusal() -> None:
    t = Thor(task=PUT_APPLE_IN_FRIDGE)
    t.reset(seed=0)
    t.step("go to countertop 2")
    t.step("take apple 1 from countertop 2")
    t.step("go to microwave 1")
    sent = t.sent
    t.server.queue(t.scene.respond({"action": "OpenObject", "objectId": MICROWAVE}))
    refusal = copy.deepcopy(t.scene.metadata)
    refusal.update(lastActionSuccess=False, errorMessage="No valid positions to place object found")
    t.server.queue(make_event(refusal))
    obs, _, _, _, info = t.step("heat apple 1 with microwave 1")
    assert t.calls(sent) == [("OpenObject", MICROWAVE), ("PutObject", MICROWAVE)]
    assert obs == "Nothing happens."
    assert info["action_success"] is False
    assert info["error_message"] == "PutObject: No valid positions to place object found"
    assert ("heated", "apple_1") not in info["facts"]
    assert ("opened", "microwave_1") in info["facts"]  # the simulator's state, as it is


def test_clean_uses_the_sink_and_its_faucet() -> None:
    t = Thor(
        task={"type": "pick_clean_then_place_in_recep", "object": "Mug", "receptacle": "CounterTop"}
    )
    t.reset(seed=0)
    t.scene.obj(MUG)["isDirty"] = True  # make it dirty in the "simulator"
    t.step("go to countertop 3")
    _, _, _, _, info = t.step("take mug 1 from countertop 3")
    assert ("cleaned", "mug_1") not in info["facts"]
    t.step("go to sinkbasin 1")
    sent = t.sent
    obs, _, _, _, info = t.step("clean mug 1 with sinkbasin 1")
    assert t.calls(sent) == [
        ("PutObject", BASIN),
        ("ToggleObjectOn", FAUCET),
        ("ToggleObjectOff", FAUCET),
        ("PickupObject", MUG),
    ]
    assert obs == "You clean the mug 1 using the sinkbasin 1."
    assert ("cleaned", "mug_1") in info["facts"]
    assert t.scene.obj(MUG)["isDirty"] is False
    t.step("go to countertop 1")
    _, reward, terminated, _, _ = t.step("put mug 1 in/on countertop 1")
    assert (reward, terminated) == (1.0, True)


def test_slice_with_a_knife_from_a_drawer() -> None:
    t = Thor()
    t.reset(seed=0)
    _, _, _, _, info = t.step("go to drawer 9")
    assert info["text"] == "You arrive at drawer 9. The drawer 9 is closed."
    _, _, _, _, info = t.step("open drawer 9")
    assert ("in", "knife_1", "drawer_9") in info["facts"]
    t.step("take knife 1 from drawer 9")
    _, _, _, _, info = t.step("go to countertop 2")
    assert "slice apple 1 with knife 1" in info["admissible_actions"]
    assert "slice book 1 with knife 1" not in info["admissible_actions"]  # not sliceable
    sent = t.sent
    obs, _, _, _, info = t.step("slice apple 1 with knife 1")
    assert t.calls(sent) == [("SliceObject", APPLE)]
    assert obs == "You slice the apple 1 with the knife 1."
    assert ("sliced", "apple_1") in info["facts"]
    # the slices AI2-THOR spawns are new entities, numbered on
    assert ("in", "applesliced_1", "countertop_2") in info["facts"]
    assert ("sliced", "applesliced_3") in info["facts"]
    assert "slice apple 1 with knife 1" not in info["admissible_actions"]
    assert t.env.step("examine knife 1")[0] == "There's nothing special about knife 1."


def test_scene_selection_by_name_and_a_lamp() -> None:
    t = Thor(
        "FloorPlan301",
        task={"type": "look_at_obj_in_light", "object": "Book", "toggle": "DeskLamp"},
    )
    obs, info = t.reset(seed=0)
    assert t.server.requests[1] == {
        "action": "Reset",
        "sceneName": "FloorPlan301_physics",
        "sequenceId": 0,
    }
    assert info["scene"] == "FloorPlan301"
    assert "a bed 1" in obs and "a dresser 1" in obs and "fridge" not in obs
    assert obs.endswith("Your task is to: look at book under the desklamp.")
    assert t.env.task.goal_facts == {("holding", "book_1"), ("toggled", "desklamp_1")}
    assert info["optimal_steps"] == 4  # go to bed, take book, go to dresser, use lamp
    t.step("go to bed 1")
    t.step("take book 1 from bed 1")
    _, _, _, _, info = t.step("go to dresser 1")
    assert "use desklamp 1" in info["admissible_actions"]
    assert "take desklamp 1 from dresser 1" not in info["admissible_actions"]  # a lamp stays
    sent = t.sent
    obs, reward, terminated, _, info = t.step("use desklamp 1")
    assert t.calls(sent) == [("ToggleObjectOn", "DeskLamp|-01.32|+01.24|-00.99")]
    assert obs == "You turn on the desklamp 1."
    assert ("toggled", "desklamp_1") in info["facts"]
    assert (reward, terminated) == (1.0, True)


def test_reset_option_selects_another_scene(thor: Thor) -> None:
    thor.reset(seed=0)
    _, info = thor.reset(seed=1, options={"scene": "FloorPlan301", "task": None})
    assert thor.server.requests[-2]["sceneName"] == "FloorPlan301_physics"
    assert info["scene"] == "FloorPlan301"
    assert "go to bed 1" in info["admissible_actions"]
    with pytest.raises(ValueError, match="unknown AI2-THOR scene"):
        thor.reset(options={"scene": "Kitchen1"})
    with pytest.raises(ValueError, match="unknown reset options"):
        thor.reset(options={"layout": 1})


def test_a_scene_missing_from_the_build_is_a_clear_error() -> None:
    t = Thor()
    scenes = make_event({**load_metadata("FloorPlan1"), "actionReturn": ["FloorPlan1_physics"]})
    t.server.queue(scenes)
    with pytest.raises(ValueError, match=r"scene 'FloorPlan2'.*not contained in build"):
        t.env.reset(options={"scene": "FloorPlan2"})


def test_names_are_stable_and_alfworld_style(thor: Thor) -> None:
    thor.reset(seed=0)
    world = thor.env.world
    assert world.names[ISLAND] == "countertop_2"
    assert world.names[BASIN] == "sinkbasin_1"  # the basin, not the sink
    assert "sink_1" not in world.ids and "floor_1" not in world.ids
    assert "faucet_1" not in world.ids and "stoveknob_1" not in world.ids
    assert world.receptacles[:3] == ["cabinet_1", "cabinet_2", "cabinet_3"]
    first = dict(world.names)
    thor.reset(seed=1)
    assert thor.env.world.names == first


def test_task_facts_use_the_household_vocabulary(thor: Thor) -> None:
    thor.reset(seed=0)
    facts = thor.env.task.facts
    for atom in (
        ("receptacle", "fridge_1"),
        ("type", "fridge_1", "fridge"),
        ("openable", "fridge_1"),
        ("cancool", "fridge_1"),
        ("canheat", "microwave_1"),
        ("canclean", "sinkbasin_1"),
        ("object", "apple_1"),
        ("type", "apple_1", "apple"),
        ("pickupable", "apple_1"),
        ("heatable", "apple_1"),
        ("coolable", "apple_1"),
        ("cleanable", "apple_1"),
        ("sliceable", "apple_1"),
        ("canslice", "knife_1"),
        ("canslice", "butterknife_1"),
    ):
        assert atom in facts, atom
    assert ("toggleable", "microwave_1") not in facts  # only lamps are toggleable things
    assert ("openable", "countertop_2") not in facts
    assert not [a for a in facts if a[0] in ("in", "at", "holding")]  # never where things are


def test_facts_follow_the_metadata(thor: Thor) -> None:
    thor.reset(seed=0)
    thor.step("go to countertop 3")
    facts = set(thor.env.world.facts())
    assert ("in", "mug_1", "countertop_3") in facts
    assert ("in", "dishsponge_1", "sinkbasin_1") in facts  # visible from here; parent: the basin
    assert ("in", "knife_1", "drawer_9") not in facts  # in a closed drawer: not perceived
    everything = set(thor.env.world.facts(everything=True))
    assert ("in", "knife_1", "drawer_9") in everything
    assert ("in", "egg_1", "fridge_1") in everything
    assert ("opened", "fridge_1") not in everything
    # flags follow state changes the simulator reports
    thor.scene.obj(APPLE)["temperature"] = "Hot"
    thor.scene.obj("Tomato|-00.39|+01.14|-00.81")["isSliced"] = True
    thor.step("go to countertop 2")
    facts = set(thor.env.world.facts())
    assert {("heated", "apple_1"), ("sliced", "tomato_1")} <= facts


def test_full_observability_reports_everything() -> None:
    t = Thor(observability="full")
    _, info = t.reset(seed=0)
    assert ("in", "knife_1", "drawer_9") in info["facts"]
    assert ("in", "egg_1", "fridge_1") in info["facts"]
    assert len([a for a in info["facts"] if a[0] == "in"]) == len(t.env.world.things)


def test_look_inventory_examine_are_text_only(thor: Thor) -> None:
    thor.reset(seed=0)
    sent = thor.sent
    assert thor.step("look")[0].startswith("You are in the middle of a room.")
    assert thor.step("inventory")[0] == "You are not carrying anything."
    thor.step("go to countertop 2")
    sent = thor.sent
    assert thor.step("look")[0].startswith("You are at countertop 2. On the countertop 2, you see")
    assert thor.step("examine countertop 2")[0].startswith("On the countertop 2, you see a apple 1")
    thor.step("take apple 1 from countertop 2")
    sent = thor.sent
    assert thor.step("inventory")[0] == "You are carrying: a apple 1."
    assert thor.step("examine apple 1")[0] == "There's nothing special about apple 1."
    assert thor.sent == sent


def test_truncation_after_max_steps() -> None:
    t = Thor(task=PUT_APPLE_IN_FRIDGE, max_steps=3)
    t.reset(seed=0)
    assert t.env.step("look")[2:4] == (False, False)
    assert t.env.step("look")[2:4] == (False, False)
    _, reward, terminated, truncated, info = t.env.step("look")
    assert (reward, terminated, truncated, info["success"]) == (0.0, False, True, False)
    with pytest.raises(RuntimeError, match="episode is over"):
        t.env.step("look")


def test_optimal_steps_per_family() -> None:
    def optimal(task: dict[str, Any], scene: str = "FloorPlan1") -> int | None:
        t = Thor(scene, task=task)
        steps: int | None = t.reset(seed=0)[1]["optimal_steps"]
        return steps

    assert optimal(PUT_APPLE_IN_FRIDGE) == 5
    heat = {"type": "pick_heat_then_place_in_recep", "object": "Apple", "receptacle": "Fridge"}
    assert optimal(heat) == 7  # go, take, go microwave, heat, go fridge, open, put
    cool = {"type": "pick_cool_then_place_in_recep", "object": "Apple", "receptacle": "CounterTop"}
    assert optimal(cool) == 6  # go, take, go fridge, cool (no open needed), go countertop, put
    two = {"type": "pick_two_obj_and_place", "object": "Vase", "receptacle": "CounterTop"}
    assert optimal(two) == 8  # (go shelf 2, take, go countertop, put) twice
    both_there = {"type": "pick_two_obj_and_place", "object": "Vase", "receptacle": "Shelf"}
    assert optimal(both_there) == 0  # both vases are on shelf 2 already
    assert optimal({"goal": [["in", "apple_1", "fridge_1"]]}) is None


def test_randomize_spawns_objects_with_the_seed() -> None:
    t = Thor(randomize=True)
    t.reset(seed=7)
    spawn = t.server.requests[-1]
    assert spawn["action"] == "InitialRandomSpawn"
    assert spawn["randomSeed"] == 7


def test_explicit_goal_facts() -> None:
    t = Thor(task={"goal": [["opened", "fridge_1"], ["holding", "egg_1"]], "text": "hold the egg."})
    _, info = t.reset(seed=0)
    assert t.env.task.text == "hold the egg."
    assert info["task_family"] == "goal"
    t.step("go to fridge 1")
    t.step("open fridge 1")
    _, reward, terminated, _, _ = t.step("take egg 1 from fridge 1")
    assert (reward, terminated) == (1.0, True)
    with pytest.raises(ValueError, match="names 'toaster_9'"):
        Thor(task={"goal": [["in", "apple_1", "toaster_9"]]}).reset(seed=0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"scene": "Kitchen1"}, "unknown AI2-THOR scene"),
        ({"scene": "FloorPlan31"}, "unknown AI2-THOR scene"),
        ({"task": {"type": "make_coffee"}}, "task.type must be one of"),
        ({"task": {"type": "pick_and_place_simple", "object": "Apple"}}, "task.receptacle"),
        (
            {
                "task": {
                    "type": "pick_and_place_simple",
                    "object": "Apple",
                    "receptacle": "Fridge",
                    "x": 1,
                }
            },
            "unknown",
        ),
        (
            {"task": {"type": "look_at_obj_in_light", "object": "Book", "toggle": "Fridge"}},
            "task.toggle",
        ),
        ({"task": {"goal": []}}, "non-empty"),
        ({"task": "put apple in fridge"}, "mapping"),
        ({"observability": "some"}, "observability"),
        ({"max_steps": 0}, "max_steps"),
        ({"grid_size": -1}, "grid_size"),
        ({"platform": "Windows"}, "platform"),
        ({"render_mode": "human"}, "render_mode"),
    ],
)
def test_bad_options_are_rejected_in_the_constructor(options: dict[str, Any], message: str) -> None:
    controller = offline_controller(FakeServer(FixtureScene()))
    with pytest.raises(ValueError, match=message):
        AI2ThorEnv(controller=controller, **options)


def test_a_task_the_scene_cannot_have_is_a_clear_error() -> None:
    t = Thor("FloorPlan301", task=PUT_APPLE_IN_FRIDGE)
    with pytest.raises(ValueError, match="needs a apple, and scene FloorPlan301 has none"):
        t.reset(seed=0)


def test_misuse_raises() -> None:
    t = Thor()
    with pytest.raises(RuntimeError, match="reset"):
        t.env.step("look")
    t.reset(seed=0)
    with pytest.raises(TypeError, match="text command"):
        t.env.step(3)


def test_spaces_render_and_close(thor: Thor) -> None:
    obs, _ = thor.reset(seed=0)
    assert thor.env.observation_space.contains(obs)
    assert thor.env.action_space.contains("put apple 1 in/on fridge 1")
    assert thor.env.action_from_name("go to fridge 1") == "go to fridge 1"
    assert thor.env.render() is None
    ansi = Thor(render_mode="ansi")
    assert ansi.reset(seed=0)[0] == ansi.env.render()
    thor.env.close()
    assert thor.server.stopped is False  # a controller it was given is the caller's to stop
    assert thor.env.controller is thor.controller


def test_gymnasium_registration() -> None:
    assert GYM_ID in gym.registry
    controller = offline_controller(FakeServer(FixtureScene()))
    env = gym.make(
        GYM_ID, controller=controller, task=PUT_APPLE_IN_FRIDGE, disable_env_checker=True
    )
    obs, _ = env.reset(seed=0)
    assert "fridge 1" in obs
    assert isinstance(env.unwrapped, AI2ThorEnv)


def test_gymnasium_env_checker_passes() -> None:
    controller = offline_controller(FakeServer(FixtureScene()))
    check_env(AI2ThorEnv(controller=controller, task=PUT_APPLE_IN_FRIDGE), skip_render_check=True)
