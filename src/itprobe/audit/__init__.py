"""Audit mode: inference-only probes that ask whether a model follows its instructions or only the format.

Start with `run_audit(AuditConfig(tasks_path=...), out_dir)` (see `runner`); the pieces:

- `probes`: which conditions run on which tasks and modes, and which are skipped and why;
- `prior`: the content-free label prior and contextual calibration (Zhao et al. 2021);
- `headline` / `gate`: the headline figures per mode and scope, and the release gate on them;
- `compare`: two saved audits (`saved`) paired per probe and task;
- `format_spread`: the format-spread probe, declared in one module;
- `reliance`: instruction reliance and the share of the margin over random that survives ``simplified``;
- `report` / `sections`: the audit report (Markdown, HTML, JSON) built on `itprobe.report`.

See docs/audit.md.
"""

from itprobe.audit.gate import load_gate
from itprobe.audit.prior import LabelPrior, calibrate, calibrated_index, calibrated_probs, label_prior
from itprobe.audit.probes import MODES, PROBES, Pass, Plan, parse_modes, parse_probes, plan_audit
from itprobe.audit.reliance import (
    MEANING_FREE,
    Reliance,
    Survival,
    reliance_by_task,
    reliance_estimate,
    survival_by_task,
    surviving_share,
)
from itprobe.audit.runner import AuditConfig, AuditData, AuditOutcome, collect, plan_only, run_audit

__all__ = [
    "MEANING_FREE",
    "MODES",
    "PROBES",
    "AuditConfig",
    "AuditData",
    "AuditOutcome",
    "LabelPrior",
    "Pass",
    "Plan",
    "Reliance",
    "Survival",
    "calibrate",
    "calibrated_index",
    "calibrated_probs",
    "collect",
    "label_prior",
    "load_gate",
    "parse_modes",
    "parse_probes",
    "plan_audit",
    "plan_only",
    "reliance_by_task",
    "reliance_estimate",
    "run_audit",
    "survival_by_task",
    "surviving_share",
]
