"""The per-instance result every report is computed from, and the alignment that pairs conditions.

`InstanceResult` (the one scored-row type, `itprobe.records`) is the contract between the producers
(study runner, audit) and the report package: one row per (condition, seed, size, task, instance).
Everything in `itprobe.report` is a pure function of a sequence of them.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from itprobe.metrics import instance_scores
from itprobe.records import InstanceResult
from itprobe.report.stats import choose_cluster

if TYPE_CHECKING:
    import pandas as pd

    from itprobe.records import Prediction
    from itprobe.report.stats import Clusters

Metric = Literal["exact_match", "rougeL"]
Score = Literal["exact_match", "rougeL", "in_format"]


def results_from_predictions(
    predictions: Iterable[Prediction],
    *,
    condition: str,
    seed: int = 0,
    size: int | None = None,
    train_arm: str = "",
    test_arm: str = "",
) -> list[InstanceResult]:
    """`itprobe.metrics.instance_scores` (the one scoring function) as rows of one condition."""
    rows = instance_scores(list(predictions), condition=condition, test_arm=test_arm)
    return [dataclasses.replace(r, seed=seed, size=size, train_arm=train_arm) for r in rows]


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
