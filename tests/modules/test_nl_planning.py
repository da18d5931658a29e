"""A task in English to a verified plan, with a scripted chat model that records what it was
asked (the behaviour against a real model is measured by bench/llm_plan.py, see the README).

The scripted answers are what a model would write; the translation, the checks, the planner
(real Fast Downward) and the repair loop are the real ones."""

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cli_runner import cogos
from tests.extras import needs_extra

needs_extra("llm", "langchain_core", "tenacity")

from langchain_core.messages import AIMessage

from cogos.config import LLMSpec
from modules.llm.client import LLMClient
from modules.llm.example_alignment import align
from modules.llm.nl_planning import plan_from_text
from modules.llm.problem_translation import WorkedExample, translate_facts, translate_objects
from modules.planning.domain import Domain
from modules.planning.engine import PlannerWorker
from modules.planning.problem_parts import ProblemParts, read_problem
from modules.planning.validation import validate_plan

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "nl_planning"


class RecordingModel:
    """Replies in order, and keeps every prompt and the JSON schema it came with."""

    def __init__(self, replies: list[str]) -> None:
        self.replies = list(replies)
        self.prompts: list[str] = []
        self.schemas: list[Any] = []

    async def ainvoke(self, messages: Any, **kwargs: Any) -> AIMessage:
        self.prompts.append("\n".join(str(m.content) for m in messages))
        self.schemas.append(kwargs.get("response_format", {}).get("schema"))
        if not self.replies:
            raise RuntimeError("no more scripted replies")
        return AIMessage(
            self.replies.pop(0),
            usage_metadata={"input_tokens": 100, "output_tokens": 10, "total_tokens": 110},
        )


def client_for(model: RecordingModel, **kw: Any) -> LLMClient:
    spec = LLMSpec(provider="scripted", model="test", structured_output="json_object", **kw)
    return LLMClient(spec, model)


class Task:
    """One fixture task: its domain, worked example, text and ground truth."""

    def __init__(self, domain: str, task: str) -> None:
        folder = FIXTURES / domain
        self.domain = Domain.from_text((folder / "domain.pddl").read_text())
        self.example = WorkedExample.load(folder / "p_example.nl", self.domain)
        self.text = (folder / f"{task}.nl").read_text()
        self.truth_text = (folder / f"{task}.pddl").read_text()
        self.truth: ProblemParts = read_problem(self.domain.text, self.truth_text)

    def objects_answer(self, drop_type: str | None = None) -> str:
        objects = dict(self.truth.objects)
        named = {w: objects[w] for w in objects if f" {w}." in self.text or f" {w} " in self.text}
        others: dict[str, list[str]] = {t: [] for t in self.domain.types}
        for name, kind in self.truth.objects:
            if name not in named and kind != drop_type:
                others[kind].append(name)
        return json.dumps({"named": named, "others": others})

    def facts_answer(self, only: set[str] | None = None) -> str:
        """Every sentence (one of each shape) read as the ground truth says."""
        readings = align(self.text, self.truth)
        assert readings is not None
        seen, out = set(), []
        for r in readings:
            shape = "".join(c for c in r.sentence if not c.isdigit())
            if shape in seen or (only is not None and r.sentence not in only):
                continue
            seen.add(shape)
            out.append(r.to_json())
        return json.dumps({"sentences": out})


async def test_sentences_of_the_examples_shapes_need_no_model_call() -> None:
    task = Task("stacks", "p02")
    model = RecordingModel([task.objects_answer()])
    client = client_for(model)
    objects, _ = await translate_objects(client, task.domain, task.text, example=task.example)
    translation, answer = await translate_facts(
        client, task.domain, task.text, objects, example=task.example
    )
    assert answer is None and len(model.prompts) == 1
    assert set(translation.sources) == {"example"}
    assert translation.init == task.truth.init and translation.goal == task.truth.goal
    # the objects step types every name the task uses: an enum the model cannot skip
    named = model.schemas[0]["properties"]["named"]
    assert named["required"] == ["b3", "b1", "b2"]
    assert named["properties"]["b1"]["enum"] == ["object", "none"]
    # the unnamed objects are bounded: a small model once wrote names until its context ran out
    assert model.schemas[0]["properties"]["others"]["properties"]["object"]["maxItems"] == 32


async def test_a_task_is_planned_and_the_plan_is_valid_for_the_ground_truth() -> None:
    task = Task("delivery", "p02")
    model = RecordingModel([task.objects_answer()])
    worker = PlannerWorker()
    try:
        result = await plan_from_text(
            client_for(model), task.domain, task.text, worker, example=task.example
        )
    finally:
        worker.close()
    assert result.status == "solved" and result.validated and result.rounds == 1
    assert result.plan is not None
    assert validate_plan(task.domain.text, task.truth_text, result.plan) == (True, "valid")
    # every sentence has a shape the example reads: the objects step is the only call
    assert result.llm_calls == 1 and result.input_tokens == 100


@pytest.mark.parametrize("name", ["p04", "p05"])
async def test_unnamed_objects_follow_the_examples_naming_whatever_the_model_lists(
    name: str,
) -> None:
    """Qwen2.5-Coder-1.5B on LLM+P grippers listed the example's four grippers for tasks with
    one, three or four robots, and the plans used robot3 with robot1's gripper (p08, p09, p13,
    p15). The hands come from the example's naming: one of each per robot of the task."""
    task = Task("delivery", name)
    answer = json.loads(task.objects_answer())
    answer["others"]["hand"] = ["lhand1", "rhand1", "lhand2", "rhand2"]  # the example's
    model = RecordingModel([json.dumps(answer)])
    worker = PlannerWorker()
    try:
        result = await plan_from_text(
            client_for(model), task.domain, task.text, worker, example=task.example
        )
    finally:
        worker.close()
    assert result.status == "solved" and result.plan is not None, result.feedback
    assert validate_plan(task.domain.text, task.truth_text, result.plan) == (True, "valid")
    assert result.translation is not None
    assert result.translation.objects == dict(task.truth.objects)
    assert result.translation.init == task.truth.init
    # the model is not asked for the hands
    assert "hand" not in model.schemas[0]["properties"]["others"]["properties"]


async def test_unnamed_owners_from_the_model_are_dropped() -> None:
    """Qwen2.5-Coder-1.5B on grippers p10 listed ``lgripper1`` as an unnamed robot: the hands
    were then grounded for it too (``free lgripper1 lgripper1``), which no planner reads. The
    example names every robot, so the model is not asked for unnamed ones."""
    task = Task("delivery", "p04")
    answer = json.loads(task.objects_answer())
    del answer["others"]["hand"]  # not asked for: the example's naming gives them
    answer["others"]["robot"] = ["lhand1"]
    model = RecordingModel([json.dumps(answer)])
    objects, _ = await translate_objects(
        client_for(model), task.domain, task.text, example=task.example
    )
    assert objects == dict(task.truth.objects)
    assert set(model.schemas[0]["properties"]["others"]["properties"]) == {"package", "room"}


async def test_a_missing_kind_of_object_goes_back_to_the_model_with_the_reason() -> None:
    task = Task("delivery", "p02")
    no_hands = json.loads(task.facts_answer())
    for sentence in no_hands["sentences"]:
        if sentence["sentence"] == "All hands are free.":
            sentence["facts"] = []  # there is no hand to name
    model = RecordingModel(
        [
            task.objects_answer(drop_type="hand"),  # no hands: nothing can be grabbed
            json.dumps(no_hands),
            task.objects_answer(),
            task.facts_answer(),
        ]
    )
    worker = PlannerWorker()
    try:
        result = await plan_from_text(client_for(model), task.domain, task.text, worker)
    finally:
        worker.close()
    assert result.status == "solved" and result.rounds == 2, result.feedback
    assert "no objects of type hand" in result.feedback[0]
    assert "no objects of type hand" in model.prompts[2]  # the objects step, asked again
    assert len(model.schemas[3]["properties"]["sentences"]["prefixItems"]) == 7
    assert result.plan is not None
    assert validate_plan(task.domain.text, task.truth_text, result.plan)[0]


async def test_an_unsolvable_translation_is_repaired_from_the_planners_verdict() -> None:
    task = Task("stacks", "p01")
    wrong = json.loads(task.facts_answer())
    for sentence in wrong["sentences"]:
        if sentence["part"] == "goal":  # b1 on b2 and b2 on b1: reachable, never both
            sentence["facts"] = [["on", "b1", "b2"], ["on", "b2", "b1"]]
    model = RecordingModel([task.objects_answer(), json.dumps(wrong), task.facts_answer()])
    worker = PlannerWorker()
    try:
        result = await plan_from_text(
            client_for(model), task.domain, task.text, worker, example=None, timeout=30
        )
    finally:
        worker.close()
    assert result.status == "solved" and result.rounds == 2
    assert "no plan reaches the goal" in result.feedback[0]
    assert "no plan reaches the goal" in model.prompts[2]


async def test_a_model_that_never_answers_usably_ends_without_a_plan() -> None:
    task = Task("stacks", "p01")
    bad = json.dumps({"named": {"b1": "spaceship", "b2": "object"}, "others": {"object": []}})
    model = RecordingModel([bad] * 3)
    worker = PlannerWorker()
    try:
        result = await plan_from_text(
            client_for(model, max_repairs=2), task.domain, task.text, worker, example=task.example
        )
    finally:
        worker.close()
    assert result.plan is None and result.status == "no_translation"
    assert "unknown type 'spaceship'" in result.feedback[-1]


async def test_subgoals_are_planned_one_after_another() -> None:
    task = Task("stacks", "p03")
    subgoals = json.dumps({"subgoals": [[["on", "b3", "b1"]], [["on", "b2", "b4"]]]})
    model = RecordingModel([task.objects_answer(), subgoals])
    worker = PlannerWorker()
    try:
        result = await plan_from_text(
            client_for(model),
            task.domain,
            task.text,
            worker,
            example=task.example,
            subgoals="always",
        )
    finally:
        worker.close()
    assert result.status == "solved" and result.subgoals == [
        [("on", "b3", "b1")],
        [("on", "b2", "b4")],
    ]
    assert result.subgoal_plan is not None
    assert validate_plan(task.domain.text, task.truth_text, result.subgoal_plan)[0]
    assert result.to_json()["subgoal_plan_length"] == len(result.subgoal_plan)


# --- cogos plan --task ----------------------------------------------------------------------


def write_llm(path: Path, replies: list[str]) -> Path:
    path.write_text(
        yaml.safe_dump({"llm": {"provider": "scripted", "model": "t", "responses": replies}})
    )
    return path


def test_cli_plans_a_task_and_writes_its_problem(tmp_path: Path) -> None:
    task = Task("delivery", "p01")
    llm = write_llm(tmp_path / "llm.yaml", [task.objects_answer()])
    out = tmp_path / "p01.pddl"
    folder = FIXTURES / "delivery"
    proc = cogos(
        "plan",
        str(folder / "domain.pddl"),
        "--task",
        str(folder / "p01.nl"),
        "--llm",
        str(llm),
        "--out",
        str(out),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "[example] Robot ?A is in room ?B. x2 -> init: (robot-at ?A ?B)" in proc.stdout
    assert "[example] All hands are free. x1 -> init: (hand-free r1 lhand1)" in proc.stdout
    assert "validated" in proc.stdout and "(grab " in proc.stdout
    written = read_problem(task.domain.text, out.read_text())
    assert written.init == task.truth.init and written.goal == task.truth.goal


def test_cli_exit_codes(tmp_path: Path) -> None:
    folder = FIXTURES / "stacks"
    domain, task = str(folder / "domain.pddl"), str(folder / "p01.nl")
    env = {k: v for k, v in os.environ.items() if k != "COGOS_LLM_CONFIG"}
    no_model = cogos("plan", domain, "--task", task, cwd=tmp_path, env=env)
    assert no_model.returncode == 2 and "no model configured" in no_model.stderr
    llm = write_llm(tmp_path / "llm.yaml", ["{}"] * 3)
    missing = cogos(
        "plan", domain, "--task", str(tmp_path / "none.nl"), "--llm", str(llm), cwd=tmp_path
    )
    assert missing.returncode == 2 and "none.nl: cannot read the task" in missing.stderr
    both = cogos("plan", domain, str(folder / "p01.pddl"), "--task", task, cwd=tmp_path)
    assert both.returncode == 2 and "not both" in both.stderr
    (tmp_path / "bad.yaml").write_text("llm: {provider: scripted}\n")
    bad = cogos("plan", domain, "--task", task, "--llm", str(tmp_path / "bad.yaml"), cwd=tmp_path)
    assert bad.returncode == 2 and "bad.yaml: llm.model: Field required" in bad.stderr
    never = cogos("plan", domain, "--task", task, "--llm", str(llm), cwd=tmp_path)
    assert never.returncode == 1 and "no plan after 1 round(s)" in never.stderr
    assert "the model gave no usable answer" in never.stderr


@pytest.mark.parametrize("domain", ["stacks", "delivery"])
def test_fixture_tasks_have_ground_truth_plans(domain: str) -> None:
    """The fixtures themselves: every task is solvable, so a failure is the translation's."""
    folder = FIXTURES / domain
    worker = PlannerWorker()
    try:
        for nl in sorted(folder.glob("p*.nl")):
            from modules.planning.engine import PlanRequest

            result = worker.solve(
                PlanRequest(
                    (folder / "domain.pddl").read_text(), nl.with_suffix(".pddl").read_text()
                ),
                "fast-downward",
                30,
            )
            assert result.status.solved, (nl.name, result.message)
    finally:
        worker.close()


async def test_none_in_the_unnamed_objects_is_no_object() -> None:
    """Qwen2.5-Coder-1.5B on grippers p09: types it had nothing for were filled with "none"."""
    task = Task("delivery", "p01")
    answer = json.loads(task.objects_answer())
    answer["others"]["package"] = ["none"]
    answer["others"]["room"] = ["None"]
    model = RecordingModel([json.dumps(answer)])
    objects, reply = await translate_objects(
        client_for(model), task.domain, task.text, example=task.example
    )
    assert reply.attempts == 1 and "none" not in objects
    assert objects == dict(task.truth.objects)
