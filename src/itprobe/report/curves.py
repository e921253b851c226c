"""How much data a PoC needs: learning curves over instances per task, and what they allow one to claim.

All functions read `InstanceResult`s whose ``size`` is set (training instances per task); seeds are
averaged per instance, and the resampling unit follows `stats.choose_cluster` (via `Aligned.resampling`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from itprobe.report.decompose import Split, holm_splits, split_difference
from itprobe.report.results import InstanceResult, Metric, align, resampling_of, units_of
from itprobe.report.seeds import seeded_estimate
from itprobe.report.stats import (
    Estimate,
    PairedResult,
    bootstrap_ci,
    holm,
    paired_test,
    statistic_ci,
)


@dataclass(frozen=True)
class CurvePoint:
    """The score of one condition at one training size (0..1)."""

    condition: str
    size: int
    estimate: Estimate


@dataclass(frozen=True)
class SizeComparison:
    """Paired test of condition a vs b at one size; ``p_adjusted`` is Holm-adjusted across the sizes.
    ``split``: the exact-match difference as format + meaning (parts Holm-adjusted across the sizes)."""

    size: int
    test: PairedResult
    p_adjusted: float
    split: Split | None = None


@dataclass(frozen=True)
class SmallestWin:
    """The smallest size at which ``a`` beats ``b`` (None: no tested size does), with the evidence."""

    a: str
    b: str
    comparisons: tuple[SizeComparison, ...]
    smallest: int | None
    alpha: float
    statement: str


def sizes_of(results: Sequence[InstanceResult], condition: str | None = None) -> list[int]:
    """The training sizes present (for one condition, or any), ascending."""
    return sorted({r.size for r in results if r.size is not None and condition in (None, r.condition)})


def learning_curve(
    results: Sequence[InstanceResult],
    conditions: Sequence[str] | None = None,
    *,
    metric: Metric = "exact_match",
    n_boot: int = 2000,
    seed: int = 0,
) -> list[CurvePoint]:
    """Score with a CI per (condition, size) for every condition that has sized rows; with several training
    seeds the CI includes the variance between them (`itprobe.report.seeds.seeded_estimate`)."""
    names = (
        conditions if conditions is not None else sorted({r.condition for r in results if r.size is not None})
    )
    points = []
    for name in names:
        for size in sizes_of(results, name):
            rows = [r for r in results if r.condition == name and r.size == size]
            # two or more training seeds: the two-level interval (seeds, then tasks or instances), as every
            # other score of the report; one seed: the instances' bootstrap
            est = seeded_estimate(rows, name, metric=metric, size=size, n_boot=n_boot, seed=seed)
            if est is None:
                aligned = align(rows, [name], metric)
                est = bootstrap_ci(
                    aligned.scores[name], n_boot=n_boot, seed=seed, cluster=aligned.resampling()
                )
            points.append(CurvePoint(name, size, est))
    return points


def smallest_winning_size(
    results: Sequence[InstanceResult],
    a: str = "original",
    b: str = "simplified",
    *,
    metric: Metric = "exact_match",
    alpha: float = 0.05,
    n_boot: int = 2000,
    seed: int = 0,
) -> SmallestWin:
    """Test ``a`` vs ``b`` at each size both were trained with; Holm-adjust across sizes.

    ``a`` beats ``b`` at a size when the mean paired difference is positive and the adjusted p-value is
    below ``alpha``. Holm keeps the chance of wrongly naming *any* size at ``alpha`` although several sizes
    are tested.
    """
    sizes = sorted(set(sizes_of(results, a)) & set(sizes_of(results, b)))
    tests = []
    splits: list[Split | None] = []
    for size in sizes:
        at_size = [r for r in results if r.size == size]
        aligned = align(at_size, [a, b], metric)
        if aligned.n:
            cluster = aligned.resampling()
            test = paired_test(
                aligned.scores[a], aligned.scores[b], n_boot=n_boot, seed=seed, cluster=cluster
            )
            tests.append((size, test))
            splits.append(
                split_difference(at_size, a, b, n_boot=n_boot, seed=seed) if metric == "exact_match" else None
            )
    adjusted = holm([t.p_value for _, t in tests])
    comparisons = tuple(
        SizeComparison(s, t, p, sp)
        for (s, t), p, sp in zip(tests, adjusted, holm_splits(splits), strict=True)
    )
    wins = [c for c in comparisons if c.test.diff.mean > 0 and c.p_adjusted < alpha]
    smallest = wins[0].size if wins else None
    return SmallestWin(a, b, comparisons, smallest, alpha, _win_statement(a, b, comparisons, wins, alpha))


def _win_statement(
    a: str, b: str, comparisons: Sequence[SizeComparison], wins: Sequence[SizeComparison], alpha: float
) -> str:
    level = f"{100 * (1 - alpha):.0f}%"
    if not comparisons:
        return f"{a} and {b} were not trained at any common size, so no size comparison is possible."
    tested = ", ".join(str(c.size) for c in comparisons)
    if not wins:
        return (
            f"No tested size ({tested} instances per task) shows {a} beating {b} at {level} "
            f"(paired tests, Holm-adjusted across sizes)."
        )
    first = wins[0]
    d = first.test.diff.scaled(100)
    text = (
        f"{a} beats {b} from {first.size} instances per task on: difference {d.mean:+.1f} points "
        f"[{d.low:+.1f}, {d.high:+.1f}], Holm-adjusted p = {first.p_adjusted:.3g} (sizes tested: {tested})."
    )
    later = [c.size for c in comparisons if c.size > first.size and c not in wins]
    if later:
        text += f" The difference is not significant at the larger size(s) {', '.join(map(str, later))}."
    return text


def gain_per_doubling(
    results: Sequence[InstanceResult],
    condition: str,
    *,
    metric: Metric = "exact_match",
    n_boot: int = 2000,
    seed: int = 0,
) -> Estimate | None:
    """Slope of score vs log2(size) (least squares over the sizes' mean scores) with a bootstrap CI.

    The test instances are the same at every size, so instances (or tasks) are resampled jointly across
    sizes. Returns None with fewer than two sizes.
    """
    sizes = sizes_of(results, condition)
    if len(sizes) < 2:
        return None
    per_size = [
        align([r for r in results if r.condition == condition and r.size == s], [condition], metric)
        for s in sizes
    ]
    common = sorted(set.intersection(*(set(a.keys) for a in per_size)))
    if not common:
        return None
    positions = [{k: i for i, k in enumerate(a.keys)} for a in per_size]
    columns = np.column_stack(
        [a.scores[condition][[pos[k] for k in common]] for a, pos in zip(per_size, positions, strict=True)]
    )
    x = np.log2(np.array(sizes, dtype=float))
    xc = x - x.mean()

    def slope(means: np.ndarray) -> np.ndarray:
        return (means - means.mean(axis=1, keepdims=True)) @ xc / float(xc @ xc)

    cluster = resampling_of(common, units_of(r for r in results if r.condition == condition))
    return statistic_ci(columns, slope, n_boot=n_boot, seed=seed, cluster=cluster)
