"""A component names its options model once, as the type argument of Module or Policy.

The loader validates YAML against ``Options`` (set from that argument), the component sees
``self.options`` as that model, and components written the older way (``Options = ...`` and no
type argument) keep working.
"""

import logging
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel, ConfigDict

from cogos import Agent, Bus, Module, Phase, Policy, load_config_text
from cogos.component import Component, OptionsT, options_argument
from cogos.config.components import options_model
from cogos.context import ComponentContext, NoOptions
from cogos.errors import ConfigError, RegistryError
from cogos.registry import register
from memory.cycle_records import Candidate, Rejection
from memory.working import WorkingMemory


class VetoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    action: str = "north"
    reason: str = "not that way"


class StricterVetoOptions(VetoOptions):
    strict: bool = True


class TypedVeto(Module[VetoOptions]):
    phases: ClassVar = frozenset({Phase.CRITIQUE})

    async def critique(self, wm: WorkingMemory, candidate: Candidate) -> Rejection | None:
        if candidate.name == self.options.action:  # typed: no isinstance narrowing
            return Rejection(self.options.reason, by=self.name, candidate=candidate)
        return None


class OldStyleVeto(Module):
    """Written before the type argument existed: ``Options`` declared, options untyped."""

    Options = VetoOptions
    phases: ClassVar = frozenset({Phase.CRITIQUE})

    async def critique(self, wm: WorkingMemory, candidate: Candidate) -> Rejection | None:
        action = getattr(self.options, "action", None)
        return Rejection("old", by=self.name) if candidate.name == action else None


def context(options: BaseModel, name: str = "veto") -> ComponentContext:
    return ComponentContext(
        name=name, agent="a", bus=Bus(), options=options, logger=logging.getLogger("test")
    )


def test_the_type_argument_is_the_options_model_the_loader_validates() -> None:
    assert TypedVeto.Options is VetoOptions
    assert options_model("module", TypedVeto) is VetoOptions
    assert options_argument(TypedVeto) is VetoOptions
    veto = TypedVeto(context(VetoOptions(action="east")))
    assert isinstance(veto.options, VetoOptions) and veto.options.action == "east"


def test_a_component_without_options_still_takes_none() -> None:
    class Plain(Module):
        pass

    assert Plain.Options is NoOptions and options_argument(Plain) is None
    assert isinstance(Plain(context(NoOptions())).options, NoOptions)


def test_old_style_options_still_work() -> None:
    assert options_model("module", OldStyleVeto) is VetoOptions
    assert OldStyleVeto(context(VetoOptions())).options == VetoOptions()


def test_a_subclass_inherits_the_options_and_may_narrow_them() -> None:
    class Inherits(TypedVeto):
        pass

    class Narrows(TypedVeto):
        Options = StricterVetoOptions

    class NarrowsAgain(Narrows):  # keeps its parent's narrower model, not the type argument
        pass

    assert Inherits.Options is VetoOptions
    assert Narrows.Options is StricterVetoOptions
    assert NarrowsAgain.Options is StricterVetoOptions


def test_options_that_contradict_the_type_argument_are_refused_at_class_creation() -> None:
    class Other(BaseModel):
        pass

    with pytest.raises(RegistryError, match="drop the Options line"):

        class Confused(Module[VetoOptions]):
            Options = Other


def test_a_generic_intermediate_base_passes_its_argument_on() -> None:
    class Base(Module[OptionsT]):
        pass

    class Concrete(Base[VetoOptions]):
        pass

    assert Base.Options is NoOptions and options_argument(Base) is None
    assert Concrete.Options is VetoOptions


def test_options_of_another_model_are_refused_when_built_by_hand() -> None:
    with pytest.raises(RegistryError, match="takes options of type VetoOptions, got NoOptions"):
        TypedVeto(context(NoOptions()))


def test_policies_take_their_options_the_same_way() -> None:
    class EpsilonOptions(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)
        epsilon: float = 0.1

    class Greedy(Policy[EpsilonOptions]):
        async def propose(self, wm: WorkingMemory) -> list[Candidate]:
            return []

    assert issubclass(Greedy, Component) and Greedy.Options is EpsilonOptions
    assert Greedy(context(EpsilonOptions(epsilon=0.5), "greedy")).options.epsilon == 0.5


CONFIG = """
name: typed-options
episodes: 1
env: {{name: maze, options: {{width: 5, height: 5, maze_seed: 1, max_steps: 5}}}}
agent:
  policy: {{name: random}}
  modules:
    - {{name: perception.facts}}
    - {{name: {name}, options: {options}}}
"""


@pytest.mark.parametrize("cls", [TypedVeto, OldStyleVeto])
async def test_both_styles_load_from_yaml_and_run(cls: type[Module[Any]]) -> None:
    name = f"test.{cls.__name__.lower()}"
    register("module", name, cls, replace=True)
    agent = Agent(load_config_text(CONFIG.format(name=name, options="{action: east}")))
    async with agent:
        await agent.run_episode(0, 0)
    veto = next(m for m in agent.modules if isinstance(m, cls))
    assert veto.options == VetoOptions(action="east")


def test_a_misspelt_option_of_a_typed_module_is_a_config_error() -> None:
    register("module", "test.typedveto", TypedVeto, replace=True)
    with pytest.raises(ConfigError, match="did you mean 'action'") as info:
        load_config_text(CONFIG.format(name="test.typedveto", options="{acton: east}"))
    assert info.value.key is not None and info.value.key.endswith("options.acton")
