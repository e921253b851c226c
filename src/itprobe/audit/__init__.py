"""Audit mode: inference-only probes that ask whether a model follows its instructions or only the format.

Start with `run_audit(AuditConfig(tasks_path=...), out_dir)` (see `runner`); the pieces:

- `probes`: which conditions run on which tasks and modes, and which are skipped and why;
- `prior`: the content-free label prior and contextual calibration (Zhao et al. 2021);
- `headline` / `gate`: the headline figures per mode and scope, and the release gate on them;
- `compare`: two saved audits (`saved`) paired per probe and task;
- `format_spread`: the format-spread probe, declared in one module;
- `reliance`: instruction reliance and the share of the margin over random that survives ``simplified``;
- `report` / `sections`: the audit report (Markdown, HTML, JSON) built on `itprobe.report`.

A new probe is one function decorated with `audit_probe` (or an arm declared with ``probe=``): see
`catalogue` and docs/design.md, "How to add a probe, an arm, a control or a backend".

The names below load on first use, so that reading the probe catalogue (the CLI's ``--probes`` help) does
not import numpy and matplotlib. See docs/audit.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from itprobe.audit.catalogue import (
        ProbeContext,
        ProbePlan,
        ProbeResult,
        RegisteredProbe,
        audit_probe,
        probe_names,
        registered_probes,
        unregister_probe,
    )
    from itprobe.audit.gate import load_gate
    from itprobe.audit.prior import (
        LabelPrior,
        calibrate,
        calibrated_index,
        calibrated_probs,
        label_prior,
    )
    from itprobe.audit.probes import (
        MODES,
        Pass,
        Plan,
        parse_modes,
        parse_probes,
        plan_audit,
    )
    from itprobe.audit.reliance import (
        Reliance,
        Survival,
        reliance_by_task,
        reliance_estimate,
        survival_by_task,
        surviving_share,
    )
    from itprobe.audit.runner import (
        AuditConfig,
        AuditData,
        AuditOutcome,
        collect,
        plan_only,
        run_audit,
    )

_HOME = {
    "ProbeContext": "itprobe.audit.catalogue",
    "ProbePlan": "itprobe.audit.catalogue",
    "ProbeResult": "itprobe.audit.catalogue",
    "RegisteredProbe": "itprobe.audit.catalogue",
    "audit_probe": "itprobe.audit.catalogue",
    "probe_names": "itprobe.audit.catalogue",
    "registered_probes": "itprobe.audit.catalogue",
    "unregister_probe": "itprobe.audit.catalogue",
    "LabelPrior": "itprobe.audit.prior",
    "calibrate": "itprobe.audit.prior",
    "calibrated_index": "itprobe.audit.prior",
    "calibrated_probs": "itprobe.audit.prior",
    "label_prior": "itprobe.audit.prior",
    "MODES": "itprobe.audit.probes",
    "Pass": "itprobe.audit.probes",
    "Plan": "itprobe.audit.probes",
    "parse_modes": "itprobe.audit.probes",
    "parse_probes": "itprobe.audit.probes",
    "plan_audit": "itprobe.audit.probes",
    "Reliance": "itprobe.audit.reliance",
    "Survival": "itprobe.audit.reliance",
    "reliance_by_task": "itprobe.audit.reliance",
    "reliance_estimate": "itprobe.audit.reliance",
    "survival_by_task": "itprobe.audit.reliance",
    "surviving_share": "itprobe.audit.reliance",
    "AuditConfig": "itprobe.audit.runner",
    "AuditData": "itprobe.audit.runner",
    "AuditOutcome": "itprobe.audit.runner",
    "collect": "itprobe.audit.runner",
    "run_audit": "itprobe.audit.runner",
    "plan_only": "itprobe.audit.runner",
    "load_gate": "itprobe.audit.gate",
}
__all__ = [
    "AuditConfig",
    "AuditData",
    "AuditOutcome",
    "LabelPrior",
    "MODES",
    "Pass",
    "Plan",
    "ProbeContext",
    "ProbePlan",
    "ProbeResult",
    "RegisteredProbe",
    "Reliance",
    "Survival",
    "audit_probe",
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
    "probe_names",
    "registered_probes",
    "reliance_by_task",
    "reliance_estimate",
    "run_audit",
    "survival_by_task",
    "surviving_share",
    "unregister_probe",
]


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name]), name)
    raise AttributeError(f"module 'itprobe.audit' has no attribute '{name}'")
