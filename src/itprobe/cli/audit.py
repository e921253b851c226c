"""``itprobe audit``: inference-only probes on one model (see docs/audit.md)."""

from __future__ import annotations

import datetime as dt
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from itprobe.audit.catalogue import default_probes, probe_names
from itprobe.cli.gate import GateOption, print_gate
from itprobe.cli.options import (
    AUDIT_OPTIONS,
    DecodingName,
    LabelsMayExcludeGold,
    MaxNewTokens,
    StopText,
    decoding_rule,
    from_options,
)
from itprobe.cli.served import (
    SPEC_HELP,
    ApiBase,
    ApiConcurrency,
    ApiModel,
    ApiTimeout,
    ApiTokenizer,
    Chat,
    NoCache,
    cache_folder,
    served_model,
)
from itprobe.decoding import DEFAULT_PROTOCOL
from itprobe.fsio import check_output_dir
from itprobe.models.loading import DEFAULT_MODEL
from itprobe.models.precision import PRECISIONS
from itprobe.schema import choices

if TYPE_CHECKING:  # the audit package imports numpy and matplotlib
    from itprobe.audit import AuditOutcome

DEFAULT_PROBES = "all"


def _probes_help() -> str:
    opt_in = [p for p in probe_names() if p not in default_probes()]
    extra = f"; opt-in, add by name: {', '.join(opt_in)}" if opt_in else ""
    return f"Comma-separated probes or 'all' ({', '.join(default_probes())}{extra})."


# the choices come from the probe catalogue (`itprobe.audit.catalogue`); `refresh_help` re-reads it before
# each run, so a probe registered after this import (a plugin, a test) is listed too
_PROBES_OPTION = typer.Option("--probes", help=_probes_help())


def refresh_help() -> None:
    """List the probes registered now in ``--probes``'s help (the app builds its help on every run)."""
    _PROBES_OPTION.help = _probes_help()


def _summary_table(outcome: AuditOutcome) -> None:
    """Per mode: a row per task and overall with the headline numbers (stdout)."""
    from rich.console import Console
    from rich.table import Table

    from itprobe.audit.sections import MODE_LABEL, survival_text  # lazy: the audit package imports numpy

    console = Console()
    for mode, rows in outcome.reliance.items():
        table = Table(title=f"itprobe audit: {MODE_LABEL.get(mode, mode)}", title_justify="left")
        best = "best arm without the definition's content"
        for column in ("task", "n", "original EM", best, "original − best [95% CI]", "margin kept"):
            table.add_column(column, justify="left" if column in ("task", best) else "right")
        for row in rows:
            rel, est = row.reliance, row.reliance.estimate
            table.add_row(
                f"[bold]{rel.scope}[/bold]" if rel.scope == "overall" else rel.scope,
                str(rel.n),
                f"{100 * rel.original:.1f}",
                f"{rel.best_arm} {100 * row.best:.1f}",
                f"{100 * est.mean:+.1f} [{100 * est.low:+.1f}, {100 * est.high:+.1f}]",
                survival_text(row.kept) or "–",
            )
        console.print(table)
    for line in outcome.report.summary:
        console.print(f"• {line}", markup=False, highlight=False)


def audit(
    tasks: Annotated[
        Path, typer.Option("--tasks", help="Task source: checkout, compact JSONL(.gz), user JSONL/CSV.")
    ],
    model: Annotated[str, typer.Option("--model", help=SPEC_HELP)] = DEFAULT_MODEL,
    out: Annotated[
        Path | None, typer.Option("--out", help="Output dir [default: runs/audit-<time>].")
    ] = None,
    task: Annotated[list[str] | None, typer.Option("--task", help="Only this task (repeatable).")] = None,
    split: Annotated[str | None, typer.Option("--split", help="Split of a checkout/data folder.")] = None,
    max_instances: Annotated[int, typer.Option("--max-instances", min=1, help="Instances per task.")] = 50,
    modes: Annotated[str, typer.Option("--modes", help="rank, generate or both (comma-separated).")] = (
        "rank,generate"
    ),
    probes: Annotated[str, _PROBES_OPTION] = DEFAULT_PROBES,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 8,
    precision: Annotated[str, typer.Option("--precision", help=f"{choices(PRECISIONS)}.")] = "auto",
    seed: Annotated[int, typer.Option("--seed")] = 0,
    costs: Annotated[Path | None, typer.Option("--costs", help="Cost file (YAML), see docs.")] = None,
    trust_remote_code: Annotated[bool, typer.Option("--trust-remote-code")] = False,
    cache_dir: Annotated[Path | None, typer.Option("--cache-dir", help="Prediction cache folder.")] = None,
    label_file: Annotated[
        Path | None, typer.Option("--label-file", help="{task: [labels]} JSON/YAML.")
    ] = None,
    labels_may_exclude_gold: LabelsMayExcludeGold = False,
    max_labels: Annotated[
        int, typer.Option("--max-labels", min=0, help="Output-space detection limit.")
    ] = 10,
    n_boot: Annotated[int, typer.Option("--n-boot", min=100, help="Bootstrap resamples.")] = 2000,
    format_templates: Annotated[
        int,
        typer.Option("--format-templates", min=1, max=32, help="K rewrites of the format (format-spread)."),
    ] = 4,
    progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
    api_base: ApiBase = None,
    api_model: ApiModel = None,
    api_tokenizer: ApiTokenizer = None,
    chat: Chat = False,
    api_concurrency: ApiConcurrency = 8,
    api_timeout: ApiTimeout = 300.0,
    no_cache: NoCache = False,
    gate: GateOption = None,
    plan: Annotated[
        bool, typer.Option("--plan", help="Print the passes and a rough time on this CPU; load no model.")
    ] = False,
    decoding: DecodingName = DEFAULT_PROTOCOL,
    max_new_tokens: MaxNewTokens = None,
    stop: StopText = None,
) -> None:
    """Probe one model: original vs altered instructions, label prior, baselines; writes audit.md/html/json.

    With --gate: exit status 0 when every rule holds, 1 when one fails (2: a usage error).
    """
    from itprobe.audit import (
        AuditConfig,
        load_gate,
        parse_modes,
        parse_probes,
        plan_only,
        run_audit,
    )  # lazy: numpy, matplotlib

    loaded = load_gate(gate) if gate is not None else None  # before any model time is spent

    spec, served = served_model(
        model, api_base, api_model, tokenizer=api_tokenizer, chat=chat, concurrency=api_concurrency,
        timeout_s=api_timeout, trust_remote_code=trust_remote_code,
    )  # fmt: skip
    config = from_options(
        AuditConfig,
        AUDIT_OPTIONS,
        tasks_path=tasks,
        model=spec or model,
        task_names=tuple(task or ()),
        split=split,
        max_instances=max_instances,
        modes=parse_modes(modes),
        probes=parse_probes(probes),
        batch_size=batch_size,
        precision=precision,
        seed=seed,
        costs=costs,
        trust_remote_code=trust_remote_code,
        cache_dir=cache_folder(cache_dir, no_cache),
        max_labels=max_labels,
        label_file=label_file,
        labels_may_exclude_gold=labels_may_exclude_gold,
        n_boot=n_boot,
        served=served,
        format_templates=format_templates,
        decoding=decoding_rule(decoding, max_new_tokens, stop),
    )
    if plan:
        for line in plan_only(config):
            typer.echo(line)
        return
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir = check_output_dir(
        out if out is not None else Path("runs") / f"audit-{stamp}", [tasks, label_file, costs]
    )
    command = shlex.join(["itprobe", *sys.argv[1:]]) if sys.argv[1:2] == ["audit"] else "itprobe audit"
    outcome = run_audit(config, out_dir, progress=progress, command=command, gate=loaded)
    _summary_table(outcome)
    for kind, path in outcome.files.items():
        typer.echo(f"{kind}: {path}", err=True)
    if outcome.gate is not None:
        print_gate(outcome.gate.lines())
        raise typer.Exit(outcome.gate.exit_code)


def register(app: typer.Typer) -> None:
    """Add ``itprobe audit``."""
    app.command("audit")(audit)
