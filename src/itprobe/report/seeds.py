"""Seeds as a unit of the design: per-seed scores, their spread, and intervals that include training variance.

A study trains one model per (arm, size, seed). Averaging seeds per instance and resampling tasks (the
rest of `itprobe.report.stats`) treats the trained models as fixed: the interval says how much the score
would move with other test tasks, not with another training run. With two or more seeds the reports use a
**two-level bootstrap** instead: each replicate draws the seeds with replacement (one draw shared by every
condition, so conditions trained with the same seed stay paired: the seed also fixes the training sample)
and then the clusters (tasks, or the unit `stats.choose_cluster` picks) with replacement; the replicate's
value is the mean over the drawn clusters' instances of the mean over the drawn seeds. Conditions with one
seed (the untuned model, the baselines) are constant across seed draws. The percentile interval of those
replicates includes both the task-to-task and the seed-to-seed variance (docs/design.md, "Statistics").

With two or three seeds the seed level is coarse (a replicate can only pick among 3 or 10 seed
multisets), which widens the interval, as it should: so few training runs say little about a training arm.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from itprobe.report.results import InstanceResult, Metric, align
from itprobe.report.stats import ClusterArg, Estimate, _cluster_codes, _interval, method_of

TWO_LEVEL = "two-level"  # the suffix of an estimate's ``method`` made by `two_level_ci`


@dataclass(frozen=True)
class SeedScores:
    """One condition's per-instance scores per seed, on ``keys``: ``scores`` is (n instances × seeds)."""

    condition: str
    seeds: tuple[int, ...]
    keys: tuple[tuple[str, str], ...]
    scores: np.ndarray

    @property
    def per_seed(self) -> dict[int, float]:
        """The mean score of each seed (0..1)."""
        return {s: float(self.scores[:, i].mean()) for i, s in enumerate(self.seeds)}

    @property
    def spread(self) -> float:
        """The sample standard deviation of the seed means (0 with one seed)."""
        means = list(self.per_seed.values())
        return float(np.std(means, ddof=1)) if len(means) > 1 else 0.0


def seed_scores(
    results: Sequence[InstanceResult],
    condition: str,
    keys: Sequence[tuple[str, str]],
    metric: Metric = "exact_match",
    *,
    size: int | None = None,
) -> SeedScores:
    """``condition``'s scores per seed on ``keys`` (an instance a seed did not answer: that seed's mean
    over the condition's other answers is not invented; such keys must be left out by the caller)."""
    by_seed: dict[int, dict[tuple[str, str], float]] = defaultdict(dict)
    for r in results:
        if r.condition == condition and (r.size is None or r.size == size):
            by_seed[r.seed][r.key] = float(getattr(r, metric))
    seeds = tuple(sorted(by_seed))
    matrix = np.array([[by_seed[s][k] for s in seeds] for k in keys], dtype=float).reshape(
        len(keys), len(seeds)
    )
    return SeedScores(condition, seeds, tuple(keys), matrix)


def seed_weights(n_seeds: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot × n_seeds) weights of the seed draws, each row summing to 1."""
    return rng.multinomial(n_seeds, np.full(n_seeds, 1.0 / n_seeds), size=n_boot) / n_seeds


def two_level_ci(
    per_seed: np.ndarray,
    *,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
    cluster: ClusterArg = None,
    method: str = "instance",
) -> Estimate:
    """Percentile CI of the mean of ``per_seed`` (n instances × S seeds) by the two-level bootstrap of the
    module doc: seeds drawn with replacement, then clusters (or instances, without ``cluster``)."""
    x = np.asarray(per_seed, dtype=float)
    n, k_seeds = x.shape
    rng = np.random.default_rng(seed)
    weights = seed_weights(k_seeds, n_boot, rng)
    codes, k = _cluster_codes(cluster, n)
    if codes is None:
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)
        reps = np.einsum("bn,ns,bs->b", counts, x, weights) / n
    else:
        sums = np.stack([np.bincount(codes, weights=col, minlength=k) for col in x.T], axis=1)  # k × S
        sizes = np.bincount(codes, minlength=k).astype(float)
        draws = rng.integers(0, k, size=(n_boot, k))
        counts = np.stack([np.bincount(row, minlength=k) for row in draws]).astype(float)
        reps = np.einsum("bk,ks,bs->b", counts, sums, weights) / (counts @ sizes)
    low, high = _interval(reps, level)
    mean = float(x.mean())
    return Estimate(mean, min(low, mean), max(high, mean), n, level, f"{method}+seed ({TWO_LEVEL})")


def shared_seeds(a: Collection[int], b: Collection[int]) -> list[int] | None:
    """The training seeds a comparison of two conditions keeps (the rule, in one place): where both sides
    have several seeds, the seeds both have, in ``a``'s order; None where each side stays as it is (a
    one-seed side, e.g. the untuned model, is broadcast over the other's seeds) or they share none."""
    if min(len(a), len(b)) < 2:
        return None
    return [s for s in a if s in b] or None


def paired_seed_columns(a: SeedScores, b: SeedScores) -> np.ndarray | None:
    """Per instance and seed, a − b: the `shared_seeds` are paired, a one-seed side is broadcast; None when
    neither side has two seeds (nothing to resample) or fewer than two seeds are shared."""
    if max(len(a.seeds), len(b.seeds)) < 2:
        return None
    if 1 in (len(a.seeds), len(b.seeds)):  # a one-seed side (untuned) broadcasts over the other's seeds
        return a.scores - b.scores
    common = shared_seeds(a.seeds, b.seeds) or []
    if len(common) < 2:
        return None
    ia = [a.seeds.index(s) for s in common]
    ib = [b.seeds.index(s) for s in common]
    return a.scores[:, ia] - b.scores[:, ib]


def shared_seed_rows(rows: Sequence[InstanceResult], a: str, b: str) -> list[InstanceResult]:
    """``rows`` with ``a`` and ``b`` kept to the training seeds both have, where both have several.

    The seeds `paired_seed_columns` pairs, so that a paired test with the trained models held fixed and
    the two-level interval beside it speak of the same models: on an unfinished grid (original trained
    with seeds 0-2, simplified with 0-1) the held-fixed test had averaged original's third seed in while
    the interval paired two (natinst-curve at 1 per task, before simplified's third seed: +2.7 beside p 0.92).
    A one-seed side (the untuned model) stays as it is; so do sides with no seed in common.
    """
    seeds = {c: {r.seed for r in rows if r.condition == c} for c in (a, b)}
    common = shared_seeds(sorted(seeds[a]), sorted(seeds[b]))
    if common is None or seeds[a] == seeds[b]:
        return list(rows)
    return [r for r in rows if r.condition not in (a, b) or r.seed in common]


def seeded_difference(
    results: Sequence[InstanceResult],
    reference: str,
    other: str,
    *,
    metric: Metric = "exact_match",
    size: int | None = None,
    n_boot: int = 2000,
    seed: int = 0,
) -> Estimate | None:
    """reference − other with the two-level CI, on the instances every seed of both answered; None when
    neither has two seeds."""
    rows = [r for r in results if r.condition in (reference, other) and (r.size is None or r.size == size)]
    rows = shared_seed_rows(rows, reference, other)
    keys = _complete_keys(rows, (reference, other))
    if not keys:
        return None
    a = seed_scores(rows, reference, keys, metric, size=size)
    b = seed_scores(rows, other, keys, metric, size=size)
    columns = paired_seed_columns(a, b)
    if columns is None:
        return None
    aligned = align(rows, [reference, other], metric)
    position = {k: i for i, k in enumerate(aligned.keys)}
    cluster = aligned.subset([position[k] for k in keys]).resampling()
    return two_level_ci(columns, n_boot=n_boot, seed=seed, cluster=cluster, method=method_of(cluster))


def seeded_estimate(
    results: Sequence[InstanceResult],
    condition: str,
    *,
    metric: Metric = "exact_match",
    size: int | None = None,
    n_boot: int = 2000,
    seed: int = 0,
) -> Estimate | None:
    """One condition's mean with the two-level CI; None with fewer than two seeds."""
    rows = [r for r in results if r.condition == condition and (r.size is None or r.size == size)]
    keys = _complete_keys(rows, (condition,))
    if not keys:
        return None
    scores = seed_scores(rows, condition, keys, metric, size=size)
    if len(scores.seeds) < 2:
        return None
    aligned = align(rows, [condition], metric)
    position = {k: i for i, k in enumerate(aligned.keys)}
    cluster = aligned.subset([position[k] for k in keys]).resampling()
    return two_level_ci(scores.scores, n_boot=n_boot, seed=seed, cluster=cluster, method=method_of(cluster))


def _complete_keys(rows: Sequence[InstanceResult], conditions: Sequence[str]) -> list[tuple[str, str]]:
    """Keys answered by every seed of every condition."""
    seeds: dict[str, set[int]] = defaultdict(set)
    have: dict[tuple[str, int], set[tuple[str, str]]] = defaultdict(set)
    for r in rows:
        seeds[r.condition].add(r.seed)
        have[(r.condition, r.seed)].add(r.key)
    sets = [have[(c, s)] for c in conditions for s in seeds[c]]
    return sorted(set.intersection(*sets)) if sets and all(seeds[c] for c in conditions) else []
