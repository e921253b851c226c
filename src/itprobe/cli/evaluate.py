"""`itprobe score`, `itprobe baseline` and `itprobe prompts`: official metrics, trivial baselines, prompts.

The files `score` reads and how they are matched: `itprobe.score_files`; baseline summaries:
`itprobe.baselines.baseline_summary`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from itprobe.arms import apply_arms
from itprobe.baselines import BASELINES, REGISTRY, baseline_summary
from itprobe.cli.options import LabelsMayExcludeGold, arm_spec, prompt_config
from itprobe.errors import UserError
from itprobe.metrics import ScoreReport, SpaceMarkStripped, score_predictions
from itprobe.models import open_tokenizer
from itprobe.models.loading import DEFAULT_MODEL
from itprobe.prompts import encode_task
from itprobe.score_files import load_scorable, some_ids
from itprobe.tasks import load_tasks


def _print_tables(report: ScoreReport, title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    def table(name: str, rows: dict[str, Any]) -> Table:
        t = Table(title=name, title_justify="left")
        for col in ("group", "n", "exact_match", "rouge1", "rougeL"):
            t.add_column(col, justify="left" if col == "group" else "right")
        for key, s in rows.items():
            t.add_row(key, str(s.n), f"{s.exact_match:.2f}", f"{s.rouge1:.2f}", f"{s.rougeL:.2f}")
        return t

    console = Console()
    console.print(table(title, {"overall (instance mean)": report.overall, "task mean": report.task_mean}))
    if len(report.per_track) > 1:
        console.print(table("per track (the official script reports each on its own)", report.per_track))
    if report.per_category:
        console.print(table("per category", dict(sorted(report.per_category.items()))))
    console.print(table("per task", dict(sorted(report.per_task.items()))))


def score(
    predictions: Annotated[
        Path, typer.Option(help="Predictions (JSONL, .gz allowed); see `itprobe score --help`.")
    ],
    references: Annotated[
        Path | None,
        typer.Option(help="Leaderboard reference file {id, references, task_id, task_category, track}."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON report to stdout.")] = False,
    xlingual_tokenizer: Annotated[
        str | None,
        typer.Option(
            help="GPT-2 tokenizer (local dir or HF id) for the ROUGE of references on the xlingual track, "
            "as the official script; required when there are any."
        ),
    ] = None,
) -> None:
    """Official NatInst metrics (exact match, ROUGE-1, ROUGE-L ×100): overall, per task, category, track.

    As the official script: a reference with no prediction scores the empty string.
    The xlingual track's ROUGE uses the GPT-2 tokenizer (--xlingual-tokenizer).
    Unlike it: prediction ids missing from --references, and repeated ids, are errors.
    """

    scorable = load_scorable(predictions, references)
    n_xlingual = scorable.tracks.count("xlingual")
    tokenizer = None
    if n_xlingual:
        if xlingual_tokenizer is None:
            raise UserError(
                f"{n_xlingual} references are on the xlingual track, whose ROUGE the official script "
                "computes with the GPT-2 tokenizer: pass --xlingual-tokenizer (a local gpt2 tokenizer "
                "directory, or 'gpt2' with internet access)"
            )
        tokenizer = SpaceMarkStripped(open_tokenizer(xlingual_tokenizer))
    if scorable.missing:
        typer.echo(
            f"{len(scorable.missing)} reference ids have no prediction: scored as the empty string, as the "
            f"official script does ({some_ids(scorable.missing)})",
            err=True,
        )
    report = score_predictions(scorable.predictions, tracks=scorable.tracks, xlingual_tokenizer=tokenizer)
    if as_json:
        typer.echo(json.dumps({**report.to_json(), "n_missing": len(scorable.missing)}))
    else:
        _print_tables(report, f"scores of {predictions}")


def baseline(
    kind: Annotated[str, typer.Argument(help=" | ".join(BASELINES))],
    tasks: Annotated[
        Path | None, typer.Option(help="Tasks: NatInst checkout, compact or user JSONL/CSV.")
    ] = None,
    references: Annotated[
        Path | None, typer.Option(help="Leaderboard reference file (outputs only; no inputs or demos).")
    ] = None,
    classification_only: Annotated[
        bool, typer.Option("--classification-only", help="Only tasks with an output space of >= 2 labels.")
    ] = False,
    max_labels: Annotated[
        int, typer.Option(help="Most distinct labels a detected output space may have.")
    ] = 10,
    labels: Annotated[
        Path | None, typer.Option(help="JSON/YAML {task: [labels]} overriding label sets.")
    ] = None,
    labels_may_exclude_gold: LabelsMayExcludeGold = False,
    seed: Annotated[int, typer.Option(help="Seed of the random baseline.")] = 0,
    max_instances: Annotated[
        int | None,
        typer.Option(help="Score the first N instances of each task; train-constant learns from the rest."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON result to stdout.")] = False,
) -> None:
    """Score a trivial baseline or input-blind control (see `itprobe.baselines`); oracles peek at the gold labels."""

    result = baseline_summary(
        kind, tasks=tasks, references=references, max_labels=max_labels, label_file=labels, seed=seed, labels_may_exclude_gold=labels_may_exclude_gold,
        classification_only=classification_only, max_instances=max_instances,
    )  # fmt: skip
    skipped = result["skipped_tasks"]
    if as_json:
        typer.echo(json.dumps(result))
        return
    typer.echo(f"baseline {kind}: {result['n_instances']} instances of {result['n_tasks']} tasks")
    if skipped:
        typer.echo(f"skipped {len(skipped)} tasks (nothing to answer with): {some_ids(skipped)}")
    typer.echo(
        f"exact match {result['exact_match']:.2f}  rouge1 {result['rouge1']:.2f}  rougeL {result['rougeL']:.2f}"
    )
    if kind == "random":
        typer.echo(
            f"expected exact match {result['expected_exact_match']:.2f} (instance mean), "
            f"{result['expected_exact_match_task_mean']:.2f} (task mean); label sets: {result['label_rule']}"
        )
    if kind == "majority":
        typer.echo(f"note: {result['note']}")


def prompts(
    tasks: Annotated[Path, typer.Option(help="Tasks: NatInst checkout, compact or user JSONL/CSV.")],
    task: Annotated[list[str] | None, typer.Option(help="Only this task (repeatable).")] = None,
    no_definition: Annotated[bool, typer.Option("--no-definition", help="Leave the definition out.")] = False,
    pos: Annotated[int, typer.Option(min=0, help="Positive examples.")] = 2,
    neg: Annotated[int, typer.Option(min=0, help="Negative examples.")] = 0,
    explanation: Annotated[
        bool,
        typer.Option(
            "--explanation", help="Add example explanations (never under simplified/empty/irrelevant)."
        ),
    ] = False,
    task_name: Annotated[
        bool,
        typer.Option(
            "--task-name", help="Start with the task name (never under simplified/empty/irrelevant)."
        ),
    ] = False,
    definition_arm: Annotated[str, typer.Option(help="Definition arm.")] = "original",
    examples_arm: Annotated[str, typer.Option(help="Examples arm.")] = "gold",
    input_arm: Annotated[str, typer.Option(help="Input arm.")] = "original",
    label_arm: Annotated[str, typer.Option(help="Label arm.")] = "original",
    arm_seed: Annotated[int, typer.Option(help="Seed of the arms.")] = 0,
    max_source_tokens: Annotated[
        int | None, typer.Option(min=1, help="Token budget (as Tk-Instruct).")
    ] = None,
    max_instances: Annotated[int | None, typer.Option(min=1, help="First N instances per task.")] = None,
    tokenizer: Annotated[
        str | None, typer.Option(help=f"Tokenizer for the budget (default: packaged {DEFAULT_MODEL}).")
    ] = None,
) -> None:
    """Print Tk-Instruct prompts, one JSON line per instance: {task, id, prompt, targets[, arm]}."""

    config = prompt_config(
        task_name=task_name,
        no_definition=no_definition,
        pos=pos,
        neg=neg,
        explanation=explanation,
        max_source_tokens=max_source_tokens,
    )
    spec = arm_spec(definition_arm, examples_arm, input_arm, label_arm, arm_seed)
    tok = open_tokenizer(tokenizer or DEFAULT_MODEL) if max_source_tokens is not None else None
    chosen = load_tasks(tasks, names=task) if task else load_tasks(tasks)
    # the irrelevant-definition arm draws from every task of the source, not only the chosen ones
    pool = load_tasks(tasks) if spec is not None and task else chosen
    for item in chosen:
        if spec is not None:
            result = apply_arms(item, spec, pool=pool)
            for note in result.notes:
                typer.echo(f"{item.name}: {note}", err=True)
            if result.task is None:
                continue
            item = result.task
        for prompt in encode_task(item, config, tok, max_instances=max_instances):
            line: dict[str, Any] = {"task": prompt.task, "id": prompt.id, "prompt": prompt.text}
            line["targets"] = list(prompt.targets)
            if spec is not None:
                line["arm"] = spec.name
            typer.echo(json.dumps(line))


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command(help=score.__doc__)(score)
    kinds = "\n\n".join(f"{b.name}{' (oracle)' if b.oracle else ''}: {b.summary}." for b in REGISTRY.values())
    app.command(help=f"{baseline.__doc__}\n\n{kinds}")(baseline)
    app.command(help=prompts.__doc__)(prompts)
