"""Contrast consistency on hand-made predictions and on the generated suite."""

from __future__ import annotations

import pytest

from itprobe.contrast import alignment_key, contrast_consistency
from itprobe.predict import Prediction
from itprobe.suites import SuiteConfig, generate_suite
from itprobe.tasks.types import Contrast, Instance, OutputSpace, Task

LABELS = ("Yes", "No")


def _task(side: str, golds: list[str]) -> Task:
    return Task(
        name=f"t-{side}",
        definition=f"rule {side}",
        instances=tuple(Instance(f"g-{i}-{side}", str(i), (g,)) for i, g in enumerate(golds)),
        output_space=OutputSpace(LABELS, "declared"),
        contrast=Contrast("g", side),
    )


def _preds(task: Task, answers: list[str]) -> list[Prediction]:
    return [
        Prediction(task.name, inst.id, answer, inst.outputs, "generate")
        for inst, answer in zip(task.instances, answers, strict=True)
    ]


def test_alignment_key_strips_only_the_own_side():
    assert alignment_key("suite-parity-0003-even", "even") == "suite-parity-0003"
    assert alignment_key("suite-parity-0003-even", "odd") == "suite-parity-0003-even"
    assert alignment_key("shared-id", "x") == "shared-id"


def test_hand_made_counts_and_normalisation():
    a = _task("a", ["Yes", "No", "Yes", "No"])
    b = _task("b", ["No", "No", "Yes", "Yes"])  # golds agree on items 1 and 2
    preds = _preds(a, ["yes.", "No", "No", "No"]) + _preds(b, [" NO ", "Yes", "Yes", "Yes"])
    report = contrast_consistency(preds, [a, b])
    (g,) = report.groups
    assert (g.group, g.n_items, g.n_consistent) == ("g", 4, 2)  # items 0 and 3 right on both sides
    assert g.consistency == 0.5
    assert dict(g.side_accuracy) == {"a": 0.75, "b": 0.75}
    assert g.chance == 0.25
    assert g.agreement == 0.5
    assert report.overall.n_items == 4 and report.overall.consistency == 0.5
    assert report.to_dict()["groups"]["g"]["side_accuracy"] == {"a": 0.75, "b": 0.75}


def test_unaligned_items_and_single_sides_are_left_out():
    a = _task("a", ["Yes", "No", "Yes"])
    b = _task("b", ["No", "Yes", "No"])
    lonely = Task("t-c", "rule c", (Instance("h-0-c", "0", ("Yes",)),), contrast=Contrast("h", "c"))
    preds = _preds(a, ["Yes", "No", "Yes"])[:2] + _preds(b, ["No", "Yes", "No"]) + _preds(lonely, ["Yes"])
    report = contrast_consistency(preds, [a, b, lonely])
    assert [g.group for g in report.groups] == ["g"]
    assert report.groups[0].n_items == 2 and report.groups[0].consistency == 1.0
    assert report.groups[0].agreement == 0.0


def test_no_contrast_tasks_gives_an_empty_report():
    plain = Task("plain", "d", (Instance("1", "x", ("y",)),))
    report = contrast_consistency(_preds(plain, ["y"]), [plain])
    assert report.groups == () and report.overall.n_items == 0 and report.overall.chance is None


@pytest.fixture(scope="module")
def suite_tasks() -> list[Task]:
    return generate_suite(0, SuiteConfig(n_test_families=0, instances_per_task=12)).train


def _suite_preds(tasks: list[Task], answer) -> list[Prediction]:
    return [
        Prediction(t.name, i.id, answer(t, i), i.outputs, "rank", labels=t.output_space.labels)
        for t in tasks
        for i in t.instances
    ]


def test_oracle_is_fully_consistent(suite_tasks):
    report = contrast_consistency(_suite_preds(suite_tasks, lambda t, i: i.outputs[0]), suite_tasks)
    assert report.overall.consistency == 1.0
    assert len(report.groups) == len({t.contrast.group for t in suite_tasks})


@pytest.mark.parametrize("pick", [0, 1])
def test_rule_blind_strategies_stay_at_or_below_the_agreement_bound(suite_tasks, pick):
    constant = _suite_preds(suite_tasks, lambda t, i: t.output_space.labels[pick])
    report = contrast_consistency(constant, suite_tasks)
    for g in report.groups:
        assert g.consistency <= g.agreement
    assert report.overall.consistency <= report.overall.agreement <= 0.5

    # an input-only strategy: answer every side with the first rule's gold for that input
    def key(t: Task, i: Instance) -> tuple[str, str]:
        return t.contrast.group, alignment_key(i.id, t.contrast.side)

    first_side: dict[tuple[str, str], str] = {}
    for t in suite_tasks:  # tasks come in rule order, so the first gold seen is the first rule's
        for i in t.instances:
            first_side.setdefault(key(t, i), i.outputs[0])
    blind = _suite_preds(suite_tasks, lambda t, i: first_side[key(t, i)])
    report = contrast_consistency(blind, suite_tasks)
    assert all(g.consistency <= g.agreement for g in report.groups)
    assert report.overall.consistency == pytest.approx(report.overall.agreement)
    assert all(g.chance is not None and g.chance <= 0.25 for g in report.groups)


def test_input_blind_ceiling_is_the_best_constant_answer_per_side():
    a = _task("a", ["Yes", "Yes", "Yes", "No"])
    b = _task("b", ["No", "No", "Yes", "Yes"])
    (g,) = contrast_consistency(_preds(a, ["Yes"] * 4) + _preds(b, ["No"] * 4), [a, b]).groups
    # cells (Yes,No) x2, (Yes,Yes), (No,Yes): the constants Yes on a and No on b are right on both sides
    # for 2 of 4 items; no pair of constants does better. Rule-blind (same answer on both sides): 1 of 4.
    assert g.input_blind == 0.5 and g.agreement == 0.25
    assert g.consistency == 0.5  # exactly what that constant strategy scores
    report = contrast_consistency(_preds(a, ["Yes"] * 4) + _preds(b, ["No"] * 4), [a, b])
    assert report.overall.input_blind == 0.5
    assert report.to_dict()["overall"]["input_blind"] == 0.5


@pytest.mark.parametrize("seed", [0, 3])
def test_constant_answers_per_task_never_pass_the_input_blind_ceiling(seed):
    tasks = generate_suite(seed).test
    for pick in range(3):
        preds = _suite_preds(
            tasks, lambda t, i, k=pick: t.output_space.labels[k % len(t.output_space.labels)]
        )
        report = contrast_consistency(preds, tasks)
        assert all(g.consistency <= g.input_blind + 1e-12 for g in report.groups)
    # balanced cells: the ceiling is 1/|cells| of the family (1/2 for complementary yes/no pairs)
    report = contrast_consistency(_suite_preds(tasks, lambda t, i: i.outputs[0]), tasks)
    assert all(g.input_blind <= 0.5 for g in report.groups)


def test_the_audit_section_scores_its_rows_as_contrast_consistency_scores_the_predictions():
    """The audit's contrast section runs on scored rows through `report.consistency` (shared with the
    study); its numbers are those of `contrast_consistency` on each (probe, mode) pass's predictions."""
    from itprobe.audit.sections import contrast_section
    from itprobe.metrics import instance_scores

    a = _task("a", ["Yes", "No", "Yes", "No"])
    b = _task("b", ["No", "No", "Yes", "Yes"])
    passes = {
        ("original", "generate"): _preds(a, ["yes.", "No", "No", "No"])
        + _preds(b, [" NO ", "Yes", "Yes", "Yes"]),
        ("simplified", "generate"): _preds(a, ["Yes"] * 4) + _preds(b, ["Yes"] * 4),
        ("original", "rank"): _preds(a, ["Yes", "No", "Yes", "No"]) + _preds(b, ["No", "No", "Yes", "No"]),
        ("random", "generate"): _preds(a, ["No"] * 4) + _preds(b, ["No"] * 4),
    }
    rows = [
        r
        for (probe, mode), preds in passes.items()
        for r in instance_scores(preds, condition=probe, mode=mode)
    ]
    out = contrast_section(rows, [a, b], ["original", "simplified"])
    assert out is not None
    section, data = out
    expected = {
        f"{mode}/{probe}": contrast_consistency(preds, [a, b]).to_dict()
        for (probe, mode), preds in passes.items()
        if probe != "random"
    }
    assert data == expected and list(data) == list(expected)
    assert [row[1] for row in section.tables[0].rows] == ["original", "simplified", "original"]
