"""``itprobe compare AUDIT_A AUDIT_B``: two saved audits of the same tasks (e.g. two checkpoints), paired on
the instances both scored, per mode, probe and task (docs/audit.md, "Comparing two audits").

Each change is B − A in exact match under one probe, on the shared instances, with its paired bootstrap CI,
its paired test and its split into a format part and a meaning part: `itprobe.report.analysis.compare_arms`
(the reports' one implementation of paired tests and splits) on B's rows as the reference and A's as the
arm. p-values are Holm-adjusted across the probes of one mode and scope (overall; the per-task rows form
one family per mode), the format and meaning parts each as their own family (`holm_splits`). A change is
a *regression* when B is worse with p (Holm) < alpha; regressions are listed first.

Two audits are comparable only when they share tasks whose definitions, output spaces and demonstrations
are identical (`saved.task_digest`), the same prompt protocol (prompt settings, seed, decoding) and some
instances; otherwise `check_comparable` refuses with one line naming the mismatch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from itprobe.audit.catalogue import report_references
from itprobe.audit.gate import Check, Gate, GateResult, holds
from itprobe.audit.reliance import OVERALL
from itprobe.audit.saved import SavedAudit
from itprobe.errors import UserError
from itprobe.records import InstanceResult
from itprobe.report import ArmComparison, Split, compare_arms, holm, holm_splits, jsonable

# what must match for two audits to be comparable (provenance extra keys; "decoding" once it is recorded)
PROTOCOL_KEYS = ("prompt", "seed", "decoding")
MODEL_FREE = report_references()  # baselines: the same in both audits by construction
ALPHA = 0.05


@dataclass(frozen=True)
class Change:
    """B − A under one probe in one mode, overall or for one task."""

    mode: str
    probe: str
    scope: str
    comparison: ArmComparison  # reference = B, arm = A: test.diff is B − A

    @property
    def split(self) -> Split | None:
        return self.comparison.split

    @property
    def regression(self) -> bool:
        return self.comparison.test.diff.mean < 0 and self.comparison.p_adjusted < ALPHA

    @property
    def improvement(self) -> bool:
        return self.comparison.test.diff.mean > 0 and self.comparison.p_adjusted < ALPHA


def _tasks(audit: SavedAudit) -> dict[str, str]:
    digests = audit.report.data.get("task_digests")
    if digests is None:
        raise UserError(
            "this audit records no task digests (made by an older itprobe); rerun it", path=audit.path
        )
    return dict(digests)


def check_comparable(a: SavedAudit, b: SavedAudit) -> list[str]:
    """The shared tasks; a `UserError` naming the first mismatch (tasks, protocol, instances)."""
    ta, tb = _tasks(a), _tasks(b)
    shared = [t for t in ta if t in tb]
    if not shared:
        raise UserError(
            f"the audits share no task (A: {', '.join(ta)}; B: {', '.join(tb)}): compare audits of the same task file"
        )
    differ = [t for t in shared if ta[t] != tb[t]]
    if differ:
        raise UserError(
            f"task definitions differ between the audits for {', '.join(differ)} (definition, labels or "
            "demonstrations changed): compare audits of the same task file"
        )
    ea, eb = a.report.provenance.extra, b.report.provenance.extra
    for key in PROTOCOL_KEYS:
        if ea.get(key) != eb.get(key):
            raise UserError(
                f"the audits differ in their {key} protocol (A: {ea.get(key, 'not recorded')}; "
                f"B: {eb.get(key, 'not recorded')}): a difference would mix the model with the protocol"
            )
    keys_a = {r.key for r in a.rows if r.condition == "original"}
    keys_b = {r.key for r in b.rows if r.condition == "original"}
    if not keys_a & keys_b:
        raise UserError("the audits share no instance scored under the original instruction")
    return shared


def _relabel(rows: Sequence[InstanceResult], side: str) -> list[InstanceResult]:
    return [dataclasses.replace(r, condition=f"{side}:{r.condition}") for r in rows]


def _family(
    rows_a: Sequence[InstanceResult], rows_b: Sequence[InstanceResult], probes: Sequence[str], **kw: Any
) -> list[tuple[str, ArmComparison]]:
    """B − A per probe on these rows, Holm-adjusted across the probes (p and both split parts)."""
    found: list[tuple[str, ArmComparison]] = []
    for probe in probes:
        pair = [r for r in (*rows_a, *rows_b) if r.condition in (f"A:{probe}", f"B:{probe}")]
        found += [(probe, c) for c in compare_arms(pair, f"B:{probe}", [f"A:{probe}"], **kw)]
    adjusted = holm([c.test.p_value for _, c in found])
    splits = holm_splits([c.split for _, c in found])
    return [
        (probe, dataclasses.replace(c, p_adjusted=p, split=s))
        for (probe, c), p, s in zip(found, adjusted, splits, strict=True)
    ]


def _raw(split: Split | None) -> Split | None:
    if split is None:
        return None
    f, m = split.format, split.meaning
    return dataclasses.replace(
        split,
        format=dataclasses.replace(f, p_adjusted=f.p_value),
        meaning=dataclasses.replace(m, p_adjusted=m.p_value),
    )


def compare_audits(a: SavedAudit, b: SavedAudit, *, n_boot: int = 2000, seed: int = 0) -> list[Change]:
    """Every change B − A (see the module doc), regressions first, then by the size of the drop."""
    shared = set(check_comparable(a, b))
    kw = {"n_boot": n_boot, "seed": seed}
    changes: list[Change] = []
    modes = [m for m in a.report.data["modes"] if m in b.report.data["modes"]]
    for mode in modes:
        rows_a = _relabel([r for r in a.rows if r.mode == mode and r.task in shared], "A")
        rows_b = _relabel([r for r in b.rows if r.mode == mode and r.task in shared], "B")
        probes = [p for p in dict.fromkeys(r.condition[2:] for r in rows_a) if p not in MODEL_FREE]
        changes += [Change(mode, p, OVERALL, c) for p, c in _family(rows_a, rows_b, probes, **kw)]
        per_task: list[Change] = []
        for task in sorted(shared):
            ta = [r for r in rows_a if r.task == task]
            tb = [r for r in rows_b if r.task == task]
            per_task += [Change(mode, p, task, c) for p, c in _family(ta, tb, probes, **kw)]
        # one Holm family for the per-task rows of a mode (raw p-values; split parts likewise)
        adjusted = holm([c.comparison.test.p_value for c in per_task])
        splits = holm_splits([_raw(c.split) for c in per_task])
        changes += [
            dataclasses.replace(c, comparison=dataclasses.replace(c.comparison, p_adjusted=p, split=sp))
            for c, p, sp in zip(per_task, adjusted, splits, strict=True)
        ]
    return sorted(changes, key=lambda c: (not c.regression, c.scope != OVERALL, c.comparison.test.diff.mean))


def change_json(c: Change) -> dict[str, Any]:
    return {"mode": c.mode, "probe": c.probe, "scope": c.scope, **jsonable(c.comparison)}


_PART = {"exact_match_change": None, "format_part_change": "format", "meaning_part_change": "meaning"}


def _value(c: Change, metric: str) -> tuple[float, float, float, float] | None:
    """(mean, low, high, p adjusted) of the rule's figure for one change; None when it has none."""
    part = _PART[metric]
    if part is None:
        d = c.comparison.test.diff
        return d.mean, d.low, d.high, c.comparison.p_adjusted
    if c.split is None:
        return None
    p = getattr(c.split, part)
    return p.estimate.mean, p.estimate.low, p.estimate.high, p.p_adjusted


def check_changes(gate: Gate, changes: Sequence[Change]) -> GateResult:
    """Each rule on the changes it names (probe, task, mode; every one by default): it fails when a change
    is outside its bounds *and* significant (p (Holm) < the rule's alpha); the worst change is shown."""
    checks = []
    for rule in gate.rules:
        matching = [
            (c, v)
            for c in changes
            if (rule.probe is None or c.probe == rule.probe)
            and c.scope == (rule.task or OVERALL)
            and (rule.mode is None or c.mode == rule.mode)
            and (v := _value(c, rule.metric)) is not None
        ]
        if not matching:
            checks.append(Check(rule, None, None, None, False, "no shared probe/task/mode", rule.mode))
            continue
        failing = [(c, v) for c, v in matching if not holds(rule, *v[:3]) and v[3] < rule.alpha]
        c, v = failing[0] if failing else min(matching, key=lambda cv: cv[1][0])
        note = f"worst: {c.probe}, p (Holm) = {v[3]:.2g}"
        checks.append(Check(rule, v[0], v[1], v[2], not failing, note, c.mode))
    return GateResult(tuple(checks), gate.source)


COLUMNS = [
    "mode",
    "probe",
    "scope",
    "n",
    "A EM (%)",
    "B EM (%)",
    "B − A, EM points [95% CI]",
    "p (Holm)",
    "format part [95% CI]",
    "meaning part [95% CI]",
    "",
]


def _pts(mean: float, low: float, high: float) -> str:
    return f"{100 * mean:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]"


def change_cells(c: Change) -> list[Any]:
    """One row of the comparison table (strings, as the terminal and the report show them)."""
    t = c.comparison.test
    s = c.split
    part = {
        k: (_pts(p.estimate.mean, p.estimate.low, p.estimate.high) if p is not None else "–")
        for k, p in (
            ("format", s.format if s and s.has_format else None),
            ("meaning", s.meaning if s else None),
        )
    }
    if s is not None and not s.has_format:
        part["format"] = "none (all in label set)"
    flag = "REGRESSION" if c.regression else "improvement" if c.improvement else ""
    return [
        c.mode,
        c.probe,
        c.scope,
        t.n,
        f"{100 * t.mean_b:.1f}",
        f"{100 * t.mean_a:.1f}",
        _pts(t.diff.mean, t.diff.low, t.diff.high),
        f"{c.comparison.p_adjusted:.2g}",
        part["format"],
        part["meaning"],
        flag,
    ]


def summary_line(changes: Sequence[Change]) -> str:
    overall = [c for c in changes if c.scope == OVERALL]
    worse = [c for c in changes if c.regression]
    better = [c for c in changes if c.improvement]
    return (
        f"B vs A: {len(worse)} regression(s) and {len(better)} improvement(s) with p (Holm) < {ALPHA} among "
        f"{len(overall)} probe comparison(s) overall and {len(changes) - len(overall)} per task; paired on "
        "shared instances, B − A in exact-match points, regressions first."
    )
