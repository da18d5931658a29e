"""AI2-THOR behind ALFWorld's text commands, with household facts.

The agent types ALFWorld commands (``go to fridge 1``, ``take apple 1 from countertop 2``); each
one becomes one or more ``ai2thor.controller.Controller.step`` calls (the table is in
:mod:`envs.ai2thor.commands`), and the resulting ``event.metadata`` becomes facts and an
ALFWorld-style sentence (:mod:`envs.ai2thor.scene`). A command the simulator refuses
(``lastActionSuccess`` false) is a failed step, reported in ``info["action_success"]`` and
``info["error_message"]``, never an exception.

The Controller, which starts the Unity simulator, is built on the first ``reset``; the
constructor only checks, without touching the network, that a simulator build is available
(:mod:`envs.ai2thor.simulator`), so a machine without one fails before any episode starts.
"""

from __future__ import annotations

import os
import string
from typing import Any

from gymnasium import spaces

from envs.ai2thor.commands import (
    ThorCall,
    admissible,
    call,
    interaction_calls,
    pick_pose,
    teleport_call,
)
from envs.ai2thor.options import RENDER_MODES, AI2ThorOptions, check_scene
from envs.ai2thor.scene import World
from envs.ai2thor.simulator import (
    EXECUTABLE_ENV,
    BuildSource,
    find_build,
    start_controller,
)
from envs.ai2thor.tasks import Task, TaskConfig, ground, optimal_steps, task_text
from envs.base import CogEnv, TaskSpec
from envs.household.commands import Command, parse_command
from envs.household.names import text_name
from envs.household.text import NOTHING_HAPPENS, feedback, initial_text

_CHARSET = frozenset(string.printable)


class AI2ThorEnv(CogEnv):
    """An AI2-THOR scene driven by ALFWorld text commands; see the module docstring.

    Observation: the text of the last feedback (``str``). Action: a command (``str``); the
    admissible ones are in ``info["admissible_actions"]``. Reward 1 when the task is achieved,
    which ends the episode; truncated after ``max_steps`` commands (ALFWorld's 50 by default).

    Options:

    ``scene``
        the AI2-THOR scene, by name (``FloorPlan1`` is a kitchen).
    ``task``
        an ALFRED task template or explicit goal facts (:mod:`envs.ai2thor.tasks`); ``None``
        gives an open-ended episode that never succeeds.
    ``local_executable_path``
        a local Unity build of AI2-THOR (default: the ``COGOS_AI2THOR_EXECUTABLE`` variable).
    ``download``
        let ai2thor download its build (about 0.5 GB) when none is local or cached.
    ``observability``
        ``partial`` (ALFWorld's: items are perceived when visible or in the open location the
        agent is at) or ``full`` (every item's whereabouts in every percept).
    ``force_action``
        passed as ``forceAction`` to object interactions, as ALFRED does: ``go to`` brings the
        agent next to the receptacle, not necessarily within reach of every object in it.
    ``randomize``
        scatter the scene's objects with ``InitialRandomSpawn(randomSeed=seed)`` at each reset.
    ``grid_size``, ``visibility_distance``, ``width``, ``height``, ``platform``, ``x_display``
        the Controller's ``gridSize``, ``visibilityDistance``, frame size, platform
        (``CloudRendering`` renders headless on a GPU) and X display;
        ``controller_options`` passes anything else to ``Controller(...)``.
    ``controller``
        an already-built Controller to use instead (tests, notebooks); it is not stopped by
        ``close``.
    """

    metadata: dict[str, Any] = {"render_modes": list(RENDER_MODES)}  # noqa: RUF012

    def __init__(
        self,
        *,
        scene: str = "FloorPlan1",
        task: dict[str, Any] | None = None,
        local_executable_path: str | None = None,
        download: bool = False,
        observability: str = "partial",
        max_steps: int = 50,
        force_action: bool = True,
        randomize: bool = False,
        grid_size: float = 0.25,
        visibility_distance: float = 1.5,
        width: int = 300,
        height: int = 300,
        platform: str | None = None,
        x_display: str | None = None,
        controller_options: dict[str, Any] | None = None,
        controller: Any | None = None,
        render_mode: str | None = None,
    ) -> None:
        opts = AI2ThorOptions.check(
            scene=scene,
            task=task,
            download=download,
            observability=observability,
            max_steps=max_steps,
            force_action=force_action,
            randomize=randomize,
            grid_size=grid_size,
            visibility_distance=visibility_distance,
            width=width,
            height=height,
            platform=platform,
            render_mode=render_mode,
        )
        self.scene: str = opts.scene
        self._task_config = opts.task_config
        self.observability = opts.observability
        self.max_steps = opts.max_steps
        self.force_action = opts.force_action
        self.randomize = opts.randomize
        self.grid_size = opts.grid_size
        self.visibility_distance = opts.visibility_distance
        self.width, self.height = opts.width, opts.height
        self.platform = opts.platform
        self.x_display = x_display
        self.controller_options = dict(controller_options or {})
        self.render_mode = opts.render_mode
        self.local_executable_path = local_executable_path or os.environ.get(EXECUTABLE_ENV) or None

        self._controller: Any | None = controller
        self._owns_controller = controller is None
        # Fails here, before any episode, when no simulator build can be had.
        self._source: BuildSource | None = (
            None
            if controller is not None
            else find_build(self.local_executable_path, download=opts.download)
        )
        self.download = opts.download

        self.action_space = spaces.Text(max_length=256, min_length=1, charset=_CHARSET)
        self.observation_space = spaces.Text(max_length=16384, min_length=0, charset=_CHARSET)
        self._world: World | None = None
        self._task: Task | None = None
        self._scene = self.scene
        self._optimal: int | None = None
        self._task_facts: frozenset[tuple[str, ...]] = frozenset()
        self._admissible: list[str] = []
        self._steps = 0
        self._done = False
        self._text = ""

    # ------------------------------------------------------------------ gymnasium API

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Load the scene (starting the simulator on the first call) and ground the task.

        ``options`` may override ``scene`` and ``task`` for this episode.
        """
        super().reset(seed=seed)
        scene, config = self.scene, self._task_config
        if options:
            unknown = set(options) - {"scene", "task"}
            if unknown:
                raise ValueError(f"unknown reset options {sorted(unknown)}; expected scene, task")
            if "scene" in options:
                scene = check_scene(options["scene"])
            if "task" in options:
                config = TaskConfig.parse(options["task"])
        metadata = self._load_scene(scene)
        if self.randomize:
            spawn_seed = int(seed) if seed is not None else int(self.np_random.integers(2**31))
            ok, error, event = self._thor(
                [],
                call(
                    "InitialRandomSpawn",
                    randomSeed=spawn_seed,
                    forceVisible=True,
                    numPlacementAttempts=5,
                    placeStationary=True,
                ),
            )
            if not ok:
                raise RuntimeError(f"InitialRandomSpawn failed in {scene}: {error}")
            metadata = event.metadata
        world = World(metadata, partial=self.observability == "partial")
        self._world = world
        self._scene = scene
        self._task = ground(config, world, scene)
        self._task_facts = world.task_facts()
        self._optimal = optimal_steps(self._task, world)
        self._steps = 0
        self._done = False
        text = initial_text(world, self._task.text)
        return text, self._info(text, True, "", [])

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Run one text command; an inadmissible or refused command is a failed step."""
        world, task = self._world, self._task
        if world is None or task is None:
            raise RuntimeError("call reset() before step()")
        if self._done:
            raise RuntimeError("the episode is over (terminated or truncated); call reset()")
        if not isinstance(action, str):
            raise TypeError(f"an action is a text command (str), got {type(action).__name__}")
        self._steps += 1
        calls: list[dict[str, Any]] = []
        cmd = parse_command(action)
        if cmd is None:
            ok, error, text = False, f"{action!r} is not a command", NOTHING_HAPPENS
        elif cmd.text not in self._admissible:
            ok, error, text = False, f"{cmd.text!r} is not admissible now", NOTHING_HAPPENS
        else:
            ok, error, text = self._execute(world, cmd, calls)
        terminated = task.satisfied(world)
        truncated = not terminated and self._steps >= self.max_steps
        self._done = terminated or truncated
        info = self._info(text, ok, error, calls)
        info["success"] = info["won"] = terminated
        return text, 1.0 if terminated else 0.0, terminated, truncated, info

    def render(self) -> Any:
        """``ansi``: the last text; ``rgb_array``: the simulator's last frame (``None`` if none)."""
        if self.render_mode == "ansi":
            return self._text
        if self.render_mode == "rgb_array" and self._controller is not None:
            event = getattr(self._controller, "last_event", None)
            return getattr(event, "frame", None)
        return None

    def close(self) -> None:
        """Stop the simulator if this environment started it."""
        if self._controller is not None and self._owns_controller:
            controller, self._controller = self._controller, None
            controller.stop()

    # ------------------------------------------------------------------ CogOS API

    @property
    def task(self) -> TaskSpec:
        """The grounded task (after ``reset``): text, goal facts, static facts on every entity."""
        if self._task is None:
            return TaskSpec(task_text(self._task_config))
        return TaskSpec(self._task.text, self._task.goal_facts, self._task_facts)

    @property
    def world(self) -> World:
        """The episode's names and latest metadata (privileged: for tests and scoring)."""
        if self._world is None:
            raise RuntimeError("no episode yet; call reset() first")
        return self._world

    @property
    def controller(self) -> Any:
        """The ai2thor Controller (``None`` until the first ``reset`` builds it)."""
        return self._controller

    def action_from_name(self, name: str) -> Any:
        return name  # the action *is* its name: a text command

    def action_name(self, action: Any) -> str:
        return str(action)

    # ------------------------------------------------------------------ internals

    def _controller_kwargs(self, scene: str) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "scene": scene,
            "gridSize": self.grid_size,
            "visibilityDistance": self.visibility_distance,
            "width": self.width,
            "height": self.height,
            "renderDepthImage": False,
            "renderInstanceSegmentation": False,
        }
        if self.platform is not None:
            kwargs["platform"] = self.platform
        if self.x_display is not None:
            kwargs["x_display"] = self.x_display
        kwargs.update(self.controller_options)
        return kwargs

    def _load_scene(self, scene: str) -> Any:
        """Start the simulator in ``scene`` or reset the running one to it; the metadata."""
        if self._controller is None:
            if self._source is None:  # closed after being given a controller
                self._source = find_build(self.local_executable_path, download=self.download)
            self._controller = start_controller(self._source, self._controller_kwargs(scene))
            self._owns_controller = True
            return self._controller.last_event.metadata
        try:
            event = self._controller.reset(
                scene, gridSize=self.grid_size, visibilityDistance=self.visibility_distance
            )
        except ValueError as exc:  # ai2thor: the scene is not in this build
            lines = [line for line in str(exc).splitlines() if line.strip()]
            raise ValueError(f"scene {scene!r}: {lines[0] if lines else exc}") from None
        return event.metadata

    def _thor(self, calls: list[dict[str, Any]], thor_call: ThorCall) -> tuple[bool, str, Any]:
        """One ``Controller.step``; returns (success, error message, event)."""
        assert self._controller is not None
        calls.append(thor_call.as_dict())
        try:
            event = self._controller.step(action=thor_call.action, **thor_call.kwargs())
        except ValueError as exc:  # ai2thor raises for InvalidAction/InvalidArgument/...
            return (
                False,
                str(exc).strip() or f"{thor_call.action} failed",
                self._controller.last_event,
            )
        metadata = event.metadata
        if metadata.get("lastActionSuccess"):
            return True, "", event
        return False, str(metadata.get("errorMessage") or f"{thor_call.action} failed"), event

    def _execute(
        self, world: World, cmd: Command, calls: list[dict[str, Any]]
    ) -> tuple[bool, str, str]:
        """Run an admissible command; (success, error message, feedback text)."""
        if cmd.verb == "go":
            target = world.ids[cmd.args[0]]
            ok, error, event = self._thor(
                calls, call("GetInteractablePoses", objectId=target, standings=[True])
            )
            if ok:
                poses = list(event.metadata.get("actionReturn") or [])
                pose = pick_pose(poses, world.objects[target])
                if pose is None:
                    ok = False
                    error = f"GetInteractablePoses: no pose reaches {text_name(cmd.args[0])}"
                else:
                    ok, error, event = self._thor(calls, teleport_call(pose))
                    world.update(event.metadata)
            if not ok:
                return False, error, NOTHING_HAPPENS
            world.at = cmd.args[0]
        for thor_call in interaction_calls(world, cmd, force_action=self.force_action):
            ok, error, event = self._thor(calls, thor_call)
            world.update(event.metadata)
            if not ok:
                return False, f"{thor_call.action}: {error}", NOTHING_HAPPENS
        if cmd.verb in ("heat", "cool", "clean"):
            world.treat(cmd.verb, cmd.args[0])
        return True, "", feedback(world, cmd)

    def _info(self, text: str, ok: bool, error: str, calls: list[dict[str, Any]]) -> dict[str, Any]:
        world, task = self._world, self._task
        assert world is not None
        assert task is not None
        self._admissible = admissible(world)
        self._text = text
        return {
            "facts": world.facts(),
            "text": text,
            "optimal_steps": self._optimal,
            "admissible_actions": list(self._admissible),
            "action_success": ok,
            "error_message": error,
            "thor_calls": calls,
            "scene": self._scene,
            "steps": self._steps,
            "success": False,
            "won": False,
            "task_family": task.family,
        }
