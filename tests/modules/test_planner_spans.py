"""Planner solves as spans: real Fast Downward in its worker process, then the plan cache."""

from tests.extras import needs_extra
from tests.spans import TELEMETRY_MODULES

needs_extra("telemetry", *TELEMETRY_MODULES)

from cogos import Agent, load_config_text
from tests.spans import attrs, in_memory, named, parent_of, undocumented

CONFIG = """
episodes: 2
env: {name: maze, options: {width: 7, height: 7, radius: 7, goal_known: true}}
agent:
  policy: {name: planner_first}
  modules:
    - {name: perception.facts}
    - {name: planner.pddl, options: {engine: fast-downward, direct_search: false}}
"""


async def test_an_engine_solve_then_a_cache_hit() -> None:
    """The whole maze is in sight: one plan per episode, the same plan both times."""
    telemetry, exporter = in_memory()
    agent = Agent(load_config_text(CONFIG), telemetry=telemetry)
    async with agent:
        first = await agent.run_episode(0, 5)
        second = await agent.run_episode(1, 5)
    assert first.success and second.success
    spans = list(exporter.get_finished_spans())
    solved, cached = named(spans, "planner.solve")
    for span in (solved, cached):
        decide = parent_of(spans, span)
        assert decide is not None and decide.name == "cogos.decide"
        assert parent_of(spans, decide) in named(spans, "cogos.cycle")
        attributes = attrs(span)
        assert attributes["cogos.planner.domain"] == "grid-nav", "the PDDL domain's name"
        assert attributes["cogos.planner.engine"] == "fast-downward"
        assert attributes["cogos.planner.objects"] > 0 and attributes["cogos.planner.facts"] > 0
        assert attributes["cogos.planner.goals"] == 1
        assert attributes["cogos.planner.validated"] is True
        assert attributes["cogos.planner.plan_length"] == first.optimal_steps
    assert attrs(solved)["cogos.planner.method"] == "engine"
    assert attrs(solved)["cogos.planner.solver"] == "fast-downward"
    assert attrs(solved)["cogos.planner.status"] == "solved"
    assert attrs(solved)["cogos.planner.cache_hit"] is False
    assert attrs(cached)["cogos.planner.method"] == "cache"
    assert attrs(cached)["cogos.planner.cache_hit"] is True
    assert undocumented(spans) == set()
