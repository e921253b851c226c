"""How much data a PoC needs: learning curves over instances per task, and what they allow one to claim.

All functions read `InstanceResult`s whose ``size`` is set (training instances per task); seeds are
averaged per instance, and the resampling unit follows `stats.choose_cluster` (via `Aligned.resampling`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from itprobe.report.decompose import Split, holm_splits, split_difference
from itprobe.report.results import InstanceResult, Metric, align, resampling_of, units_of
from itprobe.report.seeds import seeded_difference, seeded_estimate, shared_seed_rows
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
    ``split``: the exact-match difference as format + meaning (parts Holm-adjusted across the sizes).
    ``seeded``: two or more training seeds, and ``test.diff``'s interval is the two-level one (seeds, then
    tasks or instances); the test's p holds the trained models fixed either way."""

    size: int
    test: PairedResult
    p_adjusted: float
    split: Split | None = None
    seeded: bool = False

    def significant(self, alpha: float) -> bool:
        """a − b is positive with Holm-adjusted p below ``alpha`` (the trained models held fixed)."""
        return self.test.diff.mean > 0 and self.p_adjusted < alpha

    def established(self, alpha: float) -> bool:
        """`significant`, and with seeds a two-level interval above 0 (the verdict's rule for a training arm)."""
        return self.significant(alpha) and (not self.seeded or self.test.diff.low > 0)


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
    below ``alpha``, and, where the size has two or more training seeds, its two-level interval (training
    variance included) excludes 0: the p-value holds the trained models fixed, so a difference between two
    training runs could pass it alone (found on natinst-curve: +9.0 points at 16 per task, p (Holm)
    0.00015 held fixed, [-0.4, +19.0] with its two seeds). Holm keeps the chance of wrongly naming *any*
    size at ``alpha`` although several sizes are tested.
    """
    sizes = sorted(set(sizes_of(results, a)) & set(sizes_of(results, b)))
    tests = []
    splits: list[Split | None] = []
    for size in sizes:
        at_size = shared_seed_rows([r for r in results if r.size == size], a, b)  # as the interval pairs
        aligned = align(at_size, [a, b], metric)
        if aligned.n:
            cluster = aligned.resampling()
            test = paired_test(
                aligned.scores[a], aligned.scores[b], n_boot=n_boot, seed=seed, cluster=cluster
            )
            seeded = seeded_difference(results, a, b, metric=metric, size=size, n_boot=n_boot, seed=seed)
            if seeded is not None:  # two or more seeds: the interval includes training variance
                test = replace(test, diff=seeded)
            tests.append((size, test, seeded is not None))
            splits.append(
                split_difference(at_size, a, b, n_boot=n_boot, seed=seed) if metric == "exact_match" else None
            )
    adjusted = holm([t.p_value for _, t, _ in tests])
    comparisons = tuple(
        SizeComparison(s, t, p, sp, seeded)
        for (s, t, seeded), p, sp in zip(tests, adjusted, holm_splits(splits), strict=True)
    )
    wins = [c for c in comparisons if c.established(alpha)]
    smallest = wins[0].size if wins else None
    return SmallestWin(a, b, comparisons, smallest, alpha, _win_statement(a, b, comparisons, wins, alpha))


def _win_statement(
    a: str, b: str, comparisons: Sequence[SizeComparison], wins: Sequence[SizeComparison], alpha: float
) -> str:
    level = f"{100 * (1 - alpha):.0f}%"
    if not comparisons:
        return f"{a} and {b} were not trained at any common size, so no size comparison is possible."
    tested = ", ".join(str(c.size) for c in comparisons)
    # significant with the trained models held fixed, not once the variance between seeds is included
    fixed_only = [c for c in comparisons if c.significant(alpha) and not c.established(alpha)]
    caveat = "".join(
        f" At {c.size} per task the difference, {c.test.diff.scaled(100).mean:+.1f} points, is significant "
        f"while the trained models are held fixed (Holm-adjusted p = {c.p_adjusted:.3g}), but not once the "
        f"variance between training seeds is included (two-level {level} CI "
        f"[{c.test.diff.scaled(100).low:+.1f}, {c.test.diff.scaled(100).high:+.1f}])."
        for c in fixed_only
    )
    if not wins:
        return (
            f"No tested size ({tested} instances per task) shows {a} beating {b} at {level} "
            f"(paired tests, Holm-adjusted across sizes)." + caveat
        )
    first = wins[0]
    d = first.test.diff.scaled(100)
    text = (
        f"{a} beats {b} from {first.size} instances per task on: difference {d.mean:+.1f} points "
        f"[{d.low:+.1f}, {d.high:+.1f}], Holm-adjusted p = {first.p_adjusted:.3g} (sizes tested: {tested})."
    )
    if not first.seeded:
        text += (
            f" One training seed at {first.size} per task: the variance between training runs is not in this "
            "interval, so the difference may be that run's rather than the arm's."
        )
    later = [c.size for c in comparisons if c.size > first.size and c not in wins and c not in fixed_only]
    if later:
        text += f" The difference is not significant at the larger size(s) {', '.join(map(str, later))}."
    return text + caveat


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
