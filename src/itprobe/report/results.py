"""The per-instance result every report is computed from, and the alignment that pairs conditions.

`InstanceResult` is the contract between the producers (study runner, audit) and the report package: one
row per (condition, seed, size, task, instance). Everything in `itprobe.report` is a pure function of a
sequence of them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from itprobe.predict import Prediction
    from itprobe.report.stats import Clusters

Metric = Literal["exact_match", "rougeL"]
Score = Literal["exact_match", "rougeL", "in_format"]


@dataclass(frozen=True)
class InstanceResult:
    """One scored answer. Scores are in 0..1 (reports show them ×100).

    Attributes:
        condition: what is compared in the report: an arm ("original", "simplified", "delusive"), the
            untuned model ("untuned") or a trivial baseline ("random", "majority"). Rows that share a
            condition but differ in ``seed`` are averaged per instance before any statistic.
        task: task name. ``id``: instance id, unique within the task; (task, id) pairs conditions.
        exact_match, rougeL: the official metrics for this instance, 0..1.
        prediction: the raw model output. ``references``: all gold outputs (first = the gold label).
        labels: the output space shown to the model (empty for tasks without one).
        category: the task's first category ("" if none).
        in_space_strict, in_space_loose: format compliance (None when the task has no output space).
        seed: training/sampling seed. ``size``: training instances per task (None = not trained on a
            size grid: untuned model, baselines, audits).
        train_arm, test_arm: the arms at training and at test time ("" when not applicable).
        mode: "generate" or "rank".
        original_labels, original_references: for label-scheme probes (label-rename, label-swap) the
            output space and gold *before* the labels were changed; empty otherwise. Used for the
            old-label leakage rate and the share of answers that followed the old meaning.
        contrast: (group, side) when the task is one side of a contrast pair (its inputs are shared with
            the other side), else empty. The bootstrap then resamples the pair, or the shared item.
    """

    condition: str
    task: str
    id: str
    exact_match: float
    rougeL: float
    prediction: str = ""
    references: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    category: str = ""
    in_space_strict: bool | None = None
    in_space_loose: bool | None = None
    seed: int = 0
    size: int | None = None
    train_arm: str = ""
    test_arm: str = ""
    mode: str = "generate"
    original_labels: tuple[str, ...] = ()
    original_references: tuple[str, ...] = ()
    contrast: tuple[str, ...] = ()

    @property
    def in_format(self) -> float | None:
        """1 when the answer is a label (strict) or exactly right, 0 otherwise; None without a label set."""
        if self.in_space_strict is None:
            return None
        return 1.0 if self.in_space_strict or self.exact_match == 1.0 else 0.0

    @property
    def unit(self) -> tuple[str, str]:
        """(cluster, item) for the bootstrap: the contrast group (else the task) and the input it shares."""
        if len(self.contrast) == 2:
            from itprobe.contrast import alignment_key

            group, side = self.contrast
            return f"pair:{group}", f"pair:{group}\x1f{alignment_key(self.id, side)}"
        return self.task, f"{self.task}\x1f{self.id}"

    @property
    def gold(self) -> str:
        """The gold label: the first reference that is in the output space, else the first reference."""
        return _gold_of(self.references, self.labels)

    @property
    def key(self) -> tuple[str, str]:
        return (self.task, self.id)


def _gold_of(references: Sequence[str], labels: Sequence[str]) -> str:
    if not references:
        return ""
    if labels:
        from itprobe.metrics import normalize_answer

        space = {normalize_answer(label) for label in labels}
        for ref in references:
            if normalize_answer(ref) in space:
                return ref
    return references[0]


def results_from_predictions(
    predictions: Iterable[Prediction],
    *,
    condition: str,
    seed: int = 0,
    size: int | None = None,
    train_arm: str = "",
    test_arm: str = "",
) -> list[InstanceResult]:
    """Score predictions with `itprobe.metrics` and wrap them as `InstanceResult`s of one condition."""
    from itprobe.metrics import exact_match, in_space_loose, in_space_strict, rouge_l

    out = []
    for p in predictions:
        has_space = len(p.labels) > 0
        out.append(
            InstanceResult(
                condition=condition,
                task=p.task,
                id=p.id,
                exact_match=float(exact_match(p.prediction, list(p.references))),
                rougeL=float(rouge_l(p.prediction, list(p.references))),
                prediction=p.prediction,
                references=tuple(p.references),
                labels=tuple(p.labels),
                category=p.category,
                in_space_strict=bool(in_space_strict(p.prediction, list(p.labels))) if has_space else None,
                in_space_loose=bool(in_space_loose(p.prediction, list(p.labels))) if has_space else None,
                seed=seed,
                size=size,
                train_arm=train_arm,
                test_arm=test_arm,
                mode=p.mode,
            )
        )
    return out


def to_frame(results: Sequence[InstanceResult]) -> pd.DataFrame:
    """One row per result, one column per `InstanceResult` field (tuples kept as tuples)."""
    import pandas as pd

    return pd.DataFrame([asdict(r) for r in results], columns=list(InstanceResult.__dataclass_fields__))


@dataclass(frozen=True)
class Aligned:
    """Per-instance scores of several conditions on the instances they all share (seeds averaged).

    ``scores[c]`` is a float array aligned with ``keys``; ``tasks`` repeats each key's task; ``units``
    gives each key's (cluster, item) (see `InstanceResult.unit`) and `resampling` the reports' policy.
    """

    keys: tuple[tuple[str, str], ...]
    scores: dict[str, np.ndarray]
    units: tuple[tuple[str, str], ...] = ()

    @property
    def tasks(self) -> np.ndarray:
        return np.array([k[0] for k in self.keys], dtype=object)

    def resampling(self) -> Clusters | None:
        """The cluster labels the bootstrap uses for these keys (`stats.choose_cluster`)."""
        return resampling_of(self.keys, dict(zip(self.keys, self.units, strict=True)) if self.units else {})

    def subset(self, index: Sequence[int] | np.ndarray) -> Aligned:
        """The same conditions on the keys at ``index``."""
        idx = [int(i) for i in index]
        return Aligned(
            keys=tuple(self.keys[i] for i in idx),
            scores={c: v[idx] for c, v in self.scores.items()},
            units=tuple(self.units[i] for i in idx) if self.units else (),
        )

    @property
    def n(self) -> int:
        return len(self.keys)


def resampling_of(
    keys: Sequence[tuple[str, str]], units: Mapping[tuple[str, str], tuple[str, str]]
) -> Clusters | None:
    """The bootstrap clusters of ``keys``: tasks, contrast pairs, or shared items (`stats.choose_cluster`).

    ``units`` maps a key to its (cluster, item); keys without an entry are their task's.
    """
    from itprobe.report.stats import choose_cluster

    rows = [units.get(k, (k[0], f"{k[0]}\x1f{k[1]}")) for k in keys]
    paired = any(c.startswith("pair:") for c, _ in rows)
    return choose_cluster([c for c, _ in rows], [i for _, i in rows], unit="pair" if paired else "task")


def units_of(results: Iterable[InstanceResult]) -> dict[tuple[str, str], tuple[str, str]]:
    """(task, id) → (cluster, item) of the given rows."""
    return {r.key: r.unit for r in results}


def instance_means(results: Iterable[InstanceResult], metric: Score) -> dict[tuple[str, str], float]:
    """Mean of ``metric`` per (task, id) over the given rows (i.e. over seeds); rows where it is None
    (``in_format`` without a label set) are left out."""
    acc: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in results:
        value = getattr(r, metric)
        if value is not None:
            acc[r.key].append(float(value))
    return {k: sum(v) / len(v) for k, v in acc.items()}


def align(
    results: Iterable[InstanceResult],
    conditions: Sequence[str],
    metric: Score = "exact_match",
    *,
    size: int | None | Literal["any"] = "any",
) -> Aligned:
    """Pair ``conditions`` on their common (task, id) keys, seeds averaged.

    Args:
        results: rows of any conditions; others are ignored.
        conditions: the conditions to pair.
        metric: "exact_match", "rougeL" or "in_format" (only rows with a label set).
        size: keep only rows of this training size for conditions that have sizes; rows with
            ``size=None`` (untuned, baselines) are always kept. "any" keeps every row.
    """
    by_cond: dict[str, list[InstanceResult]] = defaultdict(list)
    wanted = set(conditions)
    units: dict[tuple[str, str], tuple[str, str]] = {}
    for r in results:
        if r.condition in wanted and (size == "any" or r.size is None or r.size == size):
            by_cond[r.condition].append(r)
            if r.contrast or r.key not in units:
                units[r.key] = r.unit
    means = {c: instance_means(by_cond[c], metric) for c in conditions}
    common = set.intersection(*(set(m) for m in means.values())) if means else set()
    keys = tuple(sorted(common))
    return Aligned(
        keys=keys,
        scores={c: np.array([means[c][k] for k in keys], dtype=float) for c in conditions},
        units=tuple(units[k] for k in keys),
    )
