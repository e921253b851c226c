"""The audit's headline figures, per mode and per scope (each task, and "overall"): the numbers a release
gate (`itprobe.audit.gate`), the decision screen and ``itprobe compare`` read, each with its 95% CI.

- ``exact_match``: exact match under the original instruction.
- ``format_compliance``: share of original answers inside the label set (strict; generation only, tasks
  with an output space).
- ``instruction_reliance``: original − the best meaning-free arm (`itprobe.audit.reliance`).
- ``margin_over_best_control``: original − the strongest input-blind control on the same instances, the
  maximum re-taken in every resample (`itprobe.report.analysis.reliance_estimate`, the one implementation).
  The controls are the fair input-blind controls of `itprobe.baselines.REGISTRY` (never an oracle such as
  ``majority``, which reads the test labels) that the audit scored (first-demo-label, demo-majority,
  copy-demo), with ``random`` as its *expectation* (the analytic expected exact match of a uniform guess,
  never the seeded ``random draw``). A control declared in the registry joins without a change here.
- ``expected_cost``: mean cost per decision under the original instruction (with a cost file).
- ``format_spread`` and ``reliance_across_formats`` (overall, with the ``format-spread`` probe): added by
  the report from `itprobe.audit.format_spread`.

All figures are on the 0..1 scale (costs in the cost file's units).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from itprobe.audit.reliance import OVERALL, REFERENCE, Key
from itprobe.baselines import controls
from itprobe.report import (
    CostFile,
    Estimate,
    InstanceResult,
    align,
    bootstrap_ci,
    instance_costs,
    jsonable,
    reliance_estimate,
)

METRICS: tuple[str, ...] = (
    "exact_match",
    "format_compliance",
    "instruction_reliance",
    "margin_over_best_control",
    "expected_cost",
    "format_spread",  # with the format-spread probe: max − min EM over the templates (`format_spread`)
    "reliance_across_formats",  # the worst template's instruction reliance
)
RANDOM_EXPECTED = "random (expected)"
# the registry's fair (non-oracle) input-blind controls scored as rows of the audit; "random" is the
# analytic expectation instead of its seeded draw
CONTROLS: tuple[str, ...] = tuple(c for c in controls() if c != "random")


def _ci(values: np.ndarray, cluster: Any, n_boot: int, seed: int) -> Estimate | None:
    if len(values) == 0:
        return None
    return bootstrap_ci(values, n_boot=n_boot, seed=seed, cluster=cluster)


def _control_margin(
    rows: Sequence[InstanceResult], random_expected: Mapping[Key, float], n_boot: int, seed: int
) -> dict[str, Any] | None:
    present = [c for c in CONTROLS if any(r.condition == c for r in rows)]
    aligned = align(rows, [REFERENCE, *present])
    keep = [i for i, k in enumerate(aligned.keys) if k in random_expected]
    if not keep:  # no output space: no input-blind control to beat
        return None
    aligned = aligned.subset(keep)
    controls = {c: aligned.scores[c] for c in present}
    controls[RANDOM_EXPECTED] = np.array([random_expected[k] for k in aligned.keys])
    est, best, means = reliance_estimate(
        aligned.scores[REFERENCE], controls, n_boot=n_boot, seed=seed, cluster=aligned.resampling()
    )
    return {**jsonable(est), "control": best, "controls": means}


def _scope(
    rows: Sequence[InstanceResult],
    random_expected: Mapping[Key, float],
    costs: CostFile | None,
    n_boot: int,
    seed: int,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    em = align(rows, [REFERENCE])
    if em.n:
        out["exact_match"] = jsonable(_ci(em.scores[REFERENCE], em.resampling(), n_boot, seed))
    fmt = align(rows, [REFERENCE], "in_format")
    generated = any(r.mode == "generate" for r in rows)
    if fmt.n and generated:
        strict = [r for r in rows if r.condition == REFERENCE and r.in_space_strict is not None]
        values = np.array([float(bool(r.in_space_strict)) for r in strict])
        out["format_compliance"] = jsonable(_ci(values, None, n_boot, seed))
    margin = _control_margin(rows, random_expected, n_boot, seed)
    if margin is not None:
        out["margin_over_best_control"] = margin
    if costs is not None:
        original = [r for r in rows if r.condition == REFERENCE]
        spaced = [r for r in original if r.labels]
        if spaced:
            out["expected_cost"] = jsonable(_ci(instance_costs(spaced, costs), None, n_boot, seed))
    return out


def headline_figures(
    rows: Sequence[InstanceResult],
    reliance: Mapping[str, Estimate],
    random_expected: Mapping[Key, float],
    *,
    costs: CostFile | None = None,
    n_boot: int = 2000,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """{scope: {metric: estimate as JSON}} for one mode's rows; ``reliance`` maps a scope to its estimate."""
    scopes = sorted({r.task for r in rows if r.condition == REFERENCE})
    out: dict[str, dict[str, Any]] = {}
    for scope in [*scopes, OVERALL]:
        part = rows if scope == OVERALL else [r for r in rows if r.task == scope]
        figures = _scope(part, random_expected, costs, n_boot, seed)
        if scope in reliance:
            figures["instruction_reliance"] = jsonable(reliance[scope])
        out[scope] = figures
    return out
