"""``itprobe data``: inspect task sources, convert them to the compact format, generate the built-in suite.

- ``itprobe data info PATH [--split S] [--max-labels N] [--labels FILE] [--task NAME]... [--json]``
- ``itprobe data convert SRC DST [--split S] [--task NAME]... [--max-instances N]``
- ``itprobe data suite --out DIR [--seed N]``
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer

from itprobe.cli.options import LabelsMayExcludeGold
from itprobe.fsio import check_output_dir, check_output_file
from itprobe.suites import write_suite
from itprobe.tasks import detect_format, load_tasks, save_tasks
from itprobe.tasks.types import Task

data_app = typer.Typer(help="Inspect, convert and generate task data.", no_args_is_help=True)

SplitOpt = Annotated[
    str | None,
    typer.Option(
        "--split", help="Checkout: 'default/test' (default), 'default/train'. Data folder: test|train."
    ),
]
TaskOpt = Annotated[
    list[str] | None, typer.Option("--task", help="Only this task (full name or taskNNN); repeatable.")
]
MaxInstancesOpt = Annotated[
    int | None, typer.Option("--max-instances", min=1, help="First N instances per task.")
]


def register(app: typer.Typer) -> None:
    """Add the ``data`` command group to the app."""
    app.add_typer(data_app, name="data")


def summarize(tasks: list[Task], path: Path, fmt: str, max_labels: int) -> dict[str, Any]:
    """Counts, categories and classification tasks of loaded tasks (the ``--json`` document)."""
    categories = Counter(t.category or "(none)" for t in tasks)
    spaces = [(t, t.output_space) for t in tasks if t.is_classification and t.output_space is not None]
    rules = Counter(space.rule for _, space in spaces)
    return {
        "path": str(path),
        "format": fmt,
        "n_tasks": len(tasks),
        "n_instances": sum(len(t.instances) for t in tasks),
        "n_positive_examples": sum(len(t.positive_examples) for t in tasks),
        "n_negative_examples": sum(len(t.negative_examples) for t in tasks),
        "categories": dict(categories.most_common()),
        "max_labels": max_labels,
        "n_classification": sum(t.is_classification for t in tasks),
        "space_rules": dict(rules),
        "classification": [
            {"task": t.name, "labels": list(space.labels), "rule": space.rule, "detail": space.detail}
            for t, space in spaces
        ],
    }


def _print_tables(summary: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]{summary['path']}[/bold] ({summary['format']})")
    overview = Table("", "count", show_header=False)
    for key in ("n_tasks", "n_instances", "n_positive_examples", "n_negative_examples", "n_classification"):
        overview.add_row(key.removeprefix("n_").replace("_", " "), str(summary[key]))
    console.print(overview)
    categories = Table("category", "tasks", title="Categories")
    for name, count in summary["categories"].items():
        categories.add_row(name, str(count))
    console.print(categories)
    spaces = Table("task", "labels", "rule", title="Classification tasks")
    rules: dict[str, str] = {}
    for row in summary["classification"]:
        spaces.add_row(row["task"], " | ".join(row["labels"]), row["rule"])
        rules.setdefault(f"{row['rule']}: {row['detail']}", "")
    console.print(spaces)
    for rule in rules:
        console.print(f"rule {rule}", highlight=False, markup=False)


@data_app.command("info")
def info(
    path: Annotated[Path, typer.Argument(help="Checkout, data folder, compact/user/reference file.")],
    split: SplitOpt = None,
    max_labels: Annotated[
        int, typer.Option("--max-labels", min=0, help="Detection threshold (0 = no detection).")
    ] = 10,
    labels: Annotated[Path | None, typer.Option("--labels", help="JSON/YAML {task: [labels]} file.")] = None,
    labels_may_exclude_gold: LabelsMayExcludeGold = False,
    task: TaskOpt = None,
    max_instances: MaxInstancesOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Counts, categories, classification tasks and their label sets (with the rule used)."""

    tasks = load_tasks(
        path,
        split=split,
        names=task,
        max_labels=max_labels,
        label_file=labels,
        max_instances=max_instances,
        labels_may_exclude_gold=labels_may_exclude_gold,
    )
    summary = summarize(tasks, path, detect_format(path), max_labels)
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        _print_tables(summary)


@data_app.command("convert")
def convert(
    src: Annotated[Path, typer.Argument(help="Any loadable source (checkout, data folder, file).")],
    dst: Annotated[Path, typer.Argument(help="Compact JSON Lines to write (gzip if it ends in .gz).")],
    split: SplitOpt = None,
    task: TaskOpt = None,
    max_instances: MaxInstancesOpt = None,
) -> None:
    """Convert to the compact format (written atomically: no partial file on error)."""

    check_output_file(dst, [src])
    # no detection: detected label sets are recomputed at load time under the reader's own --max-labels
    tasks = load_tasks(src, split=split, names=task, max_labels=0, max_instances=max_instances)
    save_tasks(tasks, dst)
    n_instances = sum(len(t.instances) for t in tasks)
    typer.echo(f"wrote {len(tasks)} tasks ({n_instances} instances) to {dst}", err=True)


@data_app.command("suite")
def suite(
    out: Annotated[Path, typer.Option("--out", help="Folder for train_tasks.jsonl and test_tasks.jsonl.")],
    seed: Annotated[int, typer.Option("--seed", help="Generation seed.")] = 0,
) -> None:
    """Generate the built-in synthetic task suite (compact format)."""

    check_output_dir(out)
    for name, path in write_suite(out, seed=seed).items():
        typer.echo(f"{name}: {path}")
