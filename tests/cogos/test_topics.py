import pytest

from cogos.bus import compile_filter, topic_matches, validate_topic


@pytest.mark.parametrize(
    ("flt", "topic", "expected"),
    [
        ("a/b", "a/b", True),
        ("a/b", "a/c", False),
        ("a/b", "a/b/c", False),
        ("a/+", "a/b", True),
        ("a/+", "a/b/c", False),
        ("a/+/c", "a/x/c", True),
        ("+/+", "a/b", True),
        ("+", "a", True),
        ("+", "a/b", False),
        ("a/#", "a", True),  # '#' also matches the parent level (MQTT 4.7.1.2)
        ("a/#", "a/b/c/d", True),
        ("a/#", "b/a", False),
        ("#", "anything/at/all", True),
        ("#", "$bus/error", False),  # wildcards do not match $-topics at the first level
        ("+/error", "$bus/error", False),
        ("$bus/#", "$bus/error", True),
        ("$bus/+", "$bus/error", True),
        ("a//b", "a//b", True),
        ("a/+/b", "a//b", True),
    ],
)
def test_filter_matching(flt: str, topic: str, expected: bool) -> None:
    assert topic_matches(flt, topic) is expected


@pytest.mark.parametrize("flt", ["a/#/b", "a#", "a/b+", "+a", "", "#/x"])
def test_invalid_filters_rejected(flt: str) -> None:
    with pytest.raises(ValueError, match="filter"):
        compile_filter(flt)


@pytest.mark.parametrize("topic", ["", "a/+", "a/#", "a\x00b"])
def test_invalid_topic_names_rejected(topic: str) -> None:
    with pytest.raises(ValueError, match="topic"):
        validate_topic(topic)
