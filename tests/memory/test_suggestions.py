"""One did-you-mean for every name CogOS refuses: the same threshold and the same words."""

from memory.suggestions import close_matches, did_you_mean


def test_close_names_are_offered_closest_first() -> None:
    known = ["explore", "random", "planner_first", "llm"]
    assert close_matches("explor", known) == ["explore"]
    assert close_matches("planer_first", known) == ["planner_first"]
    assert close_matches("zzz", known) == []
    assert len(close_matches("ab", ["abc", "abd", "abe"], n=1)) == 1


def test_the_hint_reads_as_a_sentence() -> None:
    assert did_you_mean([]) == ""
    assert did_you_mean(["explore"]) == "; did you mean 'explore'?"
    assert did_you_mean(["a", "b"]) == "; did you mean 'a' or 'b'?"
    assert did_you_mean(["a", "b", "c"]) == "; did you mean 'a', 'b' or 'c'?"
