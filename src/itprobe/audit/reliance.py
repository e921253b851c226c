"""Instruction reliance and the share of the model's margin that survives the simplified instruction.

Definitions (see docs/audit.md, "What the numbers mean"):

- **Meaning-free arms** (declared ``meaning_free`` on their arm; `catalogue.meaning_free_probes`): ``simplified`` (only the output space is stated), ``empty`` (no
  definition) and ``irrelevant`` (another task's definition). Each keeps everything a format-only model
  needs (the prompt layout, the demonstrations, the input) and removes what the definition says the task
  *is*. ``negated`` is not meaning-free (it carries a meaning, reversed, and its gold changes), and the
  example arms change the demonstrations, not the instruction; both are reported as separate probes.
- **Instruction reliance** (`itprobe.report.analysis.reliance_estimate`, the one implementation shared
  with the study) = score(original) − max over the meaning-free arms of score(arm), on the same
  instances. The maximum is re-taken in every bootstrap replicate, so the interval accounts for picking
  the best arm after seeing the data. Positive: the instruction's meaning helps beyond anything a
  meaning-free instruction reaches.
- **Surviving margin** = (simplified − random) / (original − random), random = the analytic expected exact
  match of a uniform guess over the output space. 1: the whole margin over guessing survives without the
  instruction's meaning (the model learned the format and the mapping from elsewhere); 0: none of it.
  "undefined" when the CI of the denominator includes 0 or lies below it: without a clear margin there is
  nothing whose survival could be measured.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from itprobe.audit.catalogue import meaning_free_probes
from itprobe.report import (
    ClusterArg,
    Estimate,
    InstanceResult,
    Metric,
    align,
    ratio_ci,
    reliance_estimate,
    resampling_of,
    units_of,
)

REFERENCE = "original"
OVERALL = "overall"
Key = tuple[str, str]


@dataclass(frozen=True)
class Reliance:
    """Instruction reliance of one task (or ``scope == "overall"``) in one mode.

    Attributes:
        scope: the task name, or "overall" (all instances pooled, one best arm for all).
        mode: "rank" or "generate".
        n: instances compared (those scored under the original and every arm considered).
        n_tasks: tasks among them.
        original: mean score with the original instruction (0..1).
        arms: mean score of each meaning-free arm considered, on the same instances.
        best_arm: the meaning-free arm with the highest mean.
        estimate: original − best arm, with its bootstrap CI (the max re-taken per replicate).
    """

    scope: str
    mode: str
    n: int
    n_tasks: int
    original: float
    arms: tuple[tuple[str, float], ...]
    best_arm: str
    estimate: Estimate


@dataclass(frozen=True)
class Survival:
    """The share of the margin over random that survives the simplified instruction.

    ``value``/``low``/``high`` are None unless ``status == "ok"``; ``reason`` says why otherwise.
    ``margin`` is original − random and ``kept`` simplified − random (0..1 scale, with CIs).
    """

    scope: str
    mode: str
    n: int
    value: float | None
    low: float | None
    high: float | None
    status: Literal["ok", "undefined"]
    reason: str
    margin: Estimate
    kept: Estimate
    random: float


def surviving_share(
    simplified: np.ndarray,
    original: np.ndarray,
    random: np.ndarray,
    *,
    scope: str,
    mode: str,
    n_boot: int = 2000,
    seed: int = 0,
    cluster: ClusterArg = None,
) -> Survival:
    """(simplified − random) / (original − random) with a paired bootstrap CI (see the module doc)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = ratio_ci(simplified, original, random, n_boot=n_boot, seed=seed, cluster=cluster)
    ok = ratio.status == "ok"
    reason = ratio.reason
    if ratio.status == "unstable":
        reason = "the margin of original over random is not distinguishable from 0 (its CI includes 0)"
    elif ok and not all(np.isfinite(v) for v in (ratio.value, ratio.low, ratio.high) if v is not None):
        # a resample whose margin is exactly 0 makes the ratio infinite or NaN: no usable interval
        ok, reason = False, "the margin over random is 0 in some bootstrap resamples, so the ratio has no CI"
    return Survival(
        scope=scope,
        mode=mode,
        n=len(np.asarray(original)),
        value=ratio.value if ok else None,
        low=ratio.low if ok else None,
        high=ratio.high if ok else None,
        status="ok" if ok else "undefined",
        reason=reason,
        margin=ratio.denominator,
        kept=ratio.numerator,
        random=float(np.mean(random)),
    )


def _keys_by_condition(results: Sequence[InstanceResult]) -> dict[str, set[Key]]:
    keys: dict[str, set[Key]] = {}
    for r in results:
        keys.setdefault(r.condition, set()).add(r.key)
    return keys


def _reliance(
    results: Sequence[InstanceResult], scope: str, mode: str, arms: Sequence[str], metric: Metric, **kw
) -> Reliance | None:
    aligned = align(results, [REFERENCE, *arms], metric)
    if aligned.n == 0:
        return None
    s = aligned.scores
    # the reports' resampling policy; within one task it resamples instances
    est, best, means = reliance_estimate(
        s[REFERENCE], {a: s[a] for a in arms}, cluster=aligned.resampling(), **kw
    )
    n_tasks = len({k[0] for k in aligned.keys})
    orig = float(np.mean(s[REFERENCE]))
    return Reliance(scope, mode, aligned.n, n_tasks, orig, tuple(means.items()), best, est)


def reliance_by_task(
    results: Sequence[InstanceResult],
    mode: str,
    *,
    metric: Metric = "exact_match",
    n_boot: int = 2000,
    seed: int = 0,
) -> tuple[list[Reliance], Reliance | None]:
    """Per-task reliance (each task with the meaning-free arms it has) and the overall figure.

    ``results`` are the rows of one mode. Overall uses the meaning-free arms that cover every instance
    scored under the original instruction (an arm skipped on some task would otherwise shrink the
    sample silently); when no arm covers them all, the arms present are intersected and ``n`` says so.
    """
    kw = {"n_boot": n_boot, "seed": seed}
    keys = _keys_by_condition(results)
    present = [a for a in meaning_free_probes() if a in keys]
    if REFERENCE not in keys or not present:
        return [], None
    per_task = []
    for task in sorted({k[0] for k in keys[REFERENCE]}):
        rows = [r for r in results if r.task == task]
        task_keys = _keys_by_condition(rows)
        arms = [a for a in present if a in task_keys]
        rel = _reliance(rows, task, mode, arms, metric, **kw) if arms else None
        if rel is not None:
            per_task.append(rel)
    covering = [a for a in present if keys[a] >= keys[REFERENCE]] or present
    return per_task, _reliance(results, OVERALL, mode, covering, metric, **kw)


def survival_by_task(
    results: Sequence[InstanceResult],
    mode: str,
    random_expected: Mapping[Key, float],
    *,
    n_boot: int = 2000,
    seed: int = 0,
) -> tuple[list[Survival], Survival | None]:
    """Per-task and overall surviving margin (exact match) on instances with a random expectation.

    ``random_expected`` maps (task, id) to the analytic exact match of a uniform guess; instances
    without one (tasks without an output space) are left out.
    """
    aligned = align(results, [REFERENCE, "simplified"], "exact_match")
    keep = [i for i, k in enumerate(aligned.keys) if k in random_expected]
    if not keep:
        return [], None
    keys = [aligned.keys[i] for i in keep]
    orig = aligned.scores[REFERENCE][keep]
    simp = aligned.scores["simplified"][keep]
    rand = np.array([random_expected[k] for k in keys])
    tasks = np.array([k[0] for k in keys], dtype=object)
    per_task = []
    for task in sorted(set(tasks.tolist())):
        m = tasks == task
        per_task.append(
            surviving_share(simp[m], orig[m], rand[m], scope=task, mode=mode, n_boot=n_boot, seed=seed)
        )
    cluster = resampling_of(keys, units_of(results))  # contrast pairs resampled together, as elsewhere
    overall = surviving_share(
        simp, orig, rand, scope=OVERALL, mode=mode, n_boot=n_boot, seed=seed, cluster=cluster
    )
    return per_task, overall
