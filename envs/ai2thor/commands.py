"""ALFWorld's text commands: parsing, the admissible set, and the AI2-THOR actions of each one.

The commands and when they are admissible are the symbolic household's (``envs.household``),
which are ALFWorld's: :class:`Command`, its parser and the rules (:mod:`envs.household.rules`,
which read a :class:`~envs.ai2thor.scene.World` as they read a household state) are its own.
Here each one is carried out by ``Controller.step`` calls:

=================================  ==========================================================
command                            AI2-THOR actions (``Controller.step(action=..., ...)``)
=================================  ==========================================================
``go to {recep}``                  ``GetInteractablePoses(objectId=recep, standings=[True])``,
                                   then ``TeleportFull`` to the pose nearest to the receptacle
``open {recep}``                   ``OpenObject(objectId=recep)``
``close {recep}``                  ``CloseObject(objectId=recep)``
``take {obj} from {recep}``        ``PickupObject(objectId=obj)``
``put {obj} in/on {recep}``        ``PutObject(objectId=recep, placeStationary=True)``
``use {lamp}``                     ``ToggleObjectOn(objectId=lamp)`` (``ToggleObjectOff`` if on)
``slice {obj} with {knife}``       ``SliceObject(objectId=obj)`` (the knife is held)
``heat {obj} with {microwave}``    ALFRED's: [``OpenObject``], ``PutObject``, ``CloseObject``,
                                   ``ToggleObjectOn``, ``ToggleObjectOff``, ``OpenObject``,
                                   ``PickupObject(obj)``, ``CloseObject``
``cool {obj} with {fridge}``       [``OpenObject``], ``PutObject``, ``CloseObject``,
                                   ``OpenObject``, ``PickupObject(obj)``, ``CloseObject``
``clean {obj} with {sinkbasin}``   ``PutObject(sinkbasin)``, ``ToggleObjectOn(faucet)``,
                                   ``ToggleObjectOff(faucet)``, ``PickupObject(obj)``
``examine {x}``, ``look``,         text only: no simulator action
``inventory``
=================================  ==========================================================

Object interactions carry ``forceAction`` (the env's ``force_action`` option). ``[OpenObject]``
runs only when the appliance is closed. The admissible list writes ``put`` as ALFWorld does,
``put {obj} in/on {recep}``; ``put X in Y``, ``put X on Y`` and ALFWorld 0.3's ``move X to Y``
are the same command.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from envs.ai2thor.scene import World, planar_distance
from envs.household import rules
from envs.household.commands import Command


def is_admissible(world: World, cmd: Command) -> bool:
    """Whether ``cmd`` can be tried now: the household's rules (:mod:`envs.household.rules`)."""
    return rules.is_admissible(world, cmd)


def admissible(world: World) -> list[str]:
    """Every command that can be tried now, sorted by text (as the household lists them)."""
    return [c.text for c in rules.admissible(world)]


@dataclass(frozen=True)
class ThorCall:
    """One ``Controller.step`` call: the action name and its keyword arguments."""

    action: str
    args: tuple[tuple[str, Any], ...] = ()

    def kwargs(self) -> dict[str, Any]:
        return dict(self.args)

    def as_dict(self) -> dict[str, Any]:
        """The call as ``Controller.step`` sends it: ``{"action": ..., **kwargs}``."""
        return {"action": self.action, **dict(self.args)}


def call(action: str, **kwargs: Any) -> ThorCall:
    return ThorCall(action, tuple(kwargs.items()))


def interaction_calls(world: World, cmd: Command, *, force_action: bool) -> list[ThorCall]:
    """The AI2-THOR actions of an admissible command other than ``go to`` (see the table).

    Text-only commands (``examine``, ``look``, ``inventory``) have none.
    """
    f = force_action
    verb, ids = cmd.verb, world.ids
    if verb in ("open", "close"):
        action = "OpenObject" if verb == "open" else "CloseObject"
        return [call(action, objectId=ids[cmd.args[0]], forceAction=f)]
    if verb == "take":
        return [call("PickupObject", objectId=ids[cmd.args[0]], forceAction=f)]
    if verb == "put":
        return [call("PutObject", objectId=ids[cmd.args[1]], forceAction=f, placeStationary=True)]
    if verb == "use":
        on = "toggled" in world.flags(cmd.args[0])
        action = "ToggleObjectOff" if on else "ToggleObjectOn"
        return [call(action, objectId=ids[cmd.args[0]], forceAction=f)]
    if verb == "slice":
        return [call("SliceObject", objectId=ids[cmd.args[0]], forceAction=f)]
    if verb not in ("heat", "cool", "clean"):
        return []
    item, appliance = ids[cmd.args[0]], ids[cmd.args[1]]
    put = call("PutObject", objectId=appliance, forceAction=f, placeStationary=True)
    pickup = call("PickupObject", objectId=item, forceAction=f)
    if verb == "clean":
        faucet = world.faucet_for(cmd.args[1])
        assert faucet is not None  # clean is admissible only at a basin with a faucet
        return [
            put,
            call("ToggleObjectOn", objectId=faucet, forceAction=f),
            call("ToggleObjectOff", objectId=faucet, forceAction=f),
            pickup,
        ]
    opening = (
        []
        if world.is_open(cmd.args[1])
        else [call("OpenObject", objectId=appliance, forceAction=f)]
    )
    close = call("CloseObject", objectId=appliance, forceAction=f)
    reopen = call("OpenObject", objectId=appliance, forceAction=f)
    if verb == "heat":
        return [
            *opening,
            put,
            close,
            call("ToggleObjectOn", objectId=appliance, forceAction=f),
            call("ToggleObjectOff", objectId=appliance, forceAction=f),
            reopen,
            pickup,
            close,
        ]
    return [*opening, put, close, reopen, pickup, close]


def pick_pose(poses: list[dict[str, Any]], target: dict[str, Any]) -> dict[str, Any] | None:
    """The interactable pose nearest to the target (ties: standing, horizon nearest 30, order).

    ``poses`` is ``GetInteractablePoses``'s ``actionReturn``: dicts with ``x``, ``y``, ``z``,
    ``rotation``, ``horizon`` and ``standing``.
    """
    if not poses:
        return None
    position = target["position"]

    def key(indexed: tuple[int, dict[str, Any]]) -> tuple[float, bool, float, int]:
        i, pose = indexed
        return (
            round(planar_distance(pose, position), 4),
            not pose.get("standing", True),
            abs(float(pose.get("horizon", 30.0)) - 30.0),
            i,
        )

    return min(enumerate(poses), key=key)[1]


def teleport_call(pose: dict[str, Any]) -> ThorCall:
    """``TeleportFull`` to a pose from ``GetInteractablePoses``."""
    return call(
        "TeleportFull",
        position={"x": pose["x"], "y": pose["y"], "z": pose["z"]},
        rotation={"x": 0.0, "y": float(pose["rotation"]), "z": 0.0},
        horizon=float(pose["horizon"]),
        standing=bool(pose.get("standing", True)),
    )
