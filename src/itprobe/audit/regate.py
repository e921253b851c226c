"""A release gate on an audit already on disk: no model, no recomputation; the report is rewritten with
the gate's section first (see `itprobe.audit.gate`)."""

from __future__ import annotations

from pathlib import Path

from itprobe.audit.gate import Gate, GateResult, check_audit, check_tasks, load_gate
from itprobe.audit.report import with_gate
from itprobe.audit.saved import read_audit_report
from itprobe.errors import UserError
from itprobe.fsio import check_output_dir, check_output_file
from itprobe.report import write_report

REPORT_STEM = "audit"


def gate_saved_audit(folder: str | Path, gate_file: str | Path | Gate) -> GateResult:
    """Check a gate (file or loaded) on the audit in ``folder`` and write its verdict into audit.md/.html/.json there.

    Raises:
        UserError: not an audit folder, or a rule names a task the audit does not have.
    """
    gate = gate_file if isinstance(gate_file, Gate) else load_gate(gate_file)
    # the folder is rewritten in place by design, but never over the gate file (docs/refusals.md)
    check_output_dir(folder)
    for ext in ("md", "html", "json"):
        check_output_file(Path(folder) / f"{REPORT_STEM}.{ext}", [gate.source or None])
    report = read_audit_report(folder)
    if not any("headline" in m for m in report.data["modes"].values()):
        raise UserError(
            "this audit has no headline figures (made by an older itprobe); rerun the audit", path=folder
        )
    check_tasks(gate, list(report.data.get("tasks", {})), gate.source)
    result = check_audit(gate, report.data)
    write_report(with_gate(report, result), folder, stem=REPORT_STEM)
    return result
