"""The numbers behind a report: scores per condition, paired comparisons with a reference, format compliance.

Pure functions of `InstanceResult`s. Scores are 0..1; views multiply by 100.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from itprobe.arms.labels import leakage_rate, old_meaning_share
from itprobe.baselines import controls
from itprobe.metrics import normalize_answer
from itprobe.report.decompose import Split, holm_splits, split_difference
from itprobe.report.results import InstanceResult, Metric, align
from itprobe.report.seeds import seeded_difference, seeded_estimate, shared_seed_rows
from itprobe.report.stats import (
    ClusterArg,
    Estimate,
    PairedResult,
    RatioEstimate,
    bootstrap_ci,
    holm,
    paired_test,
    ratio_ci,
    statistic_ci,
)

SizeFilter = int | None


@dataclass(frozen=True)
class ArmComparison:
    """``reference`` (usually "original") vs ``arm`` on shared instances.

    ``test`` is reference − arm; ``p_adjusted`` is Holm-adjusted across the arms compared in one call;
    ``kept`` is the gain over ``baseline`` kept by the arm, (arm − baseline) / (reference − baseline),
    None when no baseline was given or it shares no instances. ``split`` is the exact-match difference
    split into format and meaning (`itprobe.report.decompose`; parts Holm-adjusted across the arms), None
    for ROUGE-L or without instances that have a label set.
    """

    arm: str
    reference: str
    test: PairedResult
    p_adjusted: float
    kept: RatioEstimate | None = None
    baseline: str = ""
    split: Split | None = None


@dataclass(frozen=True)
class Compliance:
    """Format compliance of one condition over its instances with an output space (rates 0..1, None = n/a).

    ``leakage``: share of answers that are a label of the original scheme but not of the new one
    (label-rename; `itprobe.arms.labels.leakage_rate`); ``old_meaning``: among instances whose gold
    moved to another label of the scheme (label-swap), the share answered with the old gold
    (`itprobe.arms.labels.old_meaning_share`). None where the probe cannot show them.
    """

    condition: str
    n: int
    in_space_strict: float | None
    in_space_loose: float | None
    em_given_in_space: float | None
    leakage: float | None = None
    old_meaning: float | None = None


def _rows(results: Sequence[InstanceResult], condition: str, size: SizeFilter) -> list[InstanceResult]:
    return [r for r in results if r.condition == condition and (r.size is None or r.size == size)]


def condition_estimate(
    results: Sequence[InstanceResult],
    condition: str,
    *,
    metric: Metric = "exact_match",
    size: SizeFilter = None,
    n_boot: int = 2000,
    seed: int = 0,
) -> Estimate | None:
    """Mean score of one condition (seeds averaged per instance) with the reports' bootstrap CI."""
    aligned = align(_rows(results, condition, size), [condition], metric)
    if aligned.n == 0:
        return None
    seeded = seeded_estimate(results, condition, metric=metric, size=size, n_boot=n_boot, seed=seed)
    if seeded is not None:  # two or more seeds: the interval includes training variance
        return seeded
    return bootstrap_ci(aligned.scores[condition], n_boot=n_boot, seed=seed, cluster=aligned.resampling())


def compare_arms(
    results: Sequence[InstanceResult],
    reference: str,
    arms: Sequence[str],
    *,
    metric: Metric = "exact_match",
    size: SizeFilter = None,
    baseline: str | None = None,
    n_boot: int = 2000,
    seed: int = 0,
) -> list[ArmComparison]:
    """Paired tests of ``reference`` vs each arm (Holm across arms), the gain each arm keeps, and (exact
    match) the split of each difference into format and meaning.

    Arms sharing no instance with the reference are left out. ``size`` selects one training size for
    sized rows (rows without a size, e.g. the untuned model, always take part).
    """
    tests: list[tuple[str, PairedResult, RatioEstimate | None]] = []
    splits: list[Split | None] = []
    for arm in arms:
        names = [reference, arm] + ([baseline] if baseline and baseline not in (reference, arm) else [])
        # the seeds both arms were trained with, as the two-level interval below pairs them
        rows = shared_seed_rows([r for name in names for r in _rows(results, name, size)], reference, arm)
        aligned = align(rows, names, metric)
        if aligned.n == 0 and len(names) == 3:  # the baseline shares nothing: compare without it
            names = names[:2]
            aligned = align(rows, names, metric)
        if aligned.n == 0:
            continue
        cluster = aligned.resampling()
        s = aligned.scores
        test = paired_test(s[reference], s[arm], n_boot=n_boot, seed=seed, cluster=cluster)
        kw = {"metric": metric, "size": size, "n_boot": n_boot, "seed": seed}
        seeded = seeded_difference(results, reference, arm, **kw)  # type: ignore[arg-type]
        if seeded is not None:  # two or more seeds: the interval includes training variance
            test = dataclasses.replace(test, diff=seeded)
        kept = (
            ratio_ci(s[arm], s[reference], s[baseline], n_boot=n_boot, seed=seed, cluster=cluster)
            if baseline in s
            else None
        )
        if kept is not None and kept.status == "ok" and baseline:
            gain = seeded_difference(results, reference, baseline, **kw)  # type: ignore[arg-type]
            if gain is not None and gain.low <= 0:
                why = (
                    "the gain of the reference over the baseline is not distinguishable from 0 once the "
                    "variance between training seeds is included (its two-level CI includes 0)"
                )
                kept = dataclasses.replace(
                    kept, value=None, low=None, high=None, status="unstable", reason=why
                )
        tests.append((arm, test, kept))
        pair = [r for r in rows if r.condition in (reference, arm)]
        splits.append(
            split_difference(pair, reference, arm, n_boot=n_boot, seed=seed)
            if metric == "exact_match"
            else None
        )
    adjusted = holm([t.p_value for _, t, _ in tests])
    return [
        ArmComparison(arm, reference, t, p, k, (baseline or "") if k else "", sp)
        for (arm, t, k), p, sp in zip(tests, adjusted, holm_splits(splits), strict=True)
    ]


def guess_rate(row: InstanceResult) -> float | None:
    """Expected exact match of a uniform guess over the row's label set; None without one."""
    labels = {normalize_answer(label) for label in row.labels}
    if not labels:
        return None
    refs = {normalize_answer(ref) for ref in row.references}
    return len(labels & refs) / len(labels)


def guessing_gate(
    results: Sequence[InstanceResult],
    reference: str,
    *,
    size: SizeFilter = None,
    n_boot: int = 2000,
    seed: int = 0,
) -> PairedResult | None:
    """``reference`` vs the expected score of random guessing over each instance's label set, paired per
    instance (instances without a label set left out); None when there are none."""
    rows = [r for r in _rows(results, reference, size) if r.labels]
    aligned = align(rows, [reference])
    if aligned.n == 0:
        return None
    rate = {r.key: guess_rate(r) for r in rows}
    guess = np.array([rate[k] for k in aligned.keys], dtype=float)
    return paired_test(
        aligned.scores[reference], guess, n_boot=n_boot, seed=seed, cluster=aligned.resampling()
    )


GUESS = "random"  # the uniform guess: compared through its analytic expectation, not its sampled answers


@dataclass(frozen=True)
class Gate:
    """``reference`` against every fair input-blind control (`itprobe.baselines.controls`), paired per
    instance; the gate passes only when the reference beats each of them (docs/design.md, "The gate").

    ``control`` is the one the verdict names: the strongest control the reference does not beat (highest
    mean on its shared instances) when the gate fails, else the strongest of all. ``tests`` holds
    reference − each control (``random``: its analytic expectation), in the order given.
    """

    reference: str
    control: str
    tests: tuple[tuple[str, PairedResult], ...]
    alpha: float = 0.05

    @property
    def test(self) -> PairedResult:
        """reference − the named control."""
        return dict(self.tests)[self.control]

    def beaten(self, name: str) -> bool:
        t = dict(self.tests)[name]
        return t.diff.low > 0 and t.p_value < self.alpha

    @property
    def passed(self) -> bool:
        return all(self.beaten(name) for name, _ in self.tests)


def control_gate(
    results: Sequence[InstanceResult],
    reference: str,
    candidates: Sequence[str],
    *,
    size: SizeFilter = None,
    n_boot: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
) -> Gate | None:
    """The "beats guessing" gate: ``reference`` vs each fair input-blind control among ``candidates``
    (condition names; oracles and controls that read the input are dropped by their declarations, so the
    gate can never pick an oracle). The uniform guess is always a control (its analytic expectation over
    each instance's label set). None without a label set or any control sharing instances."""
    tests: list[tuple[str, PairedResult]] = []
    guess = guessing_gate(results, reference, size=size, n_boot=n_boot, seed=seed)
    if guess is not None:
        tests.append((GUESS, guess))
    for name in controls(candidates):
        if name == GUESS:
            continue
        rows = [r for c in (reference, name) for r in _rows(results, c, size) if r.labels]
        aligned = align(rows, [reference, name])
        if aligned.n:
            s = aligned.scores
            tests.append(
                (
                    name,
                    paired_test(
                        s[reference], s[name], n_boot=n_boot, seed=seed, cluster=aligned.resampling()
                    ),
                )
            )
    if not tests:
        return None
    pool = [t for t in tests if not (t[1].diff.low > 0 and t[1].p_value < alpha)] or tests
    strongest = max(pool, key=lambda t: (t[1].mean_b, -tests.index(t)))[0]
    return Gate(reference, strongest, tuple(tests), alpha)


def compliance(results: Sequence[InstanceResult], condition: str, *, size: SizeFilter = None) -> Compliance:
    """In-space rates, exact match given in-space, and label-scheme leakage for one condition."""
    rows = [r for r in _rows(results, condition, size) if r.labels and r.in_space_strict is not None]
    if not rows:
        return Compliance(condition, 0, None, None, None)
    strict = np.array([bool(r.in_space_strict) for r in rows])
    loose = np.array([bool(r.in_space_loose) for r in rows])
    em = np.array([r.exact_match for r in rows])
    return Compliance(
        condition,
        len(rows),
        float(strict.mean()),
        float(loose.mean()),
        float(em[strict].mean()) if strict.any() else None,
        leakage_rate(rows),
        old_meaning_share(rows),
    )


def reliance_estimate(
    original: np.ndarray,
    arms: Mapping[str, np.ndarray],
    *,
    n_boot: int = 2000,
    seed: int = 0,
    cluster: ClusterArg = None,
) -> tuple[Estimate, str, dict[str, float]]:
    """Instruction reliance: ``original`` − max over ``arms`` of the arm means, with a bootstrap CI.

    All arrays are aligned per instance. The maximum is re-taken in every bootstrap replicate (not fixed
    to the arm that wins on the full sample), so the interval accounts for picking the best arm after
    seeing the data. Returns (estimate, best arm on the full sample (ties: the first listed), mean of
    each arm). The one implementation: the study (`instruction_reliance`) and the audit
    (`itprobe.audit.reliance`) both call it.
    """
    if not arms:
        raise ValueError("instruction reliance needs at least one meaning-free arm")
    names = list(arms)
    columns = np.column_stack([np.asarray(original, dtype=float), *(np.asarray(arms[a]) for a in names)])
    means = {a: float(np.mean(arms[a])) for a in names}
    best = max(names, key=lambda a: (means[a], -names.index(a)))

    def statistic(m: np.ndarray) -> np.ndarray:
        return m[:, 0] - m[:, 1:].max(axis=1)

    est = statistic_ci(columns, statistic, n_boot=n_boot, seed=seed, cluster=cluster)
    return est, best, means


def instruction_reliance(
    results: Sequence[InstanceResult],
    reference: str,
    meaning_free: Sequence[str],
    *,
    metric: Metric = "exact_match",
    size: SizeFilter = None,
    n_boot: int = 2000,
    seed: int = 0,
) -> tuple[Estimate, str] | None:
    """`reliance_estimate` of ``reference`` against the meaning-free arms that have rows, on the instances
    they all share, resampled by the reports' policy. Returns (estimate, best arm on the full sample), or
    None when no arm shares instances with the reference.
    """
    arms = [a for a in meaning_free if a != reference and _rows(results, a, size)]
    if not arms:
        return None
    names = [reference, *arms]
    aligned = align([r for n in names for r in _rows(results, n, size)], names, metric)
    if aligned.n == 0:
        return None
    s = aligned.scores
    est, best, _ = reliance_estimate(
        s[reference], {a: s[a] for a in arms}, n_boot=n_boot, seed=seed, cluster=aligned.resampling()
    )
    return est, best
