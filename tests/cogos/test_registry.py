import pytest

from cogos.errors import ComponentNotFound, RegistryError
from cogos.module import Module
from cogos.registry import Registry, get, registry


def test_builtins_come_from_entry_points() -> None:
    assert {"maze"} <= set(registry("env").names())
    assert {"random", "explore"} <= set(registry("policy").names())
    assert "perception.facts" in registry("module").names()
    from envs.maze import MazeEnv

    assert get("env", "maze") is MazeEnv


def test_not_found_suggests_close_names() -> None:
    with pytest.raises(ComponentNotFound) as info:
        get("policy", "explor")
    err = info.value
    assert isinstance(err, LookupError)
    assert err.suggestions == ("explore",)
    assert "did you mean 'explore'" in str(err)


def test_register_and_replace() -> None:
    reg = Registry("module", "cogos.test-nothing")

    class A(Module):
        pass

    class B(Module):
        pass

    reg.register("a", A)
    assert reg.get("a") is A
    with pytest.raises(RegistryError, match="already registered"):
        reg.register("a", B)
    reg.register("a", B, replace=True)
    assert reg.get("a") is B


def test_lazy_string_targets_and_direct_import_specs() -> None:
    reg = Registry("policy", "cogos.test-nothing")
    reg.register("lazy", "policies.explore:ExplorePolicy")
    from policies.explore import ExplorePolicy

    assert reg.get("lazy") is ExplorePolicy
    assert reg.get("policies.random_policy:RandomPolicy").__name__ == "RandomPolicy"
    with pytest.raises(RegistryError, match="cannot import"):
        reg.get("no_such_package.x:Y")
    with pytest.raises(RegistryError, match="no attribute"):
        reg.get("policies.explore:Nope")
    reg.register("broken", "policies.explore:GridMap.update")
    with pytest.raises(RegistryError, match="not a class"):
        reg.get("broken")
