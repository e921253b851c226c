"""``itprobe gate`` (a release gate on an existing audit folder, no model) and ``itprobe compare`` (two
audits of the same tasks, paired), see docs/audit.md."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

GateOption = Annotated[
    Path | None, typer.Option("--gate", help="Gate file (YAML): exit 1 when a rule fails (docs/audit.md).")
]


def print_gate(lines: list[str]) -> None:
    """The gate's screen on stdout, one rule a line."""
    for line in lines:
        typer.echo(line)


def gate(
    audit_dir: Annotated[Path, typer.Argument(help="An audit folder (with audit.json).")],
    gate_file: Annotated[Path, typer.Argument(help="Gate file (YAML).")],
) -> None:
    """Check an existing audit against a release gate, without the model; rewrites its report with the gate.

    Exit status: 0 every rule holds, 1 a rule fails, 2 a usage error.
    """
    from itprobe.audit.regate import gate_saved_audit  # lazy: the audit package (numpy, matplotlib)

    result = gate_saved_audit(audit_dir, gate_file)
    print_gate(result.lines())
    raise typer.Exit(result.exit_code)


def compare(
    audit_a: Annotated[Path, typer.Argument(help="The audit folder of the reference version (A).")],
    audit_b: Annotated[Path, typer.Argument(help="The audit folder of the new version (B).")],
    gate_file: GateOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Also write compare.md/.html/.json into this folder.")
    ] = None,
    all_rows: Annotated[
        bool, typer.Option("--all", help="Print every per-task row, not only changes.")
    ] = False,
    n_boot: Annotated[int, typer.Option("--n-boot", min=100, help="Bootstrap resamples.")] = 2000,
) -> None:
    """Two audits of the same tasks, paired per probe and task: B − A with CIs, Holm p, format/meaning split.

    Exit status with --gate: 0 every rule holds, 1 a rule fails, 2 a usage error (also when the audits do not
    share tasks, instances or the prompt protocol).
    """
    from itprobe.audit.compare_cli import run_compare  # lazy: the audit package (numpy, matplotlib)

    lines, code = run_compare(audit_a, audit_b, gate_file, out=out, all_rows=all_rows, n_boot=n_boot)
    print_gate(lines)
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add ``itprobe gate`` and ``itprobe compare``."""
    app.command("gate")(gate)
    app.command("compare")(compare)
