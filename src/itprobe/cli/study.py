"""`itprobe run`, `itprobe report`, `itprobe merge`: run a study, rebuild its report, merge shards."""

from __future__ import annotations

from pathlib import Path

import typer


def run(
    config: str = typer.Argument(
        None,
        help="Study YAML, or a packaged config: default, natinst-small, natinst-paper. Default: default.",
    ),
    out: Path = typer.Option(None, "--out", help="Run directory (default: runs/<study name>)."),
    resume: bool = typer.Option(
        True, "--resume/--no-resume", help="Continue a run directory's finished cells."
    ),
    natinst: Path = typer.Option(
        None, "--natinst", help="NatInst checkout or compact copy (sets the data source)."
    ),
    model: str = typer.Option(None, "--model", help="Model SPEC: HF id, local directory or packaged alias."),
    shard: str = typer.Option(None, "--shard", help="Run only shard i of n (i/n, 0-based): every n-th cell."),
    overrides: list[str] = typer.Option(
        None, "--set", help="Override a config key: key.sub=value (YAML value)."
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar on stderr."),
    report: bool = typer.Option(True, "--report/--no-report", help="Write the report after the grid."),
    plan: bool = typer.Option(
        False,
        "--plan",
        help="Print every cell, what it trains and evaluates, and its estimated cost; run nothing.",
    ),
) -> None:
    """Run a study: arms × training sizes × seeds, the untuned model and trivial baselines, then the report."""
    from itprobe.fsio import check_output_dir
    from itprobe.study import RunOptions, load_config, parse_shard, run_study
    from itprobe.study.report import save_costs

    study = load_config(config, overrides or [], natinst=natinst, model=model)
    run_dir = check_output_dir(out if out is not None else Path("runs") / study.name)
    if plan:
        from itprobe.study.plan import plan_run

        typer.echo(plan_run(study, run_dir).render())
        return
    options = RunOptions(resume=resume, shard=parse_shard(shard), progress=progress, report=report)
    save_costs(study, run_dir)
    outcome = run_study(study, run_dir, options=options)
    typer.echo(
        f"{outcome.cells_run} cell(s) run, {outcome.cells_already_done} already done, "
        f"{outcome.cells_in_shard} in {'this shard' if options.shard else 'the grid'}; store: "
        f"{run_dir / 'results.sqlite'}",
        err=True,
    )
    if options.shard is not None:
        typer.echo(
            "a shard holds part of the grid: `itprobe merge OUT SHARD_DIR...` builds the report", err=True
        )
    if outcome.report_problem:
        typer.echo(f"itprobe: no report: {outcome.report_problem}", err=True)
    for path in outcome.reports.values():
        typer.echo(str(path))


def report(
    run_dir: Path = typer.Argument(..., help="A run directory (holds results.sqlite)."),
    costs: Path = typer.Option(
        None, "--costs", help="Cost-of-errors YAML (default: the one saved with the run)."
    ),
) -> None:
    """Rebuild a study's report (report.md/.html/.json, plots/) from its results store alone."""
    from itprobe.study import build_report

    for path in build_report(run_dir, costs=costs).values():
        typer.echo(str(path))


def merge(
    out: Path = typer.Argument(..., help="Run directory to merge into (created if absent)."),
    sources: list[Path] = typer.Argument(..., help="Run directories to merge (e.g. the shards of one grid)."),
    report: bool = typer.Option(True, "--report/--no-report", help="Write the report of the merged store."),
) -> None:
    """Merge the results stores of several run directories (shards of one grid) into one."""
    from itprobe.study import build_report, merge_stores

    outcome = merge_stores(out, sources)
    typer.echo(
        f"merged {outcome.sources} store(s): {outcome.cells_copied} cell(s) copied, "
        f"{outcome.cells_present} already present",
        err=True,
    )
    if report:
        for path in build_report(out).values():
            typer.echo(str(path))


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("run")(run)
    app.command("report")(report)
    app.command("merge")(merge)
