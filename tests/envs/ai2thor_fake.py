"""Run the real ``ai2thor.controller.Controller`` without the Unity simulator.

The Unity build cannot be had everywhere (it is downloaded from AI2's server, and needs a display
or Vulkan to run). What happens *between* CogOS and Unity can still be run for real: ai2thor's
own tests build a ``Controller(download_only=True)`` with the build lookup patched out, and
replace its server (the FIFO pipe to Unity) by a fake whose queues the test controls. This
module packages that for CogOS's tests:

* :class:`FakeServer` stands in for ``ai2thor.fifo_server.FifoServer``: it records every
  action the Controller sends (:attr:`FakeServer.requests`) and answers with queued
  ``ai2thor.server.Event`` objects (:attr:`FakeServer.responses`), else with its responder.
* :class:`FixtureScene` is such a responder: it answers from the JSON metadata fixtures in
  ``tests/fixtures/ai2thor`` and updates them the way AI2-THOR does for the actions the household
  commands use (pick up, put, open, close, toggle, slice, teleport), so multi-step episodes
  run end to end. It is a stand-in for Unity's bookkeeping, not a physics simulator.
* :func:`offline_controller` builds a real Controller on a fake server;
  :func:`fake_unity` makes ``Controller(...)`` itself (as :class:`~envs.ai2thor.AI2ThorEnv`
  builds it) start on a fake server instead of launching Unity.

Everything else (``Controller.step``/``reset``, argument handling, ``Event`` parsing, the
raising of ``ValueError`` on invalid actions) is ai2thor's own code.
"""

from __future__ import annotations

import copy
import json
import math
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ai2thor"

Responder = Callable[[dict[str, Any]], Any]


def fixture_path(name: str) -> Path:
    return FIXTURES / name


def load_metadata(scene: str) -> dict[str, Any]:
    """The metadata fixture of a scene (``FloorPlan1``, ``FloorPlan301``) after ``Initialize``."""
    path = FIXTURES / f"{scene.removesuffix('_physics')}.json"
    if not path.is_file():
        shipped = sorted(p.stem for p in FIXTURES.glob("FloorPlan*.json") if ".poses" not in p.name)
        raise FileNotFoundError(f"no metadata fixture for {scene!r}; shipped: {', '.join(shipped)}")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def load_poses(scene: str) -> dict[str, list[dict[str, Any]]]:
    """``GetInteractablePoses`` answers for a scene's receptacles, by objectId."""
    path = FIXTURES / f"{scene.removesuffix('_physics')}.poses.json"
    data: dict[str, list[dict[str, Any]]] = json.loads(path.read_text(encoding="utf-8"))
    return data


def scenes_in_build() -> list[str]:
    """What ``GetScenesInBuild`` answers for the ai2thor 5.0 build (iTHOR and RoboTHOR)."""
    data: list[str] = json.loads((FIXTURES / "scenes_in_build.json").read_text(encoding="utf-8"))
    return data


def make_event(metadata: dict[str, Any]) -> Any:
    """An ``ai2thor.server.Event`` around a metadata dict (a deep copy of it)."""
    from ai2thor.server import Event

    return Event(copy.deepcopy(metadata))


class FakeServer:
    """Stands in for ai2thor's ``FifoServer``: the Controller's side of the pipe to Unity.

    ``requests`` is every action dict the Controller sent, in order; ``responses`` the events it
    will receive next, in order. When ``responses`` is empty the ``responder`` (if any) answers
    the last request.
    """

    server_type = "FIFO"

    def __init__(self, responder: Responder | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.responses: deque[Any] = deque()
        self.responder = responder
        self.unity_proc: Any = None
        self.started = True
        self.stopped = False

    def queue(self, *events: Any) -> None:
        """Queue events to answer the next requests with (before the responder)."""
        self.responses.extend(events)

    @property
    def actions(self) -> list[str]:
        """The action names sent, in order."""
        return [str(r.get("action")) for r in self.requests]

    # --- what ai2thor.controller.Controller calls
    def send(self, action: dict[str, Any]) -> None:
        self.requests.append(copy.deepcopy(action))

    def receive(self, timeout: float | None = None) -> Any:
        if self.responses:
            return self.responses.popleft()
        if self.responder is not None and self.requests:
            return self.responder(self.requests[-1])
        last = self.requests[-1] if self.requests else None
        raise AssertionError(f"FakeServer: no response queued for {last!r}")

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.stopped = True

    def set_init_params(self, params: Any) -> None:
        pass

    def unity_params(self) -> dict[str, Any]:
        return {}


@contextmanager
def offline_build() -> Iterator[None]:
    """Patch ai2thor's build lookup as its own tests do: a build "exists", nothing downloads.

    ``Build.exists`` (an HTTP HEAD to AI2's server) answers True, ``Build.download`` does
    nothing and ``Linux64.validate`` (the X display check) finds no problem.
    """
    import ai2thor.build
    import ai2thor.platform

    with (
        mock.patch.object(ai2thor.build.Build, "exists", return_value=True),
        mock.patch.object(ai2thor.build.Build, "download", return_value=None),
        mock.patch.object(ai2thor.platform.Linux64, "validate", return_value=[]),
    ):
        yield


def offline_controller(server: FakeServer, **kwargs: Any) -> Any:
    """A real ``Controller(download_only=True)`` talking to ``server`` instead of Unity.

    What ``Controller.__init__`` would set up after starting Unity (its server and its
    ``initialization_parameters``) is filled in, so ``reset`` and ``step`` run unchanged.
    """
    import ai2thor.controller
    import ai2thor.platform

    with offline_build(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        controller = ai2thor.controller.Controller(
            download_only=True, platform=ai2thor.platform.Linux64, **kwargs
        )
    controller.server = server
    controller.initialization_parameters = {}
    return controller


@contextmanager
def fake_unity(server: FakeServer) -> Iterator[list[dict[str, Any]]]:
    """Make every ``Controller(...)`` built inside start on ``server`` instead of Unity.

    ``Controller.start`` (which launches the Unity process and opens the FIFO pipe) is replaced;
    everything else of ``Controller.__init__`` runs: the build lookup (a ``local_executable_path``
    becomes an ``ExternalBuild``), then ``reset(scene)`` and ``Initialize`` through ``server``.
    Yields the list of the ``start`` calls' keyword arguments.
    """
    import ai2thor.controller

    starts: list[dict[str, Any]] = []

    def start(controller: Any, **kwargs: Any) -> None:
        starts.append(kwargs)
        controller.server = server
        controller.width = kwargs.get("width", controller.width)
        controller.height = kwargs.get("height", controller.height)

    with mock.patch.object(ai2thor.controller.Controller, "start", start):
        yield starts


class FixtureScene:
    """Answers Controller requests from the scene fixtures, updating them as AI2-THOR would.

    Supported: ``GetScenesInBuild``, ``Reset``, ``Initialize``, ``GetInteractablePoses``,
    ``TeleportFull``, ``PickupObject``, ``PutObject``, ``OpenObject``, ``CloseObject``,
    ``ToggleObjectOn``/``Off``, ``SliceObject``, ``InitialRandomSpawn`` (a no-op). Anything
    else is answered like Unity answers an unknown action (``errorCode`` ``InvalidAction``,
    which makes ``Controller.step`` raise ``ValueError``). Visibility is recomputed after each
    action: within ``visibilityDistance`` of the agent and not inside something closed.
    """

    def __init__(self, scene: str = "FloorPlan1") -> None:
        self.scene = scene.removesuffix("_physics")
        self.metadata = load_metadata(self.scene)
        self.poses = load_poses(self.scene)
        self.visibility_distance = 1.5

    def __call__(self, request: dict[str, Any]) -> Any:
        return self.respond(request)

    # ------------------------------------------------------------------ helpers

    def obj(self, object_id: str) -> dict[str, Any]:
        """The current metadata of one object (modifiable: tests may set up a state)."""
        found = self._find(object_id)
        if found is None:
            raise KeyError(object_id)
        return found

    def _find(self, object_id: object) -> dict[str, Any] | None:
        for o in self.metadata["objects"]:
            if o["objectId"] == object_id:
                found: dict[str, Any] = o
                return found
        return None

    def _held(self) -> dict[str, Any] | None:
        inventory = self.metadata.get("inventoryObjects") or []
        return self._find(inventory[0]["objectId"]) if inventory else None

    def _enclosed(self, o: dict[str, Any]) -> bool:
        for parent_id in o.get("parentReceptacles") or []:
            parent = self._find(parent_id)
            if parent is not None and parent.get("openable") and not parent.get("isOpen"):
                return True
        return False

    def _contents(self, receptacle: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            o
            for o in self.metadata["objects"]
            if receptacle["objectId"] in (o.get("parentReceptacles") or [])
        ]

    def _refresh(self) -> None:
        agent = self.metadata["agent"]["position"]
        for o in self.metadata["objects"]:
            p = o["position"]
            d = math.sqrt(sum((float(p[k]) - float(agent[k])) ** 2 for k in "xyz"))
            o["distance"] = round(d, 4)
            seen = d <= self.visibility_distance and not o["isPickedUp"] and not self._enclosed(o)
            o["visible"] = o["isInteractable"] = seen

    def _detach(self, o: dict[str, Any]) -> None:
        for parent_id in o.get("parentReceptacles") or []:
            parent = self._find(parent_id)
            if parent is not None and parent.get("receptacleObjectIds"):
                parent["receptacleObjectIds"] = [
                    c for c in parent["receptacleObjectIds"] if c != o["objectId"]
                ]
        o["parentReceptacles"] = None

    def _attach(self, o: dict[str, Any], receptacle: dict[str, Any]) -> None:
        parents = [receptacle["objectId"], *(receptacle.get("parentReceptacles") or [])]
        if receptacle["objectType"] not in ("SinkBasin", "BathtubBasin"):
            parents = parents[:1]
        o["parentReceptacles"] = parents
        for parent_id in parents:
            parent = self._find(parent_id)
            if parent is not None:
                parent["receptacleObjectIds"] = [
                    *(parent.get("receptacleObjectIds") or []),
                    o["objectId"],
                ]
        o["position"] = dict(receptacle["position"])

    # ------------------------------------------------------------------ answering

    def respond(self, request: dict[str, Any]) -> Any:
        """The event Unity would send back for ``request`` (state updated in place)."""
        action = str(request.get("action"))
        handler = getattr(self, f"_do_{action}", None)
        result: Any = None
        error, code = "", ""
        if handler is None:
            error, code = f"Invalid action: {action}", "InvalidAction"
        else:
            outcome = handler(request)
            if isinstance(outcome, str):
                error = outcome
            else:
                result = outcome
        if action not in ("GetScenesInBuild", "GetInteractablePoses", "Reset", "Initialize"):
            self._refresh()
        meta = self.metadata
        meta["lastAction"] = action
        meta["lastActionSuccess"] = not error
        meta["errorMessage"] = error
        meta["errorCode"] = code
        meta["actionReturn"] = result
        return make_event(meta)

    def _do_GetScenesInBuild(self, request: dict[str, Any]) -> Any:
        return scenes_in_build()

    def _do_Reset(self, request: dict[str, Any]) -> Any:
        self.scene = str(request.get("sceneName", self.scene)).removesuffix("_physics")
        self.metadata = load_metadata(self.scene)
        self.poses = load_poses(self.scene)
        return None

    def _do_Initialize(self, request: dict[str, Any]) -> Any:
        self.visibility_distance = float(request.get("visibilityDistance", 1.5))
        return None

    def _do_InitialRandomSpawn(self, request: dict[str, Any]) -> Any:
        return None

    def _do_GetInteractablePoses(self, request: dict[str, Any]) -> Any:
        oid = request.get("objectId")
        if self._find(oid) is None:
            return f"Object ID appears to be invalid: {oid}"
        return copy.deepcopy(self.poses.get(str(oid), []))

    def _do_TeleportFull(self, request: dict[str, Any]) -> Any:
        position = request.get("position") or {k: request.get(k) for k in "xyz"}
        agent = self.metadata["agent"]
        agent["position"] = {k: float(position[k]) for k in "xyz"}
        rotation = request.get("rotation")
        yaw = rotation.get("y", 0.0) if isinstance(rotation, dict) else rotation or 0.0
        agent["rotation"] = {"x": 0.0, "y": float(yaw), "z": 0.0}
        agent["cameraHorizon"] = float(request.get("horizon", 0.0))
        agent["isStanding"] = bool(request.get("standing", True))
        return None

    def _do_PickupObject(self, request: dict[str, Any]) -> Any:
        o = self._find(request.get("objectId"))
        if o is None:
            return f"Object ID appears to be invalid: {request.get('objectId')}"
        if self._held() is not None:
            return "Agent hand must be empty before picking up a new object"
        if not o.get("pickupable"):
            return f"{o['objectId']} must have the Pickupable property to be picked up"
        if self._enclosed(o) or (not o.get("visible") and not request.get("forceAction")):
            return f"{o['objectId']} is not interactable and (perhaps it is occluded by something)."
        self._detach(o)
        o["isPickedUp"] = True
        o["position"] = dict(self.metadata["agent"]["position"])
        self.metadata["inventoryObjects"] = [
            {"objectId": o["objectId"], "objectType": o["objectType"]}
        ]
        return None

    def _do_PutObject(self, request: dict[str, Any]) -> Any:
        target = self._find(request.get("objectId"))
        held = self._held()
        if target is None:
            return f"Object ID appears to be invalid: {request.get('objectId')}"
        if held is None:
            return "Agent does not have an object in hand to put"
        if not target.get("receptacle"):
            return f"Target object {target['objectId']} is not a receptacle!"
        if target.get("openable") and not target.get("isOpen"):
            return (
                "Target openable Receptacle is CLOSED, can't place if target is closed: "
                + target["objectId"]
            )
        held["isPickedUp"] = False
        self._attach(held, target)
        self.metadata["inventoryObjects"] = []
        return None

    def _open(self, request: dict[str, Any], to: bool) -> Any:
        o = self._find(request.get("objectId"))
        if o is None:
            return f"Object ID appears to be invalid: {request.get('objectId')}"
        if not o.get("openable"):
            return f"{o['objectId']} is not an Openable object"
        o["isOpen"] = to
        o["openness"] = 1.0 if to else 0.0
        if not to and o.get("isColdSource"):
            for inside in self._contents(o):
                inside["temperature"] = "Cold"
        return None

    def _do_OpenObject(self, request: dict[str, Any]) -> Any:
        return self._open(request, True)

    def _do_CloseObject(self, request: dict[str, Any]) -> Any:
        return self._open(request, False)

    def _toggle(self, request: dict[str, Any], to: bool) -> Any:
        o = self._find(request.get("objectId"))
        if o is None:
            return f"Object ID appears to be invalid: {request.get('objectId')}"
        if not o.get("toggleable"):
            return f"{o['objectId']} is not a Toggleable object"
        if bool(o.get("isToggled")) == to:
            state = "on" if to else "off"
            return f"can't toggle object {state} if it's already {state}!"
        o["isToggled"] = to
        if to and o.get("isHeatSource"):
            for inside in self._contents(o):
                inside["temperature"] = "Hot"
                if inside.get("cookable"):
                    inside["isCooked"] = True
        if to and o["objectType"] == "Faucet":
            basins = [b for b in self.metadata["objects"] if b["objectType"] == "SinkBasin"]
            for basin in basins:
                for inside in self._contents(basin):
                    if inside.get("dirtyable"):
                        inside["isDirty"] = False
        return None

    def _do_ToggleObjectOn(self, request: dict[str, Any]) -> Any:
        return self._toggle(request, True)

    def _do_ToggleObjectOff(self, request: dict[str, Any]) -> Any:
        return self._toggle(request, False)

    def _do_SliceObject(self, request: dict[str, Any]) -> Any:
        o = self._find(request.get("objectId"))
        if o is None:
            return f"Object ID appears to be invalid: {request.get('objectId')}"
        if not o.get("sliceable") or o.get("isSliced"):
            return f"{o['objectId']} is not a Sliceable object or is already sliced"
        o["isSliced"] = True
        parents = list(o.get("parentReceptacles") or [])
        for i in range(3):
            piece = copy.deepcopy(o)
            piece["objectType"] = f"{o['objectType']}Sliced"
            piece["objectId"] = f"{o['objectId']}|{o['objectType']}Sliced_{i}"
            piece["name"] = f"{o['name']}_Slice_{i}"
            piece["sliceable"] = False
            piece["mass"] = round(float(o.get("mass", 0.0)) / 3, 4)
            self.metadata["objects"].append(piece)
            for parent_id in parents:
                parent = self._find(parent_id)
                if parent is not None:
                    parent["receptacleObjectIds"] = [
                        *(parent.get("receptacleObjectIds") or []),
                        piece["objectId"],
                    ]
        return None
