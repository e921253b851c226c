"""Trivial baselines that know the output format but not the instruction (Kung & Peng, Sec. 4).

- ``random``: a label drawn uniformly from the task's output space (tasks without one are skipped).
- ``majority``: the task's most frequent gold label. It PEEKS at the evaluation labels, so it is an
  oracle upper reference for strategies that only learned the format, not a fair competitor.
- ``copy-input``: the instance input, verbatim.
- ``copy-demo``: the output of the task's first positive example (tasks without one are skipped).

`random_expectation` is the analytic exact match of the random baseline: for each instance the share of the
task's labels that match one of its references after official normalisation.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, get_args

from itprobe.errors import UserError
from itprobe.metrics import normalize_answer, score_predictions
from itprobe.records import Prediction
from itprobe.tasks import load_references, load_tasks
from itprobe.tasks.types import Instance, Task

BaselineKind = Literal["random", "majority", "copy-input", "copy-demo"]
BASELINES: tuple[str, ...] = get_args(BaselineKind)


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


def _answerer(kind: str, task: Task, seed: int) -> Callable[[Instance], str] | None:
    """The per-instance answer function of a baseline for one task, or None when the task is skipped."""
    if kind == "random":
        labels = distinct_labels(task)
        # one stream per (seed, task): results do not depend on which other tasks are in the run
        rng = random.Random(f"{seed}:{task.name}")
        return (lambda _instance: rng.choice(labels)) if labels else None
    if kind == "majority":
        label = majority_label(task)
        return lambda _instance: label
    if kind == "copy-input":
        return lambda instance: instance.input
    if kind == "copy-demo":
        if not task.positive_examples:
            return None
        demo = task.positive_examples[0].output
        return lambda _instance: demo
    raise ValueError(f"unknown baseline '{kind}' (known: {', '.join(BASELINES)})")


def skipped_tasks(kind: str, tasks: Sequence[Task], *, seed: int = 0) -> list[str]:
    """Names of the tasks a baseline cannot answer (no output space for random, no demo for copy-demo)."""
    return [task.name for task in tasks if _answerer(kind, task, seed) is None]


def run_baseline(kind: str, tasks: Sequence[Task], *, seed: int = 0) -> list[Prediction]:
    """Answer every instance of every task with a baseline; skipped tasks contribute no predictions.

    Args:
        kind: one of ``random``, ``majority``, ``copy-input``, ``copy-demo``.
        tasks: the tasks with their instances (and output spaces, for ``random``).
        seed: seeds ``random`` (per task, so a task's answers do not depend on the other tasks).

    Returns:
        One `Prediction` per answered instance, carrying references, labels and category for scoring.
    """
    out: list[Prediction] = []
    for task in tasks:
        answer = _answerer(kind, task, seed)
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
    tasks: Path | None, references: Path | None, max_labels: int, label_file: Path | None
) -> list[Task]:
    """Tasks from a task source or a leaderboard reference file (exactly one), with output spaces detected
    (or read from ``label_file``)."""
    if tasks is not None and references is None:
        return load_tasks(tasks, max_labels=max_labels, label_file=label_file)
    if references is not None and tasks is None:
        return load_references(references, max_labels=max_labels, label_file=label_file)
    raise UserError("give exactly one of --tasks and --references")


def _label_rule(tasks: Sequence[Task]) -> str:
    rules = {
        t.output_space.rule + (f" ({t.output_space.detail})" if t.output_space.detail else "")
        for t in tasks
        if t.output_space is not None
    }
    return "; ".join(sorted(rules)) or "none"


def baseline_summary(
    kind: str,
    *,
    tasks: Path | None,
    references: Path | None,
    max_labels: int = 10,
    label_file: Path | None = None,
    classification_only: bool = False,
    seed: int = 0,
) -> dict[str, Any]:
    """What ``itprobe baseline`` reports: the baseline's official scores (×100) overall and per task, the
    tasks it skipped, and for ``random`` the analytic expectation and the label-set rule.

    Raises:
        UserError: unknown kind, a copy baseline on a reference file, not exactly one source, or no task
            the baseline can answer.
    """
    if kind not in BASELINES:
        raise UserError(f"unknown baseline '{kind}' (choose from {', '.join(BASELINES)})")
    if references is not None and kind in ("copy-input", "copy-demo"):
        raise UserError(f"baseline '{kind}' needs inputs and demonstrations: use --tasks, not --references")
    loaded = load_baseline_tasks(tasks, references, max_labels, label_file)
    if classification_only:
        loaded = [t for t in loaded if t.is_classification]
    skipped = skipped_tasks(kind, loaded, seed=seed)
    preds = run_baseline(kind, loaded, seed=seed)
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
    if kind == "majority":
        result["note"] = "majority peeks at the evaluation labels: an oracle upper reference"
    result["per_task"] = {name: s.as_dict() for name, s in report.per_task.items()}
    return result
