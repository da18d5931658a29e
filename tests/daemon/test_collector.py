"""The daemon's collector settings: startup objects frozen, fewer collections, cycles still freed."""

import gc
import weakref
from collections.abc import Iterator

import pytest

from cogos.daemon.collector import YOUNG_THRESHOLD, settle_collector


@pytest.fixture
def restored_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_settle_freezes_what_exists_and_still_frees_cycles(restored_collector: None) -> None:
    before = _Node()
    settle_collector()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD
    assert not any(o is before for o in gc.get_objects()), "startup objects are not frozen"
    a, b = _Node(), _Node()
    a.other, b.other = b, a  # a cycle made after startup is garbage the collector must find
    gone = weakref.ref(a)
    del a, b
    gc.collect()
    assert gone() is None
