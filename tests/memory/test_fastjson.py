"""The memory's fast JSON writes what the standard library writes, errors included.

The text is the same but for the case of ``\\u`` escapes (rapidjson writes ``\\u001F``), so
the values are compared as the standard library reads them back, and the text where no control
character is escaped."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memory.fastjson import dumps


def reference(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),  # past 64 bits too
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=8), inner, max_size=5),
        st.dictionaries(st.integers(), inner, max_size=3),  # keys the encoder makes strings
    ),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(VALUES)
def test_the_same_text_as_the_standard_library(value: Any) -> None:
    try:
        expected = reference(value)
    except (TypeError, ValueError) as exc:
        with pytest.raises(type(exc)):
            dumps(value)
        return
    text = dumps(value)
    assert reference(json.loads(text)) == reference(json.loads(expected))
    if "\\u" not in expected:
        assert text == expected


def test_non_finite_numbers_are_written_as_the_standard_library_reads_them() -> None:
    text = dumps({"value": -math.inf, "reward": math.nan, "big": 2**70})
    assert text == '{"value":-Infinity,"reward":NaN,"big":1180591620717411303424}'
    back = json.loads(text)
    assert back["value"] == -math.inf and math.isnan(back["reward"]) and back["big"] == 2**70


def test_what_json_cannot_hold_is_refused_with_its_message() -> None:
    with pytest.raises(TypeError, match="set is not JSON serializable"):
        dumps({"facts": {("at", "c0_0")}})
