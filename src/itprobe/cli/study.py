"""`itprobe run`, `itprobe report`, `itprobe merge`: run a study, rebuild its report, merge shards."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from itprobe.errors import UserError
from itprobe.fsio import check_output_dir
from itprobe.study import RunOptions, build_report, load_config, merge_stores, parse_shard, run_study
from itprobe.study.loading import PACKAGED_CONFIGS
from itprobe.study.plan import plan_run
from itprobe.study.publish import has_cache, load_published, publish_cache, publish_study, run_data
from itprobe.study.report import save_costs


def run(
    config: Annotated[
        str | None,
        typer.Argument(
            help=f"Study YAML, or a packaged config: {', '.join(PACKAGED_CONFIGS)}. Default: default."
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Run directory (default: runs/<study name>).")
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume/--no-resume", help="Continue a run directory's finished cells.")
    ] = True,
    natinst: Annotated[
        Path | None,
        typer.Option("--natinst", help="NatInst checkout or compact copy (sets the data source)."),
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Model SPEC: HF id, local directory or packaged alias.")
    ] = None,
    shard: Annotated[
        str | None, typer.Option("--shard", help="Run only shard i of n (i/n, 0-based): every n-th cell.")
    ] = None,
    overrides: Annotated[
        list[str] | None, typer.Option("--set", help="Override a config key: key.sub=value (YAML value).")
    ] = None,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Progress bar on stderr.")
    ] = True,
    report: Annotated[
        bool, typer.Option("--report/--no-report", help="Write the report after the grid.")
    ] = True,
    untuned_last: Annotated[
        bool,
        typer.Option("--untuned-last", help="Run the untuned model's cell after the trained cells."),
    ] = False,
    plan: Annotated[
        bool,
        typer.Option(
            "--plan",
            help="Print every cell, what it trains and evaluates, and its estimated cost on this CPU (decode steps timed with the model); write nothing.",
        ),
    ] = False,
) -> None:
    """Run a study: arms × training sizes × seeds, the untuned model and trivial baselines, then the report."""
    study = load_config(config, overrides or [], natinst=natinst, model=model)
    run_dir = check_output_dir(out if out is not None else Path("runs") / study.name)
    if plan:
        typer.echo(plan_run(study, run_dir, parse_shard(shard)).render())
        return
    options = RunOptions(
        resume=resume, shard=parse_shard(shard), progress=progress, report=report, untuned_last=untuned_last
    )
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
    run_dir: Annotated[Path, typer.Argument(help="A run directory (holds results.sqlite).")],
    costs: Annotated[
        Path | None,
        typer.Option("--costs", help="Cost-of-errors YAML (default: the one saved with the run)."),
    ] = None,
    publish: Annotated[
        Path | None,
        typer.Option(
            "--publish",
            help="Also write study.json and predictions.jsonl.gz (per-instance answers and scores, no "
            "dataset text) into this folder.",
        ),
    ] = None,
    publish_cache_: Annotated[
        bool,
        typer.Option(
            "--publish-cache/--no-publish-cache",
            help="With --publish: also write prediction-cache.sqlite, the run's prediction cache without the "
            "answers that copy its task text (reads the task data the run used; --natinst PATH if it moved).",
        ),
    ] = True,
    natinst: Annotated[
        Path | None,
        typer.Option("--natinst", help="Where the run's NatInst data is now (for --publish-cache)."),
    ] = None,
    from_published: Annotated[
        Path | None,
        typer.Option(
            "--from-published",
            help="Rebuild RUN_DIR's store from a published study folder (study.json, predictions.jsonl.gz), "
            "then its report.",
        ),
    ] = None,
) -> None:
    """Rebuild a study's report (report.md/.html/.json, plots/) from its results store alone."""
    if from_published is not None:
        if (check_output_dir(run_dir) / "results.sqlite").exists():
            raise UserError("already holds a results store; give an empty folder", path=run_dir)
        store = load_published(from_published, run_dir)
        typer.echo(f"rebuilt {store} from {from_published}", err=True)
    try:
        reports = build_report(run_dir, costs=costs)
    except UserError as err:
        if from_published is None and publish is None:
            raise
        # a study part way (e.g. between sittings) may have no report yet; its cells still publish / rebuild
        typer.echo(f"itprobe: no report yet: {err}", err=True)
        reports = {}
    for path in reports.values():
        typer.echo(str(path))
    if publish is not None:
        check_output_dir(publish)
        # the task data first: a run whose data moved is refused before anything is written
        data = run_data(run_dir, natinst) if publish_cache_ and has_cache(run_dir) else None
        for path in publish_study(run_dir, publish).values():
            typer.echo(str(path))
        if data is not None:
            found = publish_cache(run_dir, publish, data)
            if found is not None:
                typer.echo(str(found[0]))
                typer.echo(f"prediction cache: {found[1]:,} answers kept, {found[2]:,} left out "
                           "(they copy the study's task text)", err=True)  # fmt: skip


def merge(
    out: Annotated[Path, typer.Argument(help="Run directory to merge into (created if absent).")],
    sources: Annotated[
        list[Path], typer.Argument(help="Run directories to merge (e.g. the shards of one grid).")
    ],
    report: Annotated[
        bool, typer.Option("--report/--no-report", help="Write the report of the merged store.")
    ] = True,
) -> None:
    """Merge the results stores of several run directories (shards of one grid) into one."""
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
