"""Deterministic generation of the instruction-sensitivity suite (see docs/suite.md).

Every family yields one task per rule. The rules of a family share inputs, instance indices and output
space, and form one contrast group (``Contrast(group=family, side=rule id)``). Instance ids follow
``suite-<family>-<index:04d>-<rule>``: dropping the ``-<rule>`` suffix aligns the sides of a pair.

Determinism: every random choice comes from a `random.Random` seeded with a string built from the seed
and the family name (string seeds are hashed with SHA-512 by `random`, not with `hash()`), families are
visited in registry order, and no set is iterated.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from itprobe.errors import UserError
from itprobe.fsio import atomic_write
from itprobe.suites.families import ALL_FAMILIES
from itprobe.suites.family import Family, Rule, definition, n_phrasings, sentence
from itprobe.tasks.types import Contrast, Example, Instance, Negation, OutputSpace, Task

GENERATOR_VERSION = "itprobe-suite/2"
MAX_TRIES = 5000
SKILL_TITLES: dict[str, str] = {
    "arithmetic": "Arithmetic",
    "comparison": "Comparison",
    "counting": "Counting",
    "entity_presence": "Entity Presence",
    "number_properties": "Number Properties",
    "ordering": "Ordering",
    "sentiment": "Sentiment Analysis",
    "string_properties": "String Properties",
    "word_categories": "Word Categories",
}


@dataclass(frozen=True)
class SuiteConfig:
    """Sizes and split of a generated suite.

    Attributes:
        n_test_families: families held out for testing (picked per seed, spread over skills).
        instances_per_task: instances of every training task.
        test_instances_per_task: instances of every test task.
        examples: positive examples per task, and as many negative examples.
        families: restrict the suite to these families (empty: all of them).
        test_families: the test families by name (empty: pick ``n_test_families`` per seed).
    """

    n_test_families: int = 8
    instances_per_task: int = 40
    test_instances_per_task: int = 24
    examples: int = 2
    families: tuple[str, ...] = ()
    test_families: tuple[str, ...] = ()


@dataclass(frozen=True)
class Suite:
    """A generated suite: training tasks and test tasks from disjoint families."""

    train: list[Task]
    test: list[Task]
    train_families: tuple[str, ...] = ()
    test_families: tuple[str, ...] = ()


def list_families() -> list[Family]:
    """Every rule family, in registry order (the order tasks are written in)."""
    return list(ALL_FAMILIES)


def _selected(config: SuiteConfig) -> list[Family]:
    by_name = {f.name: f for f in ALL_FAMILIES}
    unknown = [n for n in (*config.families, *config.test_families) if n not in by_name]
    if unknown:
        raise UserError(f"unknown suite families {unknown}; known: {sorted(by_name)}")
    wanted = config.families or tuple(by_name)
    return [f for f in ALL_FAMILIES if f.name in wanted]


def _check(config: SuiteConfig, families: list[Family]) -> None:
    if min(config.instances_per_task, config.test_instances_per_task) < 2:
        raise UserError("a suite task needs at least 2 instances")
    if config.examples < 0:
        raise UserError("examples must be >= 0")
    n_test = len(config.test_families) or config.n_test_families
    if not 0 <= n_test < len(families):
        raise UserError(f"n_test_families must be between 0 and {len(families) - 1} (got {n_test})")
    outside = [n for n in config.test_families if n not in {f.name for f in families}]
    if outside:
        raise UserError(f"test families {outside} are not among the selected families")


def choose_test_families(families: list[Family], seed: int, n: int) -> tuple[str, ...]:
    """``n`` family names, taking one family per skill in turn (skills and families shuffled per seed)."""
    rng = random.Random(f"itprobe-suite:{seed}:split")
    skills = sorted({f.skill for f in families})
    rng.shuffle(skills)
    queues = {s: [f.name for f in families if f.skill == s] for s in skills}
    for queue in queues.values():
        rng.shuffle(queue)
    chosen: list[str] = []
    while len(chosen) < n:
        for skill in skills:
            if queues[skill] and len(chosen) < n:
                chosen.append(queues[skill].pop(0))
    return tuple(sorted(chosen))


def _spread(counts: Counter[str], keys: Sequence[str]) -> int:
    return max(counts[key] for key in keys) - min(counts[key] for key in keys)


def balanced_cells(cells: Sequence[tuple[str, ...]], n: int, rng: random.Random) -> list[tuple[str, ...]]:
    """``n`` cells in a random order whose every prefix is as balanced as its length allows.

    In the first m cells, for every m: each cell occurs within one of every other (so a pair's agreement
    and disagreement keep their designed shares) and, under each rule, each label occurs within one of
    every other label. A study keeps a task's first ``instances_per_task`` instances, so whatever it keeps
    is balanced and no constant answer per task gets ahead of a uniform guess by more than one instance.
    A depth-first search with the candidates of each step in random order; it backtracks only where a
    greedy choice would strand a later prefix (three-label families).
    """
    names = [str(i) for i in range(len(cells))]
    rules = range(len(cells[0]))
    labels = [sorted({cell[r] for cell in cells}) for r in rules]
    used: Counter[str] = Counter()
    seen = [Counter[str]() for _ in rules]

    def step(i: int, sign: int) -> None:
        used[names[i]] += sign
        for r in rules:
            seen[r][cells[i][r]] += sign

    def balanced() -> bool:
        return _spread(used, names) <= 1 and all(_spread(seen[r], labels[r]) <= 1 for r in rules)

    order: list[int] = []
    stack = [rng.sample(range(len(cells)), len(cells))]
    while len(order) < n:
        if not stack:
            raise UserError(f"no balanced order of the cells {list(cells)}")
        if not stack[-1]:  # every candidate of this step failed: undo the previous step's choice
            stack.pop()
            if order:
                step(order.pop(), -1)
            continue
        candidate = stack[-1].pop()
        step(candidate, +1)
        if balanced():
            order.append(candidate)
            stack.append(rng.sample(range(len(cells)), len(cells)))
        else:
            step(candidate, -1)
    return [cells[i] for i in order]


def _draw_inputs(
    family: Family, rng: random.Random, cells: list[tuple[str, ...]], taken: set[str]
) -> list[Any]:
    """One input value per target cell, verified by the rules, rendered text not in ``taken`` (updated)."""
    values = []
    for cell in cells:
        for _ in range(MAX_TRIES):
            value = family.draw(rng, cell)
            text = family.render(value)
            if family.cell_of(value) == cell and text not in taken:
                taken.add(text)
                values.append(value)
                break
        else:
            raise UserError(f"suite family {family.name!r} cannot produce that many distinct inputs")
    return values


def _examples(family: Family, rule: int, values: list[Any], rng: random.Random) -> tuple[Example, ...]:
    out = []
    for value, negative in values:
        gold = family.rules[rule].label(value)
        fact = family.fact(value)
        if not negative:
            out.append(Example(family.render(value), gold, f'{sentence(fact)}, so the answer is "{gold}".'))
            continue
        wrong = rng.choice([label for label in family.labels if label != gold])
        why = f'"{wrong}" is wrong: {fact}, so the answer should be "{gold}".'
        out.append(Example(family.render(value), wrong, why))
    return tuple(out)


def _task(family: Family, rule: Rule, parts: dict[str, Any], seed: int, rng: random.Random) -> Task:
    index = family.rules.index(rule)
    phrasing = rng.randrange(n_phrasings(family))
    negation = None
    if family.has_negation:
        a, b = family.labels
        negation = Negation(definition(family, rule.negated, phrasing), ((a, b), (b, a)))
    instances = tuple(
        Instance(f"suite-{family.name}-{i:04d}-{rule.id}", family.render(v), (rule.label(v),))
        for i, v in enumerate(parts["instances"])
    )
    meta = {
        "family": family.name,
        "generator": GENERATOR_VERSION,
        "rule": rule.id,
        "seed": str(seed),
        "skill": family.skill,
        "source": "itprobe generated suite",
    }
    return Task(
        name=f"suite-{family.name}-{rule.id}",
        definition=definition(family, rule.text, phrasing),
        instances=instances,
        positive_examples=_examples(family, index, [(v, False) for v in parts["positive"]], rng),
        negative_examples=_examples(family, index, [(v, True) for v in parts["negative"]], rng),
        categories=(SKILL_TITLES[family.skill],),
        output_space=OutputSpace(family.labels, "declared"),
        negation=negation,
        contrast=Contrast(family.name, rule.id),
        meta=tuple(sorted(meta.items())),
    )


def family_tasks(family: Family, seed: int, n: int, n_examples: int, reserved: set[str]) -> list[Task]:
    """The tasks (one per rule) of a family; inputs in ``reserved`` are avoided, and used ones added."""
    rng = random.Random(f"itprobe-suite:{seed}:{family.name}")
    k = len(family.cells)
    # positive examples from the first cells (they differ on every rule), negatives from the next ones
    example_cells = [family.cells[i % k] for i in range(2 * n_examples)]
    instance_cells = balanced_cells(family.cells, n, rng)
    taken = set(reserved)
    examples = _draw_inputs(family, rng, example_cells, taken)
    parts = {
        "positive": examples[:n_examples],
        "negative": examples[n_examples:],
        "instances": _draw_inputs(family, rng, instance_cells, taken),
    }
    reserved.update(family.render(v) for v in examples + parts["instances"])
    return [_task(family, rule, parts, seed, rng) for rule in family.rules]


def generate_suite(seed: int = 0, config: SuiteConfig = SuiteConfig()) -> Suite:
    """Generate the suite for a seed: test families first, so training inputs can avoid theirs."""
    families = _selected(config)
    _check(config, families)
    test_names = config.test_families or choose_test_families(families, seed, config.n_test_families)
    reserved: set[str] = set()
    tasks: dict[str, list[Task]] = {}
    for family in [f for f in families if f.name in test_names]:
        tasks[family.name] = family_tasks(
            family, seed, config.test_instances_per_task, config.examples, reserved
        )
    for family in [f for f in families if f.name not in test_names]:
        tasks[family.name] = family_tasks(family, seed, config.instances_per_task, config.examples, reserved)
    train_names = tuple(f.name for f in families if f.name not in test_names)
    test_order = tuple(f.name for f in families if f.name in test_names)
    return Suite(
        train=[t for name in train_names for t in tasks[name]],
        test=[t for name in test_order for t in tasks[name]],
        train_families=train_names,
        test_families=test_order,
    )


def suite_manifest(suite: Suite, seed: int, config: SuiteConfig) -> dict[str, Any]:
    """What ``suite.json`` records: generator, seed, config, split, sizes and one row per family."""
    by_name = {f.name: f for f in ALL_FAMILIES}
    names = (*suite.train_families, *suite.test_families)
    rows = [
        {
            "name": n,
            "skill": by_name[n].skill,
            "rules": [r.id for r in by_name[n].rules],
            "labels": list(by_name[n].labels),
            "negation": by_name[n].has_negation,
            "split": "test" if n in suite.test_families else "train",
        }
        for n in sorted(names)
    ]
    return {
        "generator": GENERATOR_VERSION,
        "seed": seed,
        "config": asdict(config),
        "families": rows,
        "skills": sorted({r["skill"] for r in rows}),
        "split": {"train": sorted(suite.train_families), "test": sorted(suite.test_families)},
        "sizes": {
            "train_tasks": len(suite.train),
            "test_tasks": len(suite.test),
            "train_instances": sum(len(t.instances) for t in suite.train),
            "test_instances": sum(len(t.instances) for t in suite.test),
        },
    }


def _write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write(path, json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def write_suite(out_dir: str | Path, seed: int = 0, config: SuiteConfig = SuiteConfig()) -> dict[str, Path]:
    """Generate and write ``train_tasks.jsonl``, ``test_tasks.jsonl`` (compact format) and ``suite.json``.

    Returns:
        ``{"train": ..., "test": ..., "manifest": ...}`` paths.
    """
    from itprobe.tasks.compact import save_tasks

    suite = generate_suite(seed, config)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "train": out / "train_tasks.jsonl",
        "test": out / "test_tasks.jsonl",
        "manifest": out / "suite.json",
    }
    save_tasks(suite.train, paths["train"])
    save_tasks(suite.test, paths["test"])
    _write_json(paths["manifest"], suite_manifest(suite, seed, config))
    return paths


__all__ = ["Suite", "SuiteConfig", "generate_suite", "list_families", "suite_manifest", "write_suite"]
