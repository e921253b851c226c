"""Trivial baselines on literal tasks."""

from __future__ import annotations

import pytest

from itprobe.baselines import (
    BASELINES,
    REGISTRY,
    ControlData,
    controls,
    distinct_labels,
    majority_label,
    oracles,
    random_expectation,
    run_baseline,
    skipped_tasks,
)
from itprobe.metrics import score_predictions
from itprobe.tasks.types import Example, Instance, OutputSpace, Task


def _task(name: str, outputs: list[tuple[str, ...]], labels: tuple[str, ...] | None, **kw) -> Task:
    space = OutputSpace(labels, "declared") if labels is not None else None
    instances = tuple(Instance(f"{name}-{i}", f"input {i}", out) for i, out in enumerate(outputs))
    return Task(name=name, definition="d", instances=instances, output_space=space, categories=("Cat",), **kw)


YES_NO = _task(
    "yn",
    [("yes",), ("No",), ("yes",), ("yes.",)],
    ("Yes", "no", "YES"),  # "YES" repeats "Yes" after normalisation
    positive_examples=(Example("q", "no", ""), Example("q2", "yes", "")),
)
GEN = _task("gen", [("a long answer",), ("another",)], None)


def test_distinct_labels_dedupes_by_normalisation() -> None:
    assert distinct_labels(YES_NO) == ("Yes", "no")
    assert distinct_labels(GEN) == ()


def test_random_draws_labels_and_skips_tasks_without_space() -> None:
    preds = run_baseline("random", [YES_NO, GEN], seed=3)
    assert [p.task for p in preds] == ["yn"] * 4
    assert {p.prediction for p in preds} <= {"Yes", "no"}
    assert preds[0].references == ("yes",) and preds[0].labels == ("Yes", "no") and preds[0].category == "Cat"
    assert skipped_tasks("random", [YES_NO, GEN]) == ["gen"]


def test_random_is_seeded_per_task() -> None:
    big = _task("big", [("a",)] * 200, ("a", "b", "c", "d"))
    first = [p.prediction for p in run_baseline("random", [big], seed=1)]
    assert first == [p.prediction for p in run_baseline("random", [YES_NO, big], seed=1)][4:]
    assert first != [p.prediction for p in run_baseline("random", [big], seed=2)]


def test_random_sample_is_near_expectation() -> None:
    big = _task("big", [("a",)] * 2000, ("a", "b", "c", "d"))
    em = score_predictions(run_baseline("random", [big], seed=0)).overall.exact_match
    assert random_expectation([big]) == pytest.approx(0.25)
    assert em == pytest.approx(25.0, abs=3.0)  # 2000 draws: standard error ~1 point


def test_majority() -> None:
    assert majority_label(YES_NO) == "yes"  # "yes" x2 + "yes." -> 3 of 4
    tie = _task("tie", [("b",), ("a",), ("a",), ("b",)], ("a", "b"))
    assert majority_label(tie) == "b"  # ties go to the first seen
    preds = run_baseline("majority", [YES_NO, GEN])
    assert [p.prediction for p in preds] == ["yes"] * 4 + ["a long answer"] * 2
    assert score_predictions(preds[:4]).overall.exact_match == pytest.approx(75.0)


def test_copy_input_and_copy_demo() -> None:
    assert [p.prediction for p in run_baseline("copy-input", [GEN])] == ["input 0", "input 1"]
    assert [p.prediction for p in run_baseline("copy-demo", [YES_NO, GEN])] == ["no"] * 4
    assert skipped_tasks("copy-demo", [YES_NO, GEN]) == ["gen"]


def test_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown baseline"):
        run_baseline("oracle", [YES_NO])


def test_random_expectation_instance_and_task_means() -> None:
    two = _task("two", [("x",), ("y",), ("z",)], ("x", "y"))  # 1/2, 1/2, 0
    four = _task("four", [("a",)], ("a", "b", "c", "d"))  # 1/4
    multi = _task("multi", [("x", "Y.")], ("x", "y"))  # both labels are references: 1
    tasks = [two, four, multi, GEN]  # GEN has no output space and is left out
    assert random_expectation(tasks) == pytest.approx((0.5 + 0.5 + 0 + 0.25 + 1) / 5)
    assert random_expectation(tasks, per="task") == pytest.approx((1 / 3 + 0.25 + 1) / 3)
    with pytest.raises(ValueError):
        random_expectation([GEN])


# --- input-blind controls (issue #25) ---

LABELLED = _task(
    "lab",
    [("no",), ("yes",), ("no",), ("no",)],
    ("yes", "no", "maybe"),
    positive_examples=(Example("q", "Maybe.", ""), Example("q2", "yes", ""), Example("q3", "YES", "")),
)


def test_first_demo_label_is_the_first_demonstrations_output_as_a_label() -> None:
    preds = run_baseline("first-demo-label", [LABELLED, GEN, YES_NO])
    # "Maybe." normalises to the label "maybe"; GEN has no label set, so it is skipped
    assert [p.prediction for p in preds] == ["maybe"] * 4 + ["no"] * 4
    assert skipped_tasks("first-demo-label", [LABELLED, GEN]) == ["gen"]


def test_demo_majority_counts_labels_among_demonstrations_ties_to_first() -> None:
    assert {p.prediction for p in run_baseline("demo-majority", [LABELLED])} == {"yes"}  # yes x2, maybe x1
    assert {p.prediction for p in run_baseline("demo-majority", [YES_NO])} == {"no"}  # 1-1 tie: first shown


def test_train_constant_learns_only_from_unscored_instances() -> None:
    held = {
        "lab": (Instance("h1", "x", ("yes",)), Instance("h2", "y", ("Yes.",)), Instance("h3", "z", ("no",)))
    }
    preds = run_baseline("train-constant", [LABELLED], data=ControlData(held_out=held))
    # the evaluated instances are mostly "no", the held-out ones "yes": the control never reads the former
    assert {p.prediction for p in preds} == {"yes"}
    assert skipped_tasks("train-constant", [LABELLED]) == ["lab"]  # no unscored data: skipped
    tie = {"lab": (Instance("h1", "x", ("no",)), Instance("h2", "y", ("yes",)))}
    assert {
        p.prediction for p in run_baseline("train-constant", [LABELLED], data=ControlData(held_out=tie))
    } == {
        "yes"  # a tie goes to the label-set order
    }


def test_registry_declares_each_baseline_once_with_its_properties() -> None:
    assert set(BASELINES) >= {"random", "majority", "first-demo-label", "demo-majority", "train-constant"}
    assert REGISTRY["majority"].oracle and oracles() == ["majority"]
    assert REGISTRY["train-constant"].needs_training_data and not REGISTRY["copy-input"].input_blind
    assert controls() == ["random", "first-demo-label", "demo-majority", "train-constant", "copy-demo"]
    assert "majority" not in controls(["majority", "demo-majority"])
