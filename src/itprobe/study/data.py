"""A study's tasks: the source named by the config (generated suite, task files, NatInst), then the selection
of training and test tasks, with a digest of each so cell ids change whenever the data does."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from itprobe.errors import UserError
from itprobe.study.config import DataConfig, StudyConfig, TestTasksConfig, TrainTasksConfig
from itprobe.suites import SuiteConfig, generate_suite
from itprobe.tasks import load_tasks
from itprobe.tasks.official import EVAL_INSTANCES
from itprobe.tasks.types import Instance, Task


@dataclass(frozen=True)
class StudyData:
    """The selected tasks. ``train`` tasks keep all their instances (training samples per size and seed)."""

    train: tuple[Task, ...]
    test: tuple[Task, ...]
    train_digest: str
    test_digest: str
    source: str  # for logs and the report: where the tasks came from
    # per test task, its labelled instances beyond the scored ones (up to Tk-Instruct's first 100): never
    # scored, the training data of the `train-constant` control (`itprobe.baselines`)
    held_out: Mapping[str, tuple[Instance, ...]] = field(default_factory=dict)
    held_out_digest: str = ""


def tasks_digest(tasks: Sequence[Task]) -> str:
    """A content hash of tasks (names, instructions, instances, output spaces)."""
    digest = hashlib.sha256()
    for task in tasks:
        digest.update(json.dumps(dataclasses.asdict(task), sort_keys=True, ensure_ascii=False).encode())
    return digest.hexdigest()[:16]


def _load_suite(data: DataConfig) -> tuple[list[Task], list[Task], str]:
    try:
        suite_config = SuiteConfig(**data.suite)
    except TypeError as err:
        raise UserError(f"data.suite: {err}") from None
    suite = generate_suite(seed=data.suite_seed, config=suite_config)
    return list(suite.train), list(suite.test), f"generated suite (seed {data.suite_seed})"


def _load_source(data: DataConfig, test_instances: int | None) -> tuple[list[Task], list[Task], str]:
    """(train, test, description). Test tasks come with their first max(100, ``test_instances``)
    instances (the scored ones are cut by `select_test`; the rest are held out), output spaces detected
    on their evaluation instances (`itprobe.tasks.load_tasks`: the first 100 or more)."""
    if test_instances is not None:
        # the same detection window as before (max(100, n)); only the instances kept beyond n are new
        test_instances = max(EVAL_INSTANCES, test_instances)

    if data.source == "suite":
        return _load_suite(data)
    if data.source == "compact":
        if not data.train or not data.test:
            raise UserError("data.source 'compact' needs both data.train and data.test (task files)")
        train = load_tasks(data.train, max_labels=data.max_labels)
        test = load_tasks(data.test, max_labels=data.max_labels, max_instances=test_instances)
        return train, test, f"{data.train} + {data.test}"
    if not data.path:
        raise UserError("data.source 'natinst' needs data.path (or --natinst PATH)")
    path = Path(data.path)
    train = load_tasks(path, split=f"{data.split}/train", max_labels=data.max_labels)
    test = load_tasks(
        path, split=f"{data.split}/test", max_labels=data.max_labels, max_instances=test_instances
    )
    return train, test, f"NatInst {data.split} split at {path}"


def _pick(tasks: list[Task], names: list[str] | None, n: int | None, seed: int, what: str) -> list[Task]:
    if names:
        by_name = {t.name: t for t in tasks}
        missing = [name for name in names if name not in by_name]
        if missing:
            raise UserError(f"{what}.names: unknown task(s) {', '.join(missing[:5])}")
        tasks = [by_name[name] for name in names]
    if n is not None and n < len(tasks):
        chosen = set(random.Random(seed).sample(range(len(tasks)), n))
        tasks = [t for i, t in enumerate(tasks) if i in chosen]  # keep the source order
    if not tasks:
        raise UserError(f"{what}: no tasks selected")
    return tasks


def select_train(tasks: list[Task], selection: TrainTasksConfig) -> list[Task]:
    """Training tasks: optional classification filter, names, then ``n_tasks`` drawn with the selection seed."""
    if selection.classification_only:
        tasks = [t for t in tasks if t.is_classification]
    return _pick(tasks, selection.names, selection.n_tasks, selection.selection_seed, "train_tasks")


def select_test(tasks: list[Task], selection: TestTasksConfig, *, seed: int = 0) -> list[Task]:
    """Test tasks (classification only by default), with all their loaded instances (`load_study_data`
    scores the first ``instances_per_task`` and holds out the rest)."""
    if selection.classification_only:
        tasks = [t for t in tasks if t.is_classification]
    return _pick(tasks, selection.names, selection.n_tasks, seed, "test_tasks")


def load_study_data(config: StudyConfig) -> StudyData:
    """Load the config's data source and select its training and test tasks."""
    train_all, test_all, source = _load_source(config.data, config.test_tasks.instances_per_task)
    overlap = {t.name for t in train_all} & {t.name for t in test_all}
    if overlap:
        raise UserError(f"tasks in both the train and test sets: {', '.join(sorted(overlap)[:5])}")
    train = select_train(train_all, config.train_tasks)
    picked = select_test(test_all, config.test_tasks, seed=config.train_tasks.selection_seed)
    k = config.test_tasks.instances_per_task
    test = [dataclasses.replace(t, instances=t.instances[:k]) if k else t for t in picked]
    held = {t.name: t.instances[k:] if k else () for t in picked}
    digest = hashlib.sha256(
        json.dumps({n: [dataclasses.asdict(i) for i in v] for n, v in held.items()}, sort_keys=True).encode()
    ).hexdigest()[:16]
    return StudyData(tuple(train), tuple(test), tasks_digest(train), tasks_digest(test), source, held, digest)
