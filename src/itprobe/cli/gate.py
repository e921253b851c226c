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
    from itprobe.audit.gate import load_gate
    from itprobe.audit.regate import gate_saved_audit

    loaded = load_gate(gate_file)
    result = gate_saved_audit(audit_dir, loaded)
    print_gate(result.lines())
    raise typer.Exit(result.exit_code)


def register(app: typer.Typer) -> None:
    """Add ``itprobe gate``."""
    app.command("gate")(gate)
