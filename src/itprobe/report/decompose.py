"""Format or meaning: split a paired difference in exact match into a format part and a meaning part.

Exact match factorises as EM = P(in space) × P(correct | in space). For a reference ``a`` and another
condition ``b`` on the same instance, with ``e`` = exact match and ``s`` = "in format" (the answer is a
label of the output space, or exactly right), both averaged over seeds:

    d        = e_a − e_b
    meaning  = e_a · s_b − s_a · e_b          = s_a · s_b · (e_a / s_a − e_b / s_b)
    format   = d − meaning                    = e_a · (1 − s_b) − e_b · (1 − s_a)

With one seed: when both answers are labels, meaning = e_a − e_b and format = 0; when ``b``'s answer left
the label set, format = e_a (the points ``a`` scored there) and meaning = 0; when ``a``'s did, format =
−e_b. With several seeds the same split is averaged over every pair of seeds (the seeds of two
conditions are independent models), which is what the products of seed means give. The pooled parts are
instance means, so format + meaning = the pooled difference exactly. In rank mode every answer is a label
(s = 1), so the format part is 0 by construction and the whole difference is the meaning part.

The meaning part is measured only where both answers are in the label set: an answer that left the set
counts fully as format, even if the model would also have picked a wrong label. So "format" is what is lost
(or gained) by answering outside the label set, and "meaning" a change in which label is picked.

Every part has a paired bootstrap CI (the reports' resampling policy) and a test of "part = 0"; a part is
*claimed* only when its Holm-adjusted p is below alpha and its CI excludes 0 (`Part.claimed`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from itprobe.report.results import InstanceResult, align
from itprobe.report.stats import Estimate, bootstrap_ci, holm, zero_test


@dataclass(frozen=True)
class Part:
    """One part of a split: its estimate (0..1 scale), raw p and Holm-adjusted p (= raw when alone)."""

    estimate: Estimate
    p_value: float
    p_adjusted: float

    def claimed(self, alpha: float = 0.05) -> bool:
        """Significant after adjustment and with a CI that excludes 0 (both are required)."""
        e = self.estimate
        return self.p_adjusted < alpha and (e.low > 0 or e.high < 0)


@dataclass(frozen=True)
class Split:
    """``reference − other`` exact match on the instances with a label set, as format + meaning.

    Attributes:
        n: instances split (answered under both, with a label set).
        total: the difference on those instances (= format + meaning).
        has_format: False when every answer of both conditions is in the label set (always so in rank
            mode): the format part is then 0 by construction, not by measurement.
        mode: "rank", "generate" or "mixed" (of the rows split).
        in_format_reference, in_format_other: share of answers in the label set (0..1).
    """

    reference: str
    other: str
    n: int
    total: Estimate
    format: Part
    meaning: Part
    has_format: bool
    mode: str
    in_format_reference: float
    in_format_other: float


@dataclass(frozen=True)
class InstanceParts:
    """Per-instance parts of ``reference − other`` (aligned with ``keys``)."""

    keys: tuple[tuple[str, str], ...]
    difference: np.ndarray
    format: np.ndarray
    meaning: np.ndarray
    in_format_reference: np.ndarray
    in_format_other: np.ndarray


def instance_parts(results: Sequence[InstanceResult], reference: str, other: str) -> InstanceParts:
    """The per-instance split of the rows of ``reference`` and ``other`` that have a label set."""
    fmt = align(results, [reference, other], "in_format")
    em = align(results, [reference, other], "exact_match")
    position = {k: i for i, k in enumerate(em.keys)}
    idx = [position[k] for k in fmt.keys]
    ea, eb = em.scores[reference][idx], em.scores[other][idx]
    sa, sb = fmt.scores[reference], fmt.scores[other]
    meaning = ea * sb - sa * eb
    diff = ea - eb
    return InstanceParts(fmt.keys, diff, diff - meaning, meaning, sa, sb)


def split_difference(
    results: Sequence[InstanceResult],
    reference: str,
    other: str,
    *,
    n_boot: int = 2000,
    seed: int = 0,
) -> Split | None:
    """Split ``reference − other`` (rows already restricted to one size); None without shared instances
    that have a label set."""
    rows = [r for r in results if r.condition in (reference, other)]
    parts = instance_parts(rows, reference, other)
    if not parts.keys:
        return None
    cluster = align(rows, [reference, other], "in_format").resampling()
    kw = {"n_boot": n_boot, "seed": seed, "cluster": cluster}
    total = bootstrap_ci(parts.difference, **kw)

    def part(values: np.ndarray) -> Part:
        p = zero_test(values, cluster=cluster, seed=seed)
        return Part(bootstrap_ci(values, **kw), p, p)

    modes = {r.mode for r in rows if r.in_space_strict is not None}
    return Split(
        reference=reference,
        other=other,
        n=len(parts.keys),
        total=total,
        format=part(parts.format),
        meaning=part(parts.meaning),
        has_format=bool(np.any(parts.in_format_reference < 1) or np.any(parts.in_format_other < 1)),
        mode=modes.pop() if len(modes) == 1 else "mixed",
        in_format_reference=float(parts.in_format_reference.mean()),
        in_format_other=float(parts.in_format_other.mean()),
    )


def holm_splits(splits: Sequence[Split | None]) -> list[Split | None]:
    """Holm-adjust the format parts across ``splits``, and the meaning parts across them (one family each)."""
    present = [s for s in splits if s is not None]
    adj_f = iter(holm([s.format.p_value for s in present]))
    adj_m = iter(holm([s.meaning.p_value for s in present]))
    out: list[Split | None] = []
    for s in splits:
        if s is None:
            out.append(None)
            continue
        out.append(
            dataclasses.replace(
                s,
                format=dataclasses.replace(s.format, p_adjusted=next(adj_f)),
                meaning=dataclasses.replace(s.meaning, p_adjusted=next(adj_m)),
            )
        )
    return out
