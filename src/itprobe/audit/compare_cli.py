"""What ``itprobe compare`` does, as one library call: read both audits, compare, check the gate, render
the screen (and, with ``out``, compare.md/.html/.json)."""

from __future__ import annotations

from pathlib import Path

from itprobe.audit.compare import (
    COLUMNS,
    change_cells,
    change_json,
    check_changes,
    compare_audits,
    summary_line,
)
from itprobe.audit.gate import load_gate
from itprobe.audit.saved import read_audit
from itprobe.fsio import check_output_dir
from itprobe.report import ReportData, Section, Table, write_report

NOTE = (
    "Each row: B − A in exact match under one probe, paired on the instances both audits scored, with a "
    "percentile bootstrap 95% CI (unadjusted) and the paired test's p Holm-adjusted across the probes of one "
    "mode (overall rows) or across the probes and tasks of one mode (per-task rows). The format part is "
    "what moved because answers left (or re-entered) the label set, the meaning part what moved among "
    "answers in the label set under both (docs/design.md, 'Format and meaning')."
)


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(f"{str(c):<{w}}" for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def run_compare(
    audit_a: Path, audit_b: Path, gate_file: Path | None, *, out: Path | None, all_rows: bool, n_boot: int
) -> tuple[list[str], int]:
    """(the lines to print, the exit status); a `UserError` for a bad gate file or incomparable audits."""
    gate = load_gate(gate_file, "compare") if gate_file is not None else None
    # the report never goes over what it reads (docs/refusals.md): the audits and the gate file
    out_dir = check_output_dir(out, [audit_a, audit_b, gate_file]) if out is not None else None
    a, b = read_audit(audit_a), read_audit(audit_b)
    changes = compare_audits(a, b, n_boot=n_boot)
    shown = [c for c in changes if all_rows or c.scope == "overall" or c.regression or c.improvement]
    cells = [change_cells(c) for c in shown]
    lines = [f"A: {audit_a}  B: {audit_b}", summary_line(changes)]
    lines += _table([COLUMNS, *cells])
    result = check_changes(gate, changes) if gate is not None else None
    if result is not None:
        lines += ["", *result.lines()]
    if out_dir is not None:
        sections = [result.section()] if result is not None else []
        sections.append(
            Section(
                title="B − A per probe and task",
                paragraphs=[NOTE],
                tables=[Table(columns=COLUMNS, rows=[change_cells(c) for c in changes])],
            )
        )
        report = ReportData(
            title=f"itprobe compare: {audit_b} (B) against {audit_a} (A)",
            summary=[*([result.headline() + "."] if result else []), summary_line(changes)],
            sections=sections,
            data={
                "a": str(audit_a),
                "b": str(audit_b),
                "changes": [change_json(c) for c in changes],
                **({"gate": result.to_json()} if result else {}),
            },
        )
        write_report(report, out_dir, stem="compare")
        lines.append(f"report: {out_dir / 'compare.md'}")
    return lines, result.exit_code if result is not None else 0
