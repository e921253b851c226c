"""The built-in audit probes that are not arms, each one decorated function (`catalogue.audit_probe`).

- ``prior``: the content-free label prior (rank mode, one content-free prompt per task) and contextual
  calibration of the original rank answers (rows ``calibrated``);
- ``baselines``: every input-blind baseline of `itprobe.baselines` an audit has data for (random, a seeded
  sample over the output space; majority, an oracle; the controls first-demo-label, demo-majority,
  copy-demo), no model; those that learn from unscored instances (train-constant) are listed as skipped;
- ``contrast``: contrast consistency of the other probes' answers (the report computes it from their rows;
  the probe only says when no task declares a pair);

and, declared whole in its own module, the opt-in ``format-spread`` (`itprobe.audit.format_spread`).

The seeded random baseline's rows are the condition ``random draw`` (its declared report name,
`itprobe.baselines.Baseline.report_name`), never "random": in every report "random" is the *expected* score
of a uniform guess (`itprobe.baselines.expected_hit_rate`), which one draw only approximates.

Heavy imports (numpy for the prior) stay inside the hooks: the CLI reads the
catalogue for its help without loading them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from itprobe.arms import ArmSpec, apply_arms
from itprobe.arms.labels import original_schemes
from itprobe.audit.catalogue import (
    Pass,
    ProbeContext,
    ProbePlan,
    ProbeResult,
    ProbeSkip,
    audit_probe,
    label_probes,
    rank_skip_reason,
)
from itprobe.baselines import REGISTRY, run_baseline
from itprobe.metrics import instance_scores
from itprobe.records import InstanceResult, Prediction
from itprobe.tasks.types import Task

PRIOR = "prior"
RANDOM_DRAW = REGISTRY["random"].report_name  # "random draw": the seeded random baseline's rows (module doc)


def score_pass(
    probe: str, mode: str, preds: Sequence[Prediction], originals: Sequence[Task]
) -> list[InstanceResult]:
    """Predictions of one pass as report rows of condition ``probe`` in ``mode`` (label probes keep the
    labels and gold of the original scheme, for leakage / old meaning)."""
    before = original_schemes(originals) if probe in label_probes() else None
    return instance_scores(preds, condition=probe, test_arm=probe, mode=mode, originals=before)


def content_free_tasks(tasks: Sequence[Task], seed: int) -> list[Task]:
    """Each task under the content-free input arm, one instance kept: every content-free prompt of a task
    is identical (same instruction, input "N/A"), so one is scored."""
    spec = ArmSpec(input="content-free", seed=seed)
    out = []
    for task in tasks:
        result = apply_arms(task, spec)
        assert result.task is not None  # the content-free arm applies to every task
        out.append(dataclasses.replace(result.task, instances=result.task.instances[:1]))
    return out


def _plan_prior(ctx: ProbeContext) -> ProbePlan:
    rankable = [t for t in ctx.tasks if rank_skip_reason(t) is None]
    unrankable = [t for t in ctx.tasks if rank_skip_reason(t) is not None]
    passes: list[Pass] = []
    skipped: list[ProbeSkip] = []
    if "rank" not in ctx.modes:
        skipped.append(ProbeSkip(PRIOR, "the label prior needs rank mode (--modes rank)"))
    elif rankable:
        passes.append(Pass(PRIOR, "rank", tuple(content_free_tasks(rankable, ctx.seed))))
    skipped += [ProbeSkip(PRIOR, rank_skip_reason(t) or "", t.name) for t in unrankable]
    return ProbePlan(tuple(passes), tuple(skipped))


@audit_probe(PRIOR, plan=_plan_prior, conditions=("calibrated",))
def prior(ctx: ProbeContext) -> ProbeResult:
    """The label prior per task, and the original rank answers calibrated by it (rows ``calibrated``)."""
    from itprobe.audit.prior import calibrate, label_prior  # lazy: numpy

    priors = {p.task: label_prior(p) for p in ctx.predictions.get((PRIOR, "rank"), [])}
    original = ctx.predictions.get(("original", "rank"))
    if not priors or original is None:
        return ProbeResult(priors=priors)
    calibrated = calibrate(original, priors)
    rows = score_pass("calibrated", "rank", calibrated, ctx.tasks)
    return ProbeResult(tuple(rows), {("calibrated", "rank"): calibrated}, priors)


def _plan_baselines(ctx: ProbeContext) -> ProbePlan:
    # an audit scores every instance it loads: a baseline that learns from unscored ones has no data
    learns = tuple(
        ProbeSkip(
            f"{b.name} baseline",
            "it learns from labelled instances that are not scored, and an audit scores every instance it loads",
        )
        for b in REGISTRY.values()
        if b.input_blind and b.needs_training_data
    )
    return ProbePlan(
        skipped=learns
        + tuple(
            ProbeSkip("random baseline", rank_skip_reason(t) or "", t.name)
            for t in ctx.tasks
            if rank_skip_reason(t) is not None
        )
    )


# the input-blind baselines an audit has data for (declared in itprobe.baselines)
BASELINES = tuple(b.name for b in REGISTRY.values() if b.input_blind and not b.needs_training_data)


def baseline_condition(kind: str) -> str:
    """The report condition of baseline ``kind``'s rows (declared with it: ``random`` → `RANDOM_DRAW`)."""
    return REGISTRY[kind].report_name


@audit_probe("baselines", plan=_plan_baselines, references=tuple(map(baseline_condition, BASELINES)))
def baselines(ctx: ProbeContext) -> ProbeResult:
    """Rows of every input-blind baseline in `BASELINES`, once per mode they apply to."""
    rows: list[InstanceResult] = []
    for kind in BASELINES:
        preds = run_baseline(kind, ctx.tasks, seed=ctx.seed)
        for mode in ctx.modes:
            keep = [p for p in preds if mode == "generate" or p.labels and len(p.labels) >= 2]
            rows += score_pass(baseline_condition(kind), mode, keep, ())
    return ProbeResult(tuple(rows))


def _plan_contrast(ctx: ProbeContext) -> ProbePlan:
    if any(t.contrast is not None for t in ctx.tasks):
        return ProbePlan()
    return ProbePlan(skipped=(ProbeSkip("contrast", "no task declares a contrast pair"),))


@audit_probe("contrast", plan=_plan_contrast)
def contrast(ctx: ProbeContext) -> ProbeResult:
    """Nothing to add: the report measures consistency on the other probes' rows."""
    return ProbeResult()
