"""Trivial baselines and input-blind controls, each one decorated function registered by name (Kung & Peng,
Sec. 4; issue #25).

A baseline answers every instance of a task without a model. Each is declared once, with its properties as
arguments of `baseline` (the registry `REGISTRY`); every list (`itprobe baseline` kinds and help, a study
config's allowed ``baselines``, the grid's baseline cells, the audit's ``baselines`` probe, the report's
oracle marks and the "beats guessing" gate's controls) derives from the declarations:

- ``oracle``: reads the evaluated instances' references (never a fair competitor; the gate never uses it);
- ``input_blind``: the answer does not depend on the instance's input (a control for "reads the input");
- ``needs_training_data``: learns from labelled data that is not scored (`ControlData.held_out`);
- ``needs_inputs``: needs the instances' inputs or demonstrations (a leaderboard reference file has neither);
- ``condition``: the name of its rows in reports, when it differs from ``name``: the seeded ``random``
  baseline's rows are ``random draw``, because in every report "random" is the *expected* score of a uniform
  guess (`random_expectation`), and one seeded draw scores a little above or below it.

The controls of "beats guessing" (`controls`) are the input-blind baselines that are not oracles. What each
one answers is in its docstring; the choices are recorded in docs/design.md ("Input-blind controls").

`random_expectation` is the analytic exact match of the random baseline: for each instance the share of the
task's labels that match one of its references after official normalisation.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from itprobe.errors import UserError
from itprobe.metrics import normalize_answer, score_predictions
from itprobe.records import Prediction
from itprobe.tasks import load_references, load_tasks
from itprobe.tasks.types import Instance, Task

Answerer = Callable[[Instance], str]


@dataclass(frozen=True)
class ControlData:
    """What a baseline may read besides the task itself.

    ``held_out``: per task name, labelled instances of that task that are NOT scored (a study's test
    instances beyond ``test_tasks.instances_per_task``; ``itprobe baseline --max-instances``'s rest). Never
    the evaluated instances: `train-constant` learns only from these.
    """

    seed: int = 0
    held_out: Mapping[str, Sequence[Instance]] = field(default_factory=dict)


Factory = Callable[[Task, ControlData], "Answerer | None"]


@dataclass(frozen=True)
class Baseline:
    """A registered baseline: its name, answer factory and declared properties (see the module doc)."""

    name: str
    factory: Factory
    summary: str
    oracle: bool = False
    input_blind: bool = True
    needs_training_data: bool = False
    needs_inputs: bool = False
    condition: str = ""  # the report condition of its rows; "" means ``name``

    @property
    def report_name(self) -> str:
        """The condition its rows carry in study and audit reports (module doc, ``condition``)."""
        return self.condition or self.name

    @property
    def control(self) -> bool:
        """A fair input-blind control: ignores the input and never reads the evaluated references."""
        return self.input_blind and not self.oracle


REGISTRY: dict[str, Baseline] = {}


def baseline(
    name: str,
    *,
    oracle: bool = False,
    input_blind: bool = True,
    needs_training_data: bool = False,
    needs_inputs: bool = False,
    condition: str = "",
) -> Callable[[Factory], Factory]:
    """Register ``fn(task, data) -> answer function or None`` (None: the task is skipped) under ``name``;
    the docstring's first paragraph is its summary (help texts and reports)."""

    def register(fn: Factory) -> Factory:
        summary = " ".join((fn.__doc__ or name).strip().split("\n\n")[0].split())
        REGISTRY[name] = Baseline(
            name, fn, summary, oracle, input_blind, needs_training_data, needs_inputs, condition
        )
        return fn

    return register


def get_baseline(name: str) -> Baseline:
    """The registered baseline ``name``; a `UserError` listing the known names otherwise."""
    if name not in REGISTRY:
        raise UserError(f"unknown baseline '{name}' (choose from {', '.join(REGISTRY)})")
    return REGISTRY[name]


def controls(names: Iterable[str] | None = None) -> list[str]:
    """The fair input-blind controls among ``names`` (default: all registered), in registry order."""
    wanted = set(REGISTRY if names is None else names)
    return [b.name for b in REGISTRY.values() if b.control and b.name in wanted]


def oracles() -> list[str]:
    """The registered baselines that read the evaluated instances' references."""
    return [b.name for b in REGISTRY.values() if b.oracle]


def distinct_labels(task: Task) -> tuple[str, ...]:
    """The task's labels, one spelling per normalised form (first wins); () without an output space."""
    if task.output_space is None:
        return ()
    seen: dict[str, str] = {}
    for label in task.output_space.labels:
        seen.setdefault(normalize_answer(label), label)
    return tuple(seen.values())


def majority_label(task: Task) -> str:
    """The most frequent normalised reference over the task's instances (ties: first seen), as first spelled."""
    counts: Counter[str] = Counter()
    spelling: dict[str, str] = {}
    for instance in task.instances:
        for ref in dict.fromkeys(normalize_answer(o) for o in instance.outputs):
            counts[ref] += 1
        for out in instance.outputs:
            spelling.setdefault(normalize_answer(out), out)
    if not counts:
        return ""
    best = max(counts.values())
    return spelling[next(ref for ref, n in counts.items() if n == best)]


def _as_label(task: Task, answer: str) -> str | None:
    """The task's label whose normalised form is ``answer``'s, or None (no label set, or not a label)."""
    return {normalize_answer(label): label for label in reversed(distinct_labels(task))}.get(
        normalize_answer(answer)
    )


def _demo_labels(task: Task) -> list[str]:
    """The positive demonstrations' outputs that are labels of the task, as labels, in order."""
    return [label for ex in task.positive_examples if (label := _as_label(task, ex.output)) is not None]


def _constant(answer: str) -> Answerer:
    return lambda _instance: answer


@baseline("random", condition="random draw")
def _random(task: Task, data: ControlData) -> Answerer | None:
    """a label drawn uniformly from the task's label set (the gate uses its analytic expectation)"""
    labels = distinct_labels(task)
    # one stream per (seed, task): results do not depend on which other tasks are in the run
    rng = random.Random(f"{data.seed}:{task.name}")
    return (lambda _instance: rng.choice(labels)) if labels else None


@baseline("majority", oracle=True)
def _majority(task: Task, data: ControlData) -> Answerer | None:
    """the most frequent reference among the EVALUATED instances (an oracle: it reads the test labels)"""
    return _constant(majority_label(task))


@baseline("first-demo-label", needs_inputs=True)
def _first_demo_label(task: Task, data: ControlData) -> Answerer | None:
    """the first positive demonstration's output, as the task's label (tasks whose first demonstration's
    output is not a label are skipped)"""
    if not task.positive_examples:
        return None
    label = _as_label(task, task.positive_examples[0].output)
    return _constant(label) if label is not None else None


@baseline("demo-majority", needs_inputs=True)
def _demo_majority(task: Task, data: ControlData) -> Answerer | None:
    """the most frequent label among the positive demonstrations' outputs (ties: the first shown)"""
    shown = _demo_labels(task)
    if not shown:
        return None
    counts = Counter(shown)
    return _constant(max(shown, key=lambda label: (counts[label], -shown.index(label))))


@baseline("train-constant", needs_training_data=True)
def _train_constant(task: Task, data: ControlData) -> Answerer | None:
    """the label with the best exact match on the task's labelled instances that are NOT scored (ties: the
    label-set order); tasks without such instances are skipped"""
    labels = distinct_labels(task)
    held = data.held_out.get(task.name, ())
    if not labels or not held:
        return None
    hits = {
        label: sum(normalize_answer(label) in {normalize_answer(o) for o in i.outputs} for i in held)
        for label in labels
    }
    return _constant(max(labels, key=lambda label: (hits[label], -labels.index(label))))


@baseline("copy-input", input_blind=False, needs_inputs=True)
def _copy_input(task: Task, data: ControlData) -> Answerer | None:
    """the instance input, verbatim (not input-blind: it is the input)"""
    return lambda instance: instance.input


@baseline("copy-demo", needs_inputs=True)
def _copy_demo(task: Task, data: ControlData) -> Answerer | None:
    """the output of the task's first positive demonstration, verbatim (tasks without one are skipped)"""
    if not task.positive_examples:
        return None
    return _constant(task.positive_examples[0].output)


BASELINES: tuple[str, ...] = tuple(REGISTRY)


def _prediction(task: Task, instance: Instance, answer: str) -> Prediction:
    return Prediction(
        task=task.name,
        id=instance.id,
        prediction=answer,
        references=tuple(instance.outputs),
        mode="generate",
        labels=distinct_labels(task),
        category=task.category,
        input=instance.input,
    )


def _answerer(kind: str, task: Task, data: ControlData) -> Answerer | None:
    """The per-instance answer function of a baseline for one task, or None when the task is skipped."""
    if kind not in REGISTRY:
        raise ValueError(f"unknown baseline '{kind}' (known: {', '.join(REGISTRY)})")
    return REGISTRY[kind].factory(task, data)


def _data(seed: int, data: ControlData | None) -> ControlData:
    return ControlData(seed, data.held_out) if data is not None else ControlData(seed)


def skipped_tasks(
    kind: str, tasks: Sequence[Task], *, seed: int = 0, data: ControlData | None = None
) -> list[str]:
    """Names of the tasks a baseline cannot answer (no label set, no demonstration, no unscored data)."""
    given = _data(seed, data)
    return [task.name for task in tasks if _answerer(kind, task, given) is None]


def run_baseline(
    kind: str, tasks: Sequence[Task], *, seed: int = 0, data: ControlData | None = None
) -> list[Prediction]:
    """Answer every instance of every task with a baseline; skipped tasks contribute no predictions.

    Args:
        kind: a registered baseline (`BASELINES`).
        tasks: the tasks with their instances (and output spaces, for the label baselines).
        seed: seeds ``random`` (per task, so a task's answers do not depend on the other tasks).
        data: what the baseline may read besides the tasks (``held_out`` for ``train-constant``); its seed
            is replaced by ``seed``.

    Returns:
        One `Prediction` per answered instance, carrying references, labels and category for scoring.
    """
    given = _data(seed, data)
    out: list[Prediction] = []
    for task in tasks:
        answer = _answerer(kind, task, given)
        if answer is not None:
            out.extend(_prediction(task, instance, answer(instance)) for instance in task.instances)
    return out


def expected_hit_rate(task: Task) -> list[float]:
    """Per instance, the chance that a uniform guess over the task's labels matches a reference."""
    labels = [normalize_answer(label) for label in distinct_labels(task)]
    if not labels:
        return []
    return [
        sum(label in {normalize_answer(o) for o in instance.outputs} for label in labels) / len(labels)
        for instance in task.instances
    ]


def random_expectation(tasks: Sequence[Task], *, per: Literal["instance", "task"] = "instance") -> float:
    """Analytic exact match (0..1) of the random baseline over the tasks that have an output space.

    Args:
        tasks: the tasks; those without an output space (or without instances) are left out.
        per: ``instance`` averages over all instances (as ``overall``), ``task`` over task means.
    """
    rates = [r for r in (expected_hit_rate(task) for task in tasks) if r]
    if not rates:
        raise ValueError("no task with an output space and instances")
    if per == "task":
        return sum(sum(r) / len(r) for r in rates) / len(rates)
    return sum(sum(r) for r in rates) / sum(len(r) for r in rates)


def load_baseline_tasks(
    tasks: Path | None,
    references: Path | None,
    max_labels: int,
    label_file: Path | None,
    labels_may_exclude_gold: bool = False,
) -> list[Task]:
    """Tasks from a task source or a leaderboard reference file (exactly one), with output spaces detected
    (or read from ``label_file``; ``labels_may_exclude_gold``: the user's opt-out, see `load_tasks`)."""
    kw: dict[str, Any] = {
        "max_labels": max_labels,
        "label_file": label_file,
        "labels_may_exclude_gold": labels_may_exclude_gold,
    }
    if tasks is not None and references is None:
        return load_tasks(tasks, **kw)
    if references is not None and tasks is None:
        return load_references(references, **kw)
    raise UserError("give exactly one of --tasks and --references")


def _label_rule(tasks: Sequence[Task]) -> str:
    rules = {
        t.output_space.rule + (f" ({t.output_space.detail})" if t.output_space.detail else "")
        for t in tasks
        if t.output_space is not None
    }
    return "; ".join(sorted(rules)) or "none"


def split_held_out(tasks: Sequence[Task], max_instances: int | None) -> tuple[list[Task], ControlData]:
    """Each task cut to its first ``max_instances`` instances (the scored ones), and the rest as the
    unscored labelled data `train-constant` learns from (None: every instance is scored, nothing held out)."""
    if max_instances is None:
        return list(tasks), ControlData()
    held = {t.name: t.instances[max_instances:] for t in tasks}
    return [replace(t, instances=t.instances[:max_instances]) for t in tasks], ControlData(held_out=held)


def baseline_summary(
    kind: str,
    *,
    tasks: Path | None,
    references: Path | None,
    max_labels: int = 10,
    label_file: Path | None = None,
    classification_only: bool = False,
    seed: int = 0,
    max_instances: int | None = None,
    labels_may_exclude_gold: bool = False,
) -> dict[str, Any]:
    """What ``itprobe baseline`` reports: the baseline's official scores (×100) overall and per task, the
    tasks it skipped, and for ``random`` the analytic expectation and the label-set rule.

    ``max_instances``: score the first N instances of each task; the rest are the unscored labelled data a
    baseline that needs training data (``train-constant``) learns from.

    Raises:
        UserError: unknown kind, a baseline that needs inputs on a reference file, one that needs training
            data without ``max_instances``, not exactly one source, or no task the baseline can answer.
    """
    spec = get_baseline(kind)
    if references is not None and spec.needs_inputs:
        raise UserError(f"baseline '{kind}' needs inputs and demonstrations: use --tasks, not --references")
    if spec.needs_training_data and max_instances is None:
        raise UserError(
            f"baseline '{kind}' learns from labelled instances that are not scored: give --max-instances N "
            "(the first N instances of each task are scored, the rest are its training data)"
        )
    if max_instances is not None and max_instances < 1:
        raise UserError(f"--max-instances must be at least 1, got {max_instances}")
    loaded = load_baseline_tasks(tasks, references, max_labels, label_file, labels_may_exclude_gold)
    if classification_only:
        loaded = [t for t in loaded if t.is_classification]
    loaded, data = split_held_out(loaded, max_instances)
    skipped = skipped_tasks(kind, loaded, seed=seed, data=data)
    preds = run_baseline(kind, loaded, seed=seed, data=data)
    if not preds:
        raise UserError(f"baseline '{kind}' has no task to answer ({len(skipped)} of {len(loaded)} skipped)")
    report = score_predictions(preds)
    result: dict[str, Any] = {
        "baseline": kind,
        "exact_match": round(report.overall.exact_match, 4),
        "rouge1": round(report.overall.rouge1, 4),
        "rougeL": round(report.overall.rougeL, 4),
        "n_tasks": len(report.per_task),
        "n_instances": report.overall.n,
        "seed": seed,
        "n_skipped": len(skipped),
        "skipped_tasks": skipped,
    }
    if kind == "random":
        answered = [t for t in loaded if t.name in report.per_task]
        result["expected_exact_match"] = round(100 * random_expectation(answered), 4)
        result["expected_exact_match_task_mean"] = round(100 * random_expectation(answered, per="task"), 4)
        result["label_rule"] = _label_rule(answered)
    if spec.oracle:
        result["note"] = f"{kind} peeks at the evaluation labels: an oracle upper reference"
    result["per_task"] = {name: s.as_dict() for name, s in report.per_task.items()}
    return result
