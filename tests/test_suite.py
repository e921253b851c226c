"""Properties of the generated suite: size, balance, contrast, structure, split, determinism."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from itertools import combinations
from pathlib import Path

import pytest

from itprobe.contrast import alignment_key
from itprobe.errors import UserError
from itprobe.suites import Suite, SuiteConfig, generate_suite, list_families, write_suite
from itprobe.tasks.types import Task

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module", params=[0, 7])
def suite(request) -> Suite:
    return generate_suite(request.param)


def _all(suite: Suite) -> list[Task]:
    return suite.train + suite.test


def _groups(tasks: list[Task]) -> dict[str, list[Task]]:
    groups: dict[str, list[Task]] = defaultdict(list)
    for t in tasks:
        groups[t.contrast.group].append(t)
    return groups


def test_enough_families_and_skills():
    families = list_families()
    assert len(families) >= 30
    assert len({f.skill for f in families}) >= 6
    assert len({f.name for f in families}) == len(families)
    assert all(len(f.rules) >= 2 for f in families)


def test_default_sizes(suite):
    assert len(suite.test_families) == 8 and len(suite.test) == 16
    assert all(len(t.instances) == 24 for t in suite.test)
    assert all(len(t.instances) == 40 for t in suite.train)
    assert len(suite.train_families) == len(list_families()) - 8
    assert len({dict(t.meta)["skill"] for t in suite.test}) == 8  # one skill per held-out family


def test_task_structure(suite):
    for task in _all(suite):
        meta = dict(task.meta)
        space = task.output_space
        assert space is not None and space.rule == "declared" and len(space.labels) >= 2
        assert all(len(i.outputs) == 1 and i.outputs[0] in space.labels for i in task.instances)
        assert len(task.positive_examples) == 2 and len(task.negative_examples) == 2
        assert all(e.explanation for e in task.positive_examples + task.negative_examples)
        assert task.contrast.group == meta["family"] and task.contrast.side == meta["rule"]
        assert task.categories and meta["skill"] and meta["generator"]
        assert all(f'"{label}"' in task.definition for label in space.labels)
        if task.negation is not None:
            flipped = dict(task.negation.label_map)
            assert sorted(flipped) == sorted(space.labels) and all(flipped[k] != k for k in flipped)
            assert task.negation.definition != task.definition and " not " in task.negation.definition


def test_positive_examples_show_every_label_of_a_binary_task(suite):
    for task in _all(suite):
        if len(task.output_space.labels) == 2:
            assert {e.output for e in task.positive_examples} == set(task.output_space.labels), task.name


def test_labels_balanced(suite):
    for task in _all(suite):
        labels = task.output_space.labels
        counts = Counter(i.outputs[0] for i in task.instances)
        for label in labels:
            assert abs(counts[label] / len(task.instances) - 1 / len(labels)) <= 0.1, (task.name, counts)


def test_contrast_pairs_share_inputs_and_disagree(suite):
    for group, tasks in _groups(_all(suite)).items():
        assert len(tasks) >= 2
        assert len({t.output_space.labels for t in tasks}) == 1
        assert len({t.definition for t in tasks}) == len(tasks)
        for a, b in combinations(tasks, 2):
            items_a = {alignment_key(i.id, a.contrast.side): i for i in a.instances}
            items_b = {alignment_key(i.id, b.contrast.side): i for i in b.instances}
            assert items_a.keys() == items_b.keys()
            assert all(items_a[k].input == items_b[k].input for k in items_a)
            differ = sum(items_a[k].outputs != items_b[k].outputs for k in items_a)
            assert differ / len(items_a) >= 0.4, (group, differ)


def test_no_leakage_between_train_and_test(suite):
    assert not set(suite.train_families) & set(suite.test_families)
    train_groups = {t.contrast.group for t in suite.train}
    assert not train_groups & {t.contrast.group for t in suite.test}

    def inputs(tasks: list[Task]) -> set[str]:
        return {x.input for t in tasks for x in (*t.instances, *t.positive_examples, *t.negative_examples)}

    assert not inputs(suite.train) & inputs(suite.test)


def test_unique_inputs_and_ids_within_a_task(suite):
    names = [t.name for t in _all(suite)]
    assert len(set(names)) == len(names)
    for task in _all(suite):
        shown = [e.input for e in task.positive_examples + task.negative_examples]
        inputs = [i.input for i in task.instances] + shown
        assert len(set(inputs)) == len(inputs), task.name
        assert len({i.id for i in task.instances}) == len(task.instances)
        assert all(i.id.endswith(f"-{task.contrast.side}") for i in task.instances)


def _read_all(paths: dict[str, Path]) -> dict[str, bytes]:
    return {k: p.read_bytes() for k, p in sorted(paths.items())}


def test_write_suite_is_byte_identical_for_a_seed(tmp_path):
    first = _read_all(write_suite(tmp_path / "a", seed=3))
    second = _read_all(write_suite(tmp_path / "b", seed=3))
    assert first == second
    assert set(first) == {"train", "test", "manifest"}
    other = _read_all(write_suite(tmp_path / "c", seed=4))
    assert other["train"] != first["train"]


def test_written_files_load_back_and_manifest(tmp_path):
    from itprobe.tasks import load_tasks

    paths = write_suite(tmp_path, seed=0)
    suite = generate_suite(0)
    assert load_tasks(paths["train"]) == suite.train
    assert load_tasks(paths["test"]) == suite.test
    manifest = json.loads(paths["manifest"].read_text())
    assert manifest["seed"] == 0
    assert manifest["split"]["test"] == sorted(suite.test_families)
    assert manifest["sizes"] == {
        "train_tasks": len(suite.train),
        "test_tasks": 16,
        "train_instances": 40 * len(suite.train),
        "test_instances": 16 * 24,
    }
    assert len(manifest["families"]) == len(list_families()) and len(manifest["skills"]) >= 6
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "suite.json",
        "test_tasks.jsonl",
        "train_tasks.jsonl",
    ]


def test_definitions_vary_with_the_seed():
    texts = defaultdict(set)
    for seed in range(6):
        for task in generate_suite(seed, SuiteConfig(test_families=("parity",))).test:
            texts[task.name].add(task.definition)
    assert all(len(v) >= 2 for v in texts.values())


def test_config_sizes_and_explicit_split():
    config = SuiteConfig(
        instances_per_task=10,
        test_instances_per_task=7,
        examples=1,
        families=("parity", "extreme_position", "review_aspects"),
        test_families=("extreme_position",),
    )
    suite = generate_suite(5, config)
    assert suite.test_families == ("extreme_position",)
    assert suite.train_families == ("parity", "review_aspects")
    assert all(len(t.instances) == 7 and len(t.positive_examples) == 1 for t in suite.test)
    assert all(len(t.instances) == 10 and len(t.negative_examples) == 1 for t in suite.train)


@pytest.mark.parametrize(
    "config",
    [
        SuiteConfig(families=("no_such_family",)),
        SuiteConfig(n_test_families=len(list_families())),
        SuiteConfig(instances_per_task=1),
        SuiteConfig(families=("parity", "magnitude"), test_families=("primality",)),
        SuiteConfig(families=("country_or_city",), n_test_families=0, instances_per_task=500),
    ],
)
def test_bad_configs_are_user_errors(config):
    with pytest.raises(UserError):
        generate_suite(0, config)


def test_docs_table_matches_the_generator():
    from itprobe.suites.docs import families_markdown

    text = (ROOT / "docs" / "suite.md").read_text()
    assert families_markdown(seed=0) in text


def _suite_configs() -> list[tuple[str, int, SuiteConfig, int]]:
    """(config name, suite seed, suite config, test instances per task) of every shipped suite study."""
    from itprobe.study import load_config
    from itprobe.study.loading import PACKAGED_CONFIGS

    out = []
    for name in PACKAGED_CONFIGS:
        config = load_config(name)
        if config.data.source == "suite":
            k = config.test_tasks.instances_per_task
            suite_config = SuiteConfig(**config.data.suite)
            out.append(
                (name, config.data.suite_seed, suite_config, k or suite_config.test_instances_per_task)
            )
    assert out, "no shipped config uses the suite"
    return out


def _spread(counts: Counter, keys) -> int:
    return max(counts[k] for k in keys) - min(counts[k] for k in keys)


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_labels_and_cells_balanced_at_every_prefix(seed):
    """Any first n instances of a task (a study keeps the first instances_per_task) are as balanced as n
    allows: label counts within 1 of each other on every side, and so are the cells (the tuples of gold
    labels across a pair's sides, which fix the pair's agreement)."""
    suite = generate_suite(seed)
    for group, tasks in _groups(_all(suite)).items():
        labels = tasks[0].output_space.labels
        cells_seen = {tuple(t.instances[i].outputs[0] for t in tasks) for i in range(len(tasks[0].instances))}
        for n in range(1, len(tasks[0].instances) + 1):
            for t in tasks:
                assert _spread(Counter(i.outputs[0] for i in t.instances[:n]), labels) <= 1, (t.name, n)
            cells = Counter(tuple(t.instances[i].outputs[0] for t in tasks) for i in range(n))
            assert _spread(cells, cells_seen) <= 1, (group, n, cells)


def test_the_shipped_configs_score_balanced_test_tasks():
    for name, seed, suite_config, k in _suite_configs():
        for task in generate_suite(seed, suite_config).test:
            counts = Counter(i.outputs[0] for i in task.instances[:k])
            labels = task.output_space.labels
            assert max(counts.values()) - min(counts[x] for x in labels) <= 1, (name, task.name, counts)
            # so a constant answer per task scores at most ceil(k / |labels|) / k (0.5 for 10 yes/no)
            assert max(counts.values()) <= -(-k // len(labels)), (name, task.name, counts)
