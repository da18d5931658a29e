"""The symbolic household: ALFRED's six task families behind ALFWorld's text commands.

Its gymnasium id is ``cogos/Household-v0`` (registered by importing ``envs``, see
:mod:`envs.registration`):
``gymnasium.make("cogos/Household-v0", task="pick_heat_then_place_in_recep")``. The world, the
commands and the facts are described in docs/household.md.
"""

from envs.household.catalog import FAMILIES, LAMPS, OBJECTS, RECEPTACLES, where_found
from envs.household.commands import Command, parse_command
from envs.household.env import HouseholdEnv
from envs.household.generator import Episode, generate_episode
from envs.household.names import entity_id, fact_name, kind_of, text_name
from envs.household.solver import shortest_plan
from envs.household.tasks import Task
from envs.household.world import Layout, State
from envs.registration import HOUSEHOLD_ID as GYM_ID

__all__ = [
    "FAMILIES",
    "GYM_ID",
    "LAMPS",
    "OBJECTS",
    "RECEPTACLES",
    "Command",
    "Episode",
    "HouseholdEnv",
    "Layout",
    "State",
    "Task",
    "entity_id",
    "fact_name",
    "generate_episode",
    "kind_of",
    "parse_command",
    "shortest_plan",
    "text_name",
    "where_found",
]
