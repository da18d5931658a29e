"""Fact schemas: what a component reads, checked before facts from outside reach a cycle."""

from __future__ import annotations

import asyncio

import pytest

from cogos.agent import Agent
from cogos.config import load_config
from cogos.errors import ConfigError, NoActionError
from cogos.facts import ANY_FACTS, FactError, FactSchema
from cogos.observation import Observation
from envs.maze import parse_cell
from policies.explore import GRID_FACTS, GridMap

GRID = FactSchema({"at": ("cell",), "open": ("cell", "cell")}, {"cell": parse_cell})


@pytest.mark.parametrize(
    ("atoms", "problem"),
    [
        ([["at"]], "facts[0]: 'at' takes 1 argument (at CELL), got 0"),
        ([["at", "c0_0"], ["open", "c0_0"]], "facts[1]: 'open' takes 2 arguments"),
        ([["at", "kitchen"]], "facts[0]: argument 1 of 'at' must be a cell: not a cell name"),
        ([[]], "facts[0]: an atom needs a predicate"),
        ([["", "x"]], "facts[0]: predicate and arguments must be non-empty strings"),
        ([["at", 3]], "facts[0]: predicate and arguments must be non-empty strings"),
    ],
)
def test_an_atom_that_does_not_fit_is_refused_with_its_place(
    atoms: list[list[object]], problem: str
) -> None:
    with pytest.raises(FactError) as caught:
        GRID.check(atoms)
    assert str(caught.value).startswith(problem)


def test_fitting_atoms_and_unknown_predicates_pass() -> None:
    GRID.check([["at", "c1_2"], ["open", "c1_2", "c1_3"], ["door", "c1_3", "red"], ["lit"]])
    ANY_FACTS.check([["at"], ["anything", "goes"]])


def test_schemas_merge_and_refuse_to_disagree_on_an_arity() -> None:
    merged = GRID.merged(FactSchema({"holding": ("object",)}))
    assert set(merged.predicates) == {"at", "open", "holding"}
    assert merged.problem(["at", "kitchen"]) is not None  # the cell check survives the merge
    with pytest.raises(ValueError, match="'at' has 1 argument"):
        GRID.merged(FactSchema({"at": ("object", "place")}))


def test_the_grid_map_skips_atoms_of_another_vocabulary() -> None:
    grid = GridMap()
    grid.update(frozenset({("at", "robot", "kitchen"), ("at", "c0_0"), ("open", "c0_0")}))
    assert grid.position == "c0_0"
    assert grid.adjacent == {}


def test_an_agent_reads_what_its_policy_declares() -> None:
    agent = Agent(load_config("config/external_maze.yaml", []))
    assert agent.fact_schema.predicates == GRID_FACTS.predicates
    planner = Agent(load_config("config/maze_planner.yaml", ["trace.enabled=false"]))
    assert not planner.fact_schema  # planner_first reads any domain's facts


def test_components_that_disagree_refuse_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    from policies.explore import ExplorePolicy

    monkeypatch.setattr(ExplorePolicy, "facts", FactSchema({"at": ("cell",)}))
    from modules.perception.facts import FactPerception

    monkeypatch.setattr(FactPerception, "facts", FactSchema({"at": ("who", "where")}))
    with pytest.raises(ConfigError, match="'at' has"):
        Agent(load_config("config/external_maze.yaml", []))


def test_a_percept_with_nothing_to_do_is_no_action() -> None:
    async def deliberate() -> None:
        agent = Agent(load_config("config/external_maze.yaml", []))
        async with agent:
            await agent.begin_episode(0, 0)
            walled = frozenset({("at", "c0_0"), ("cell", "c0_0")})
            await agent.cycle.deliberate(Observation(None, 0.0, False, False, {}, walled, "", ()))

    with pytest.raises(NoActionError, match="proposed nothing"):
        asyncio.run(deliberate())
