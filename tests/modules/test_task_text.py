"""Reading a task's text without a model: sentences, patterns, the worked example's pairing of
sentences with facts, relaxed reachability and plan validation (tasks in tests/fixtures)."""

from pathlib import Path

import pytest

from modules.llm.example_alignment import align, known_readings
from modules.llm.object_families import Family, expand, find_families, members, quantify
from modules.llm.task_text import lift, named_words, sentences
from modules.planning.domain import Domain, DomainError
from modules.planning.problem_parts import read_problem
from modules.planning.reachability import relaxed_reach
from modules.planning.validation import validate_plan

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "nl_planning"


def load(domain: str) -> Domain:
    return Domain.from_text((FIXTURES / domain / "domain.pddl").read_text())


def test_sentences_split_at_line_ends_and_stops() -> None:
    text = "Robot r1 is in room k1. Robot r2 is in room k2.\n\nAll hands are free!\nIn the end:\n"
    assert sentences(text) == [
        "Robot r1 is in room k1.",
        "Robot r2 is in room k2.",
        "All hands are free!",
        "In the end:",
    ]


def test_patterns_group_sentences_by_shape_and_slot_types() -> None:
    objects = {"r1": "robot", "k1": "room", "k10": "room", "d1": "package"}
    patterns = lift(
        [
            "Robot r1 is in room k10.",
            "Robot r1 is in room k1.",
            "Package d1 is in room k1.",
            "There are 10 rooms.",
            "There are 2 rooms.",
        ],
        objects,
    )
    texts = [(p.text, p.slot_types, len(p.groundings)) for p in patterns]
    assert texts == [
        ("Robot ?A is in room ?B.", ("robot", "room"), 2),  # k10 is not k1 followed by 0
        ("Package ?A is in room ?B.", ("package", "room"), 1),
        ("There are 10 rooms.", (), 1),
        ("There are 2 rooms.", (), 1),
    ]
    assert patterns[0].groundings == (("r1", "k10"), ("r1", "k1"))
    assert patterns[2].shape == patterns[3].shape == "There are # rooms."
    # an answer read from the first sentence, lifted, and grounded for both
    lifted = patterns[0].lift_facts([("robot-at", "r1", "k10"), ("ready", "r9")])
    assert lifted == [("robot-at", "?A", "?B"), ("ready", "r9")]
    assert patterns[0].ground(lifted) == {
        ("robot-at", "r1", "k10"),
        ("robot-at", "r1", "k1"),
        ("ready", "r9"),
    }


def test_the_worked_example_is_paired_sentence_by_sentence() -> None:
    domain = load("stacks")
    example = read_problem(domain.text, (FIXTURES / "stacks" / "p_example.pddl").read_text())
    readings = align((FIXTURES / "stacks" / "p_example.nl").read_text(), example)
    assert readings is not None
    by_sentence = {r.sentence: (r.part, set(r.facts)) for r in readings}
    assert by_sentence["Block b1 sits on block b2."] == ("init", {("on", "b1", "b2")})
    # no word of "clear" in it: found because the other sentence of its shape says clear b1
    assert by_sentence["Nothing is on block b3."] == ("init", {("clear", "b3")})
    assert by_sentence["The hand is empty."] == ("init", {("hand-empty",)})
    assert by_sentence["There are 3 blocks."] == ("neither", set())
    assert by_sentence["Block b3 should sit on block b1."] == ("goal", {("on", "b3", "b1")})
    known = known_readings(readings, dict(example.objects))
    assert known[("Block ?A sits on block ?B.", ("object", "object"))] == (
        "init",
        (("on", "?A", "?B"),),
    )


def test_a_fact_that_no_sentence_states_means_no_pairing() -> None:
    domain = load("stacks")
    example = read_problem(domain.text, (FIXTURES / "stacks" / "p_example.pddl").read_text())
    text = (FIXTURES / "stacks" / "p_example.nl").read_text().replace("The hand is empty.\n", "")
    assert align(text, example) is None


def test_facts_about_unnamed_objects_are_left_to_the_model_without_their_naming() -> None:
    domain = load("delivery")
    example = read_problem(domain.text, (FIXTURES / "delivery" / "p_example.pddl").read_text())
    readings = align((FIXTURES / "delivery" / "p_example.nl").read_text(), example)
    assert readings is not None
    free = next(r for r in readings if r.sentence == "All hands are free.")
    assert len(free.facts) == 4 and free.part == "init"
    known = known_readings(readings, dict(example.objects))
    assert ("All hands are free.", ()) not in known  # its facts name the example's hands
    assert known[("Robot ?A is in room ?B.", ("robot", "room"))][1] == (("robot-at", "?A", "?B"),)


def test_the_examples_naming_of_unnamed_objects_is_learnt_and_applied() -> None:
    """Qwen2.5-Coder-1.5B on LLM+P grippers copied the example's four grippers into tasks with
    one, three or four robots; the example's problem shows the naming: one of each per robot."""
    domain = load("delivery")
    example = read_problem(domain.text, (FIXTURES / "delivery" / "p_example.pddl").read_text())
    text = (FIXTURES / "delivery" / "p_example.nl").read_text()
    objects = dict(example.objects)
    families = find_families(objects, named_words(text), example.init)
    assert families == [Family("hand", "lhand", "robot"), Family("hand", "rhand", "robot")]
    task = {"r1": "robot", "r3": "robot", "r7": "robot", "k1": "room"}
    assert members(families, task) == {f"{side}hand{i}": "hand" for side in "lr" for i in (1, 3, 7)}
    readings = align(text, example)
    assert readings is not None
    known = known_readings(readings, objects, families)
    part, facts = known[("All hands are free.", ())]
    assert part == "init"
    assert set(facts) == {
        ("hand-free", "<robot>", "lhand<robot>"),
        ("hand-free", "<robot>", "rhand<robot>"),
    }
    assert set(expand(facts, task)) == {
        ("hand-free", f"r{i}", f"{side}hand{i}") for side in "lr" for i in (1, 3, 7)
    }


HANDS = {"r1": "robot", "r2": "robot", "lhand1": "hand", "lhand2": "hand"}
FREE = [("hand-free", "r1", "lhand1"), ("hand-free", "r2", "lhand2")]


@pytest.mark.parametrize(
    ("objects", "facts", "why"),
    [
        # one owner, one part: no convention can be told from it (barman: cocktail1, shaker1)
        ({"r1": "robot", "lhand1": "hand"}, FREE[:1], "one owner"),
        ({**HANDS, "spare": "hand"}, FREE, "an unnamed hand with no index"),
        ({**HANDS, "lhand3": "hand"}, FREE, "a hand of no robot"),
        (HANDS, [("hand-free", "r1", "lhand1")], "no fact ties lhand2 to r2"),
        (
            {**HANDS, "p1": "pack", "p2": "pack"},
            [*FREE, ("in", "lhand1", "p1"), ("in", "lhand2", "p2")],
            "two candidate owners",
        ),
    ],
)
def test_no_naming_is_learnt_from_what_does_not_show_one(
    objects: dict[str, str], facts: list[tuple[str, ...]], why: str
) -> None:
    named = [n for n, kind in objects.items() if kind != "hand"]
    assert find_families(objects, named, facts) == [], why


def test_facts_not_one_template_per_owner_are_not_quantified() -> None:
    objects = HANDS
    every = FREE
    families = find_families(objects, ["r1", "r2"], every)
    assert families == [Family("hand", "lhand", "robot")]
    assert quantify(every, families, objects) == (("hand-free", "<robot>", "lhand<robot>"),)
    assert quantify(every[:1], families, objects) is None  # r2's hand is not free
    crossed = [("hand-free", "r1", "lhand2"), ("hand-free", "r2", "lhand1")]
    assert quantify(crossed, families, objects) is None  # a robot with another's hand


def test_relaxed_reachability_names_what_is_missing() -> None:
    domain = load("delivery")
    truth = read_problem(domain.text, (FIXTURES / "delivery" / "p02.pddl").read_text())
    objects = dict(truth.objects)
    assert relaxed_reach(domain, objects, truth.init, truth.goal).explain() is None
    no_hands = {name: kind for name, kind in objects.items() if kind != "hand"}
    init = frozenset(a for a in truth.init if a[0] != "hand-free")
    reach = relaxed_reach(domain, no_hands, init, truth.goal)
    assert reach.unreachable_goal == tuple(sorted(truth.goal))
    assert reach.missing_types == ("hand",)
    message = reach.explain()
    assert message is not None
    assert "(package-at d1 k3)" in message and "no objects of type hand" in message
    assert "grab" in message and "release" in message


def test_plans_are_validated_against_a_pddl_problem() -> None:
    domain_text = (FIXTURES / "stacks" / "domain.pddl").read_text()
    problem_text = (FIXTURES / "stacks" / "p01.pddl").read_text()
    good = [("pick-up", ("b1",)), ("stack", ("b1", "b2"))]
    assert validate_plan(domain_text, problem_text, good) == (True, "valid")
    assert validate_plan(
        domain_text, problem_text, [("PICK-UP", ("B1",)), ("stack", ("b1", "b2"))]
    )[0]
    assert validate_plan(domain_text, problem_text, good[:1]) == (False, "unsatisfied_goals")
    assert validate_plan(domain_text, problem_text, good[1:])[1].startswith("inapplicable_action")
    assert validate_plan(domain_text, problem_text, [("fly", ("b1",))])[1] == (
        "step 1: unknown action 'fly'"
    )
    assert (
        "unknown object(s) b9"
        in validate_plan(domain_text, problem_text, [("pick-up", ("b9",))])[1]
    )
    with pytest.raises(DomainError, match=r"bad\.pddl"):
        validate_plan(domain_text, "(define (problem", good, "bad.pddl")


def test_published_domains_the_reader_refuses_as_written_are_read() -> None:
    """A name both a predicate and an action (floortile's up), an either type (storage), a
    negated goal fact (termes): read as documented in modules/planning/pddl_reader.py."""
    from modules.planning.pddl_reader import readable

    text = (FIXTURES / "delivery" / "domain.pddl").read_text()
    both = text.replace("(:action go", "(:action robot-at").replace(
        "(robot-at ?r - robot ?x - room)\n",
        "(robot-at ?r - robot ?x - room)\n               (go)\n",
    )
    domain = Domain.from_text(both)
    assert "robot-at" in domain.schemas and "robot-at" in domain.predicates
    either = text.replace(
        "(package-at ?p - package ?x - room)", "(package-at ?p - (either package hand) ?x - room)"
    )
    assert "(package-at ?p - object ?x - room)" in readable(either)
    assert Domain.from_text(either).signatures["package-at"] == ("object", "room")
    problem = (
        (FIXTURES / "delivery" / "p01.pddl")
        .read_text()
        .replace(
            "(:goal (and (package-at d1 k2)))",
            "(:goal (and (package-at d1 k2) (not (robot-at r1 k1))))",
        )
    )
    parts = read_problem(text, problem)
    assert parts.goal == {("package-at", "d1", "k2")}
    assert parts.goal_not == {("robot-at", "r1", "k1")}
