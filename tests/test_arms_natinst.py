"""The arm properties on every task of ../shared/data/natinst (train and test; skipped when absent)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from test_arms import assert_delusive_ok, assert_simplified_ok

from itprobe.arms import ArmSpec, apply_arms, label_map_of, label_swap_of, list_arms
from itprobe.arms._text import task_words
from itprobe.metrics import normalize_answer
from itprobe.tasks import load_tasks
from itprobe.tasks.types import Task

EVERY_ARM = [ArmSpec(**{kind: name}, seed=7) for kind, names in list_arms().items() for name in names]


@pytest.fixture(scope="module")
def natinst(natinst_dir: Path) -> list[Task]:
    return load_tasks(natinst_dir, split="train") + load_tasks(natinst_dir, split="test")


def test_the_data_has_both_kinds_of_task(natinst: list[Task]) -> None:
    classification = [t for t in natinst if t.is_classification]
    assert len(natinst) == 790 and 300 < len(classification) < 500


def test_every_arm_is_pure_on_every_task(natinst: list[Task]) -> None:
    frozen = copy.deepcopy(natinst)
    for spec in EVERY_ARM:
        for task in natinst:
            apply_arms(task, spec, pool=natinst)
    assert natinst == frozen


def test_every_arm_is_deterministic(natinst: list[Task]) -> None:
    tests = natinst[-103:]
    for spec in EVERY_ARM:
        for task in tests:
            assert apply_arms(task, spec, pool=natinst) == apply_arms(task, spec, pool=natinst)


def test_simplified_on_every_task(natinst: list[Task]) -> None:
    for task in natinst:
        result = apply_arms(task, ArmSpec(definition="simplified"))
        assert result.task is not None
        assert_simplified_ok(task, result.task)


def test_delusive_on_every_task(natinst: list[Task]) -> None:
    for task in natinst:
        result = apply_arms(task, ArmSpec(examples="delusive", seed=3))
        if result.task is None:
            continue
        if task.is_classification:
            assert_delusive_ok(task, result.task)
        else:
            pairs = zip(task.positive_examples, result.task.positive_examples, strict=True)
            assert all(normalize_answer(a.output) != normalize_answer(b.output) for a, b in pairs)
    skipped = [t.name for t in natinst if apply_arms(t, ArmSpec(examples="delusive")).task is None]
    assert len(skipped) < 20  # only tasks whose examples all share one output


def test_irrelevant_on_every_task(natinst: list[Task]) -> None:
    for task in natinst:
        result = apply_arms(task, ArmSpec(definition="irrelevant"), pool=natinst)
        assert result.task is not None
        source = dict(result.task.meta)["irrelevant_source"]
        assert source != task.name and result.task.definition != task.definition


def test_label_arms_on_every_classification_task(natinst: list[Task]) -> None:
    for task in (t for t in natinst if t.is_classification):
        assert task.output_space is not None
        old = {normalize_answer(label) for label in task.output_space.labels}
        renamed = apply_arms(task, ArmSpec(label="label-rename")).task
        swapped = apply_arms(task, ArmSpec(label="label-swap")).task
        assert renamed is not None and swapped is not None
        mapping = label_map_of(renamed)
        assert mapping is not None and label_swap_of(swapped) == task.output_space.labels[:2]
        assert not {normalize_answer(v) for v in mapping.values()} & (old | task_words(task))
        for new_task in (renamed, swapped):
            assert [i.input for i in new_task.instances] == [i.input for i in task.instances]
            assert new_task.definition != task.definition
            space = {normalize_answer(label) for label in new_task.output_space.labels}  # type: ignore[union-attr]
            assert all(normalize_answer(o) in space for i in new_task.instances for o in i.outputs)


def _stem(name: str) -> str:
    return name.split("_")[1]


def _sources(task: Task) -> set[str]:
    return {s.strip(" ,").lower() for s in dict(task.meta).get("source", "").split(";")} - {"", "synthetic"}


def test_irrelevant_never_draws_a_sibling_of_a_test_task(natinst: list[Task]) -> None:
    """58 of the 103 test tasks have a same-source sibling among them; none may be drawn."""
    tests = natinst[-103:]
    by_name = {t.name: t for t in tests}
    with_sibling = [t for t in tests if any(_sources(t) & _sources(o) for o in tests if o is not t)]
    assert len(with_sibling) >= 40
    for task in tests:
        labels = {normalize_answer(x) for x in task.output_space.labels} if task.output_space else None
        for seed in range(3):
            result = apply_arms(task, ArmSpec(definition="irrelevant", seed=seed), pool=tests)
            assert result.task is not None, result.notes
            source = by_name[dict(result.task.meta)["irrelevant_source"]]
            assert not _sources(source) & _sources(task), (task.name, source.name)
            assert _stem(source.name) != _stem(task.name), (task.name, source.name)
            if labels is not None and source.output_space is not None:
                assert {normalize_answer(x) for x in source.output_space.labels} != labels
