"""The symbolic household: ALFRED's six task families behind ALFWorld's text commands.

Importing the package registers the gymnasium id ``cogos/Household-v0`` (once, however often it
is imported), so ``gymnasium.make("cogos/Household-v0", task="pick_heat_then_place_in_recep")``
works after ``import envs.household``. The world, the commands and the facts are described in
docs/household.md.
"""

import gymnasium

from envs.household.catalog import FAMILIES, LAMPS, OBJECTS, RECEPTACLES, where_found
from envs.household.commands import Command, parse_command
from envs.household.env import HouseholdEnv
from envs.household.generator import Episode, generate_episode
from envs.household.names import entity_id, fact_name, kind_of, text_name
from envs.household.solver import shortest_plan
from envs.household.tasks import Task
from envs.household.world import Layout, State

GYM_ID = "cogos/Household-v0"

if GYM_ID not in gymnasium.registry:
    gymnasium.register(id=GYM_ID, entry_point="envs.household:HouseholdEnv")

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
