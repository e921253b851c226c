"""A study's data: suite, compact files and NatInst sources; task selection; digests."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_study_support import tiny_raw

from itprobe.errors import UserError
from itprobe.study import load_config, load_study_data, validate_config
from itprobe.study.data import tasks_digest


def test_suite_source_and_selection() -> None:
    data = load_study_data(validate_config(tiny_raw(test_tasks={"instances_per_task": 3})))
    assert sorted(t.name for t in data.test) == ["suite-primality-composite", "suite-primality-prime"]
    assert all(len(t.instances) == 3 for t in data.test)
    assert {t.name.split("-")[1] for t in data.train} == {"parity", "divisibility"}
    assert all(len(t.instances) == 6 for t in data.train)  # training keeps every instance (sampled per size)
    again = load_study_data(validate_config(tiny_raw(test_tasks={"instances_per_task": 3})))
    assert (again.train_digest, again.test_digest) == (data.train_digest, data.test_digest)
    other = load_study_data(validate_config(tiny_raw(test_tasks={"instances_per_task": 2})))
    assert other.test_digest != data.test_digest and other.train_digest == data.train_digest


def test_n_tasks_is_a_seeded_draw_in_source_order() -> None:
    every = [t.name for t in load_study_data(validate_config(tiny_raw())).train]
    raw = tiny_raw(train_tasks={"n_tasks": 2, "selection_seed": 1})
    picked = [t.name for t in load_study_data(validate_config(raw)).train]
    assert len(picked) == 2 and set(picked) < set(every)
    assert [every.index(name) for name in picked] == sorted(every.index(name) for name in picked)
    assert picked == [t.name for t in load_study_data(validate_config(raw)).train]  # reproducible
    draws = {tuple(t.name for t in load_study_data(validate_config(tiny_raw(
        train_tasks={"n_tasks": 2, "selection_seed": seed}))).train) for seed in range(6)}  # fmt: skip
    assert len(draws) > 1  # the seed matters


def test_unknown_suite_option_and_task_name() -> None:
    with pytest.raises(UserError, match="data.suite"):
        load_study_data(validate_config(tiny_raw(data={"source": "suite", "suite": {"n_famlies": 2}})))
    with pytest.raises(UserError, match="test_tasks.names"):
        load_study_data(validate_config(tiny_raw(test_tasks={"names": ["nope"]})))


def test_compact_source(tmp_path: Path) -> None:
    from itprobe.suites import SuiteConfig, write_suite

    written = write_suite(tmp_path, seed=0, config=SuiteConfig(families=("parity", "primality"),
                                                              test_families=("primality",),
                                                              instances_per_task=4, test_instances_per_task=4))  # fmt: skip
    config = validate_config(
        {"data": {"source": "compact", "train": str(written["train"]), "test": str(written["test"])}}
    )
    data = load_study_data(config)
    assert len(data.train) == 2 and len(data.test) == 2
    assert data.test_digest == tasks_digest(list(data.test))
    with pytest.raises(UserError, match="needs both data.train and data.test"):
        load_study_data(validate_config({"data": {"source": "compact"}}))


def test_natinst_small_on_the_shared_copy(natinst_dir: Path) -> None:
    config = load_config("natinst-small", natinst=natinst_dir)
    data = load_study_data(config)
    assert len(data.train) == 100
    assert all(t.is_classification for t in data.test)
    assert all(len(t.instances) <= 20 for t in data.test)
    assert len(data.test) >= 40  # the README: 51 of the 56 classification test tasks are present
    with pytest.raises(UserError, match="data.path"):
        load_study_data(load_config("natinst-small"))


def test_test_instances_beyond_the_scored_ones_are_held_out() -> None:
    data = load_study_data(validate_config(tiny_raw(test_tasks={"instances_per_task": 3})))
    full = load_study_data(validate_config(tiny_raw(test_tasks={"instances_per_task": None})))
    for task in data.test:
        whole = next(t for t in full.test if t.name == task.name).instances
        assert task.instances == whole[:3] and data.held_out[task.name] == whole[3:]
        assert whole[3:]  # the suite has more instances than are scored here
    assert all(not held for held in full.held_out.values())
    assert data.held_out_digest != full.held_out_digest
