"""Statistics for the reports: bootstrap CIs, paired tests, the gain-kept ratio, Holm correction.

Pure, seeded and deterministic: the same inputs and seed give the same numbers on every machine.

Which resampling unit the reports use (see `choose_cluster`): a study's claim is about *tasks* (unseen
tasks), and instances of one task are correlated (same instruction, same label skew). So with at least
`MIN_CLUSTERS` tasks the reports use a task-level cluster bootstrap (resample tasks with replacement,
keep all their instances; the statistic stays the instance mean as in the official NatInst script) and a
task-level sign-flip test. With fewer tasks, task-level inference is nearly powerless (the smallest
attainable sign-flip p-value over k tasks is 2/2**k: 0.03 for 6 tasks, before any multiplicity
correction), so the reports resample instances instead and say that the conclusions are about the tasks
tested: those intervals ignore between-task variation.

Tasks that form a contrast pair (the generated suite: two rules over the *same* inputs) are not
independent: the pair is the cluster, and with fewer than `MIN_CLUSTERS` clusters the *item* (one input,
answered under both rules) is resampled, never the two sides separately. `Clusters` carries the labels
with the unit's name, which becomes the estimate's ``method`` ("task-cluster", "pair-cluster",
"item-cluster"; "instance" without clusters).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Literal

import numpy as np

MIN_CLUSTERS = 10
EXACT_FLIP_LIMIT = 16  # enumerate all 2**m sign flips up to this many non-zero units
_CHUNK_CELLS = 2_000_000  # bootstrap weights are built in chunks of at most this many cells

TestName = Literal[
    "mcnemar-exact",
    "sign-flip-exact",
    "sign-flip-mc",
    "cluster-sign-flip-exact",
    "cluster-sign-flip-mc",
    "none",
]
RatioStatus = Literal["ok", "unstable", "undefined"]


@dataclass(frozen=True)
class Clusters:
    """Cluster labels (one per value) and the unit they name: "task", "pair" (contrast pair) or "item"."""

    labels: np.ndarray
    unit: str = "task"


ClusterArg = Sequence | np.ndarray | Clusters | None


@dataclass(frozen=True)
class Estimate:
    """A mean with a percentile bootstrap interval. ``method``: "instance", "task-cluster" or "exact"."""

    mean: float
    low: float
    high: float
    n: int
    level: float = 0.95
    method: str = "instance"

    def includes(self, value: float) -> bool:
        return self.low <= value <= self.high

    def scaled(self, factor: float) -> Estimate:
        """The same estimate in other units (e.g. ×100 for percentages)."""
        return replace(self, mean=self.mean * factor, low=self.low * factor, high=self.high * factor)


@dataclass(frozen=True)
class PairedResult:
    """Condition a vs b on the same instances: the mean difference a − b with CI, and a p-value.

    ``discordant`` = (b, c) counts of McNemar's test (a right & b wrong, a wrong & b right) when the
    scores are binary, else None.
    """

    mean_a: float
    mean_b: float
    diff: Estimate
    p_value: float
    test: TestName
    n: int
    discordant: tuple[int, int] | None = None

    def significant(self, alpha: float = 0.05) -> bool:
        return self.p_value < alpha


@dataclass(frozen=True)
class RatioEstimate:
    """(altered − baseline) / (original − baseline): the share of the gain over a baseline that survives.

    ``value``/``low``/``high`` are None unless ``status == "ok"``; ``reason`` explains any other status.
    """

    value: float | None
    low: float | None
    high: float | None
    status: RatioStatus
    numerator: Estimate
    denominator: Estimate
    reason: str = ""


def choose_cluster(
    clusters: Sequence[str] | np.ndarray,
    items: Sequence[str] | np.ndarray | None = None,
    *,
    unit: str = "task",
) -> Clusters | None:
    """The reports' resampling policy (see the module doc).

    Args:
        clusters: per value, its cluster: the task, or the contrast pair for tasks that form one.
        items: per value, its item: values that share one (the sides of a contrast pair on one input)
            are resampled together when there are too few clusters. None: every value is its own item.
        unit: what ``clusters`` are ("task", or "pair" when contrast pairs are among them).

    Returns:
        ``clusters`` when there are at least `MIN_CLUSTERS`; else the items when some are shared; else
        None (resample values).
    """
    arr = np.asarray(clusters, dtype=object)
    if len(set(arr.tolist())) >= MIN_CLUSTERS:
        return Clusters(arr, unit)
    if items is not None:
        shared = np.asarray(items, dtype=object)
        if len(set(shared.tolist())) < len(shared):
            return Clusters(shared, "item")
    return None


def method_of(cluster: ClusterArg) -> str:
    """The resampling method's name for an estimate made with ``cluster``."""
    if cluster is None:
        return "instance"
    return f"{cluster.unit}-cluster" if isinstance(cluster, Clusters) else "task-cluster"


def boot_means(
    columns: np.ndarray,
    *,
    n_boot: int = 2000,
    seed: int = 0,
    cluster: ClusterArg = None,
) -> np.ndarray:
    """Bootstrap replicates of the column means of ``columns`` (n × d), rows resampled jointly.

    With ``cluster`` (one label per row) whole clusters are resampled and each replicate is the mean over
    all rows of the drawn clusters. Returns an (n_boot × d) array.
    """
    x = np.asarray(columns, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    n = x.shape[0]
    if n == 0:
        raise ValueError("cannot bootstrap an empty sample")
    rng = np.random.default_rng(seed)
    codes, k = _cluster_codes(cluster, n)
    out = np.empty((n_boot, x.shape[1]))
    if codes is not None:
        # a replicate's mean only needs how often each cluster was drawn: work with per-cluster sums
        sums = np.stack([np.bincount(codes, weights=col, minlength=k) for col in x.T], axis=1)
        sizes = np.bincount(codes, minlength=k).astype(float)
    step = max(1, _CHUNK_CELLS // (n if codes is None else k))
    for start in range(0, n_boot, step):
        m = min(step, n_boot - start)
        if codes is None:
            w = rng.multinomial(n, np.full(n, 1.0 / n), size=m).astype(float)
            out[start : start + m] = (w @ x) / n
        else:
            draws = rng.integers(0, k, size=(m, k))
            flat = (draws + np.arange(m)[:, None] * k).ravel()
            counts = np.bincount(flat, minlength=m * k).reshape(m, k).astype(float)
            out[start : start + m] = (counts @ sums) / (counts @ sizes)[:, None]
    return out


def _cluster_codes(cluster: ClusterArg, n: int) -> tuple[np.ndarray | None, int]:
    if cluster is None:
        return None, n
    labels = np.asarray(cluster.labels if isinstance(cluster, Clusters) else cluster, dtype=object)
    if len(labels) != n:
        raise ValueError(f"cluster has {len(labels)} labels for {n} values")
    _, codes = np.unique(labels.astype(str), return_inverse=True)
    return codes, int(codes.max()) + 1


def _interval(replicates: np.ndarray, level: float) -> tuple[float, float]:
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(replicates, [alpha, 1.0 - alpha])
    return float(low), float(high)


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    *,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
    cluster: ClusterArg = None,
) -> Estimate:
    """Percentile bootstrap CI of the mean of ``values`` (optionally a cluster bootstrap, see module doc)."""
    x = np.asarray(values, dtype=float)
    reps = boot_means(x, n_boot=n_boot, seed=seed, cluster=cluster)[:, 0]
    low, high = _interval(reps, level)
    mean = float(x.mean())
    # guard against float noise making a degenerate interval exclude its own mean
    low, high = min(low, mean), max(high, mean)
    return Estimate(mean, low, high, len(x), level, method_of(cluster))


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value: binomial test of b successes in b + c trials at p = 1/2."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1))
    return float(min(Fraction(1), Fraction(2 * tail, 2**n)))


def sign_flip_p(
    diffs: Sequence[float] | np.ndarray,
    *,
    n_perm: int = 20000,
    seed: int = 0,
) -> tuple[float, bool]:
    """Two-sided sign-flip permutation p-value of H0 "differences symmetric about 0" (statistic |sum|).

    Exact enumeration when at most `EXACT_FLIP_LIMIT` differences are non-zero, else Monte Carlo with
    ``n_perm`` draws and the (count + 1) / (n_perm + 1) estimate. Returns (p, exact).
    """
    d = np.asarray(diffs, dtype=float)
    d = d[d != 0]
    if len(d) == 0:
        return 1.0, True
    observed = abs(d.sum()) - 1e-12 * max(1.0, float(np.abs(d).sum()))
    if len(d) <= EXACT_FLIP_LIMIT:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=len(d))))
        return float(np.mean(np.abs(signs @ d) >= observed)), True
    rng = np.random.default_rng(seed)
    hits = 0
    step = max(1, _CHUNK_CELLS // len(d))
    for start in range(0, n_perm, step):
        m = min(step, n_perm - start)
        signs = rng.choice((-1.0, 1.0), size=(m, len(d)))
        hits += int(np.sum(np.abs(signs @ d) >= observed))
    return (hits + 1) / (n_perm + 1), False


def _is_binary(x: np.ndarray) -> bool:
    return bool(np.all((x == 0) | (x == 1)))


def paired_test(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    *,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
    cluster: ClusterArg = None,
    n_perm: int = 20000,
) -> PairedResult:
    """Compare two conditions scored on the same instances (arrays aligned element by element).

    The CI is a paired percentile bootstrap of mean(a − b) (clustered when ``cluster`` is given). The
    p-value: with ``cluster``, a sign-flip test on per-cluster sums of differences (clusters exchangeable
    under H0); otherwise the exact McNemar test when both arrays are 0/1 (exact match of one seed), else an
    instance-level sign-flip test (ROUGE-L, or exact match averaged over seeds).
    """
    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if xa.shape != xb.shape:
        raise ValueError(f"paired arrays differ in length: {xa.shape} vs {xb.shape}")
    diff = bootstrap_ci(xa - xb, n_boot=n_boot, level=level, seed=seed, cluster=cluster)
    discordant = None
    if cluster is not None:
        codes, k = _cluster_codes(cluster, len(xa))
        sums = np.bincount(codes, weights=xa - xb, minlength=k)  # type: ignore[arg-type]
        p, exact = sign_flip_p(sums, n_perm=n_perm, seed=seed)
        test: TestName = "cluster-sign-flip-exact" if exact else "cluster-sign-flip-mc"
    elif _is_binary(xa) and _is_binary(xb):
        discordant = (int(np.sum((xa == 1) & (xb == 0))), int(np.sum((xa == 0) & (xb == 1))))
        p, test = mcnemar_exact(*discordant), "mcnemar-exact"
    else:
        p, exact = sign_flip_p(xa - xb, n_perm=n_perm, seed=seed)
        test = "sign-flip-exact" if exact else "sign-flip-mc"
    return PairedResult(float(xa.mean()), float(xb.mean()), diff, float(p), test, len(xa), discordant)


def zero_test(
    values: Sequence[float] | np.ndarray,
    *,
    cluster: ClusterArg = None,
    n_perm: int = 20000,
    seed: int = 0,
) -> float:
    """Two-sided p-value of H0 "paired per-instance values are symmetric about 0".

    For a part of a paired difference (`itprobe.report.decompose`): with ``cluster``, sign flips of the
    per-cluster sums; values in {-1, 0, 1} (one seed of exact match), the exact McNemar test on the counts
    of +1 and -1 (what `paired_test` gives the whole difference); otherwise instance sign flips.
    """
    x = np.asarray(values, dtype=float)
    if cluster is not None:
        codes, k = _cluster_codes(cluster, len(x))
        return sign_flip_p(np.bincount(codes, weights=x, minlength=k), n_perm=n_perm, seed=seed)[0]  # type: ignore[arg-type]
    if np.all(np.isin(x, (-1.0, 0.0, 1.0))):
        return mcnemar_exact(int(np.sum(x == 1)), int(np.sum(x == -1)))
    return sign_flip_p(x, n_perm=n_perm, seed=seed)[0]


def ratio_ci(
    altered: Sequence[float] | np.ndarray,
    original: Sequence[float] | np.ndarray,
    baseline: Sequence[float] | np.ndarray,
    *,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
    cluster: ClusterArg = None,
) -> RatioEstimate:
    """Gain kept, (altered − baseline) / (original − baseline), with a paired bootstrap CI.

    The three arrays are aligned per instance (a constant baseline such as the analytic random score may
    be passed as a constant array). When the CI of the denominator (original − baseline) includes 0 the
    ratio is "unstable" (its bootstrap distribution has a pole) and no number is given; when the
    denominator is 0 or significantly negative the ratio is "undefined" (there is no gain to keep).
    """
    alt, orig, base = (np.asarray(v, dtype=float) for v in (altered, original, baseline))
    reps = boot_means(np.column_stack([alt - base, orig - base]), n_boot=n_boot, seed=seed, cluster=cluster)
    method = method_of(cluster)
    num_mean, den_mean = float(np.mean(alt - base)), float(np.mean(orig - base))
    num = _estimate(num_mean, reps[:, 0], len(alt), level, method)
    den = _estimate(den_mean, reps[:, 1], len(alt), level, method)
    if den_mean == 0 or den.high < 0:
        why = "original does not improve on the baseline, so there is no gain to keep"
        return RatioEstimate(None, None, None, "undefined", num, den, why)
    # any resample with a zero or negative gain puts a pole in the ratio's bootstrap distribution (and
    # 0/0 would make the percentiles NaN), so the ratio is only reported when every resample is positive
    if den.low <= 0:
        why = "the gain of original over the baseline is not distinguishable from 0 (its CI includes 0)"
        return RatioEstimate(None, None, None, "unstable", num, den, why)
    flat = int(np.sum(reps[:, 1] <= 0))
    if flat:
        why = (
            f"the gain of original over the baseline is too small for a ratio ({flat} of {len(reps)} "
            "resamples show no gain, although its CI excludes 0)"
        )
        return RatioEstimate(None, None, None, "unstable", num, den, why)
    low, high = _interval(reps[:, 0] / reps[:, 1], level)
    value = num_mean / den_mean
    return RatioEstimate(value, min(low, value), max(high, value), "ok", num, den)


def _estimate(mean: float, reps: np.ndarray, n: int, level: float, method: str) -> Estimate:
    low, high = _interval(reps, level)
    return Estimate(mean, min(low, mean), max(high, mean), n, level, method)


def statistic_ci(
    columns: np.ndarray,
    statistic: Callable[[np.ndarray], np.ndarray],
    *,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
    cluster: ClusterArg = None,
) -> Estimate:
    """Bootstrap CI of any function of the column means (``statistic`` maps (m × d) means to (m,))."""
    x = np.asarray(columns, dtype=float)
    point = float(statistic(x.mean(axis=0, keepdims=True))[0])
    reps = statistic(boot_means(x, n_boot=n_boot, seed=seed, cluster=cluster))
    return _estimate(point, reps, x.shape[0], level, method_of(cluster))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (same order as the input), controlling the family-wise error."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted
