"""The label arms (label-rename, label-swap) and the rates computed from what they record."""

from __future__ import annotations

import json

import pytest
from arms_strategies import tasks
from hypothesis import given, settings
from hypothesis import strategies as st
from test_arms import assert_delusive_ok, assert_simplified_ok

from itprobe.arms import (
    ArmSpec,
    apply_arms,
    label_map_of,
    label_swap_of,
    old_label_leakage,
    old_meaning_rate,
)
from itprobe.arms._text import task_words
from itprobe.metrics import normalize_answer
from itprobe.predict import Prediction
from itprobe.tasks.types import Example, Instance, Negation, OutputSpace, Task


def _claim() -> Task:
    return Task(
        name="task9002_claim_check",
        definition='Is the claim supported by the passage? Answer "Yes" or No. There is no trick',
        instances=(
            Instance("1", "Passage: sky is blue. Claim: sky is blue.", ("Yes",)),
            Instance("2", "Passage: grass is red. Claim: grass is green.", ("no",)),
            Instance("3", "Passage: x. Claim: y.", ("No.",)),
        ),
        positive_examples=(Example("Passage: a. Claim: a.", "yes", "It says a, so the answer is 'yes'."),),
        negative_examples=(Example("Passage: b. Claim: c.", "yes", "Answer No here."),),
        output_space=OutputSpace(("yes", "no"), "declared"),
        negation=Negation('Is the claim contradicted? Answer "yes" or "no".', (("yes", "no"), ("no", "yes"))),
    )


CLAIM = _claim()


def test_label_rename_on_a_hand_made_task() -> None:
    result = apply_arms(CLAIM, ArmSpec(label="label-rename", seed=0))
    task = result.task
    assert task is not None
    mapping = label_map_of(task)
    assert mapping is not None and list(mapping) == ["yes", "no"]
    y, n = mapping["yes"], mapping["no"]
    assert result.notes == (f"label-rename: yes→{y}, no→{n}",)
    # quoted and capitalised mentions are labels; the lower-case everyday "no" is left alone
    assert task.definition == (
        f'Is the claim supported by the passage? Answer "{y}" or {n}. There is no trick.'
        f' Answer "{y}" instead of "yes" and "{n}" instead of "no".'
    )
    assert [i.outputs for i in task.instances] == [(y,), (n,), (n,)]
    assert [i.input for i in task.instances] == [i.input for i in CLAIM.instances]
    assert task.positive_examples == (
        Example("Passage: a. Claim: a.", y, f"It says a, so the answer is '{y}'."),
    )
    assert task.negative_examples == (Example("Passage: b. Claim: c.", y, f"Answer {n} here."),)
    assert task.output_space == OutputSpace((y, n), "declared")
    assert task.negation is not None and task.negation.label_map == ((y, n), (n, y))
    assert _claim() == CLAIM  # the input task is untouched
    assert label_map_of(CLAIM) is None


def test_semantic_rename_falls_back_when_the_synonym_is_taken() -> None:
    task = apply_arms(CLAIM, ArmSpec(label="label-rename", rename_scheme="semantic")).task
    assert task is not None and label_map_of(task) == {"yes": "affirmative", "no": "negative"}
    taken = Task(
        "t", "Say yes if the review is positive; negative otherwise.", output_space=CLAIM.output_space
    )
    renamed = apply_arms(taken, ArmSpec(label="label-rename", rename_scheme="semantic")).task
    assert renamed is not None
    mapping = label_map_of(renamed)
    assert mapping is not None and mapping["yes"] == "affirmative" and mapping["no"] != "negative"


def test_label_swap_on_a_hand_made_task() -> None:
    result = apply_arms(CLAIM, ArmSpec(label="label-swap"))
    task = result.task
    assert task is not None and result.notes == ("label-swap: yes↔no",)
    assert label_swap_of(task) == ("yes", "no")
    assert task.definition == (
        CLAIM.definition
        + '. Important: answer "no" where the rule above says "yes", and "yes" where it says "no".'
    )
    assert [i.outputs for i in task.instances] == [("no",), ("yes",), ("yes",)]
    assert task.positive_examples == (
        Example("Passage: a. Claim: a.", "no", "It says a, so the answer is 'no'."),
    )
    assert task.output_space == CLAIM.output_space


def test_label_arms_skip_without_an_output_space() -> None:
    generation = Task("gen", "Write a title.", (Instance("1", "x", ("A title",)),))
    for arm in ("label-rename", "label-swap"):
        result = apply_arms(generation, ArmSpec(label=arm))
        assert result.task is None and "no output space" in result.notes[0]


@settings(max_examples=120, deadline=None)
@given(tasks(classification=True), st.integers(0, 1000), st.sampled_from(["neutral", "semantic"]))
def test_label_rename_keeps_inputs_and_maps_gold_consistently(task: Task, seed: int, scheme: str) -> None:
    result = apply_arms(task, ArmSpec(label="label-rename", seed=seed, rename_scheme=scheme))
    new = result.task
    assert new is not None and task.output_space is not None and new.output_space is not None
    mapping = label_map_of(new)
    assert mapping is not None and list(mapping) == list(task.output_space.labels)
    assert new.output_space.labels == tuple(mapping.values())
    fresh = [normalize_answer(v) for v in mapping.values()]
    assert len(set(fresh)) == len(fresh)
    assert not set(fresh) & (task_words(task) | {normalize_answer(x) for x in task.output_space.labels})
    by_norm = {normalize_answer(k): v for k, v in mapping.items()}
    assert [i.input for i in new.instances] == [i.input for i in task.instances]
    for old, renamed in zip(task.instances, new.instances, strict=True):
        assert renamed.outputs == tuple(by_norm[normalize_answer(o)] for o in old.outputs)
    for old_ex, new_ex in zip(task.positive_examples, new.positive_examples, strict=True):
        assert new_ex.input == old_ex.input and new_ex.output == by_norm[normalize_answer(old_ex.output)]
    head, _, tail = new.definition.rpartition(" Answer ")
    assert all(f'"{v}" instead of "{k}"' in tail for k, v in mapping.items())
    assert not any(f'"{k}"' in head.lower() for k in mapping)  # every quoted old mention was rewritten
    if task.negation is not None:
        assert new.negation is not None
        assert new.negation.label_map == tuple((mapping[k], mapping[v]) for k, v in task.negation.label_map)


@settings(max_examples=120, deadline=None)
@given(tasks(classification=True))
def test_label_swap_flips_gold_and_keeps_the_rule(task: Task) -> None:
    result = apply_arms(task, ArmSpec(label="label-swap"))
    new = result.task
    assert new is not None and task.output_space is not None
    a, b = task.output_space.labels[:2]
    assert label_swap_of(new) == (a, b) and new.output_space == task.output_space
    assert new.definition.startswith(task.definition.rstrip())
    assert new.definition.endswith(
        f'answer "{b}" where the rule above says "{a}", and "{a}" where it says "{b}".'
    )
    flip = {normalize_answer(a): b, normalize_answer(b): a}
    for old, swapped in zip(task.instances, new.instances, strict=True):
        assert swapped.input == old.input
        assert swapped.outputs == tuple(flip.get(normalize_answer(o), o) for o in old.outputs)
    for old_ex, new_ex in zip(task.positive_examples, new.positive_examples, strict=True):
        assert new_ex.input == old_ex.input and new_ex.output == flip.get(
            normalize_answer(old_ex.output), old_ex.output
        )


@settings(max_examples=80, deadline=None)
@given(tasks(classification=True), st.integers(0, 1000))
def test_label_arm_runs_before_simplified_and_delusive(task: Task, seed: int) -> None:
    renamed = apply_arms(task, ArmSpec(label="label-rename", seed=seed)).task
    both = apply_arms(
        task, ArmSpec(label="label-rename", definition="simplified", examples="delusive", seed=seed)
    )
    assert renamed is not None
    if not task.positive_examples:
        assert both.task is None
        return
    assert both.task is not None
    assert_simplified_ok(renamed, both.task)
    assert_delusive_ok(renamed, both.task)


def _renamed(golds: list[str]) -> Task:
    mapping = {"yes": "alpha", "no": "beta"}
    return Task(
        "t",
        "d",
        tuple(Instance(str(i), "x", (g,)) for i, g in enumerate(golds)),
        output_space=OutputSpace(("alpha", "beta"), "declared"),
        meta=(("label_map", json.dumps(mapping)),),
    )


def test_old_label_leakage_on_hand_made_cases() -> None:
    task = _renamed(["alpha", "beta", "alpha", "beta", "alpha"])
    assert old_label_leakage(["alpha", "Yes.", " no ", "beta", "maybe"], task) == pytest.approx(2 / 5)
    assert old_label_leakage(["alpha"] * 5, task) == 0.0
    preds = [
        Prediction("t", i.id, p, i.outputs, "generate")
        for i, p in zip(task.instances, ["YES"] * 5, strict=True)
    ]
    other = Prediction("u", "0", "yes", ("yes",), "generate")
    assert old_label_leakage([*preds, other], task) == 1.0  # predictions of other tasks are ignored
    assert old_label_leakage(["yes"] * 3, CLAIM) is None  # not renamed
    with pytest.raises(ValueError, match="4 predictions for 5 instances"):
        old_label_leakage(["yes"] * 4, task)


def test_old_meaning_rate_on_hand_made_cases() -> None:
    swapped = Task(
        "s",
        "d",
        (
            Instance("1", "x", ("no",)),
            Instance("2", "x", ("yes",)),
            Instance("3", "x", ("No",)),
            Instance("4", "x", ("maybe",)),
        ),
        output_space=OutputSpace(("yes", "no", "maybe"), "declared"),
        meta=(("label_swap", json.dumps(["yes", "no"])),),
    )
    # instance 1: gold now "no", answered "yes" = the old meaning; 2 and 3 follow the swap; 4 is not judged
    assert old_meaning_rate(["yes", "yes", "No.", "yes"], swapped) == pytest.approx(1 / 3)
    assert old_meaning_rate(["Yes", "no", "yes", "x"], swapped) == 1.0
    assert old_meaning_rate(["yes"] * 3, CLAIM) is None


def test_rates_through_the_arms() -> None:
    renamed = apply_arms(CLAIM, ArmSpec(label="label-rename")).task
    assert renamed is not None
    old_gold = [i.outputs[0] for i in CLAIM.instances]
    assert old_label_leakage(old_gold, renamed) == 1.0
    assert old_label_leakage([i.outputs[0] for i in renamed.instances], renamed) == 0.0
    swapped = apply_arms(CLAIM, ArmSpec(label="label-swap")).task
    assert swapped is not None
    assert old_meaning_rate(old_gold, swapped) == 1.0
    assert old_meaning_rate([i.outputs[0] for i in swapped.instances], swapped) == 0.0
