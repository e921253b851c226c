"""`itprobe score`, `itprobe baseline` and `itprobe prompts`: official metrics, trivial baselines, prompts.

Prediction files `score` reads, one JSON object per line (gzip allowed), told apart line by line:

- Tk-Instruct ``predicted_examples.jsonl``: ``Task``, ``Instance`` (``output`` list, maybe ``id``),
  ``Prediction``, optional ``Categories``;
- itprobe's own lines (``itprobe.predict.write_predictions``): ``task``, ``id``, ``prediction``,
  ``references``, ``category``;
- leaderboard pairs ``{id, prediction}``, which need ``--references`` (``{id, references, task_id,
  task_category}``).

With ``--references`` every line is matched by id and takes its references, task and category from that
file; the two id sets must agree exactly.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from itprobe.errors import UserError
from itprobe.predict import Prediction


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; bad JSON or encoding is a UserError naming the line."""
    if not path.is_file():
        raise UserError("no such file", path=path)
    opener = gzip.open if path.suffix == ".gz" else open
    lineno = 0
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            for lineno, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as err:
                    raise UserError(f"not valid JSON ({err.msg})", path=path, line=lineno) from None
                if not isinstance(obj, dict):
                    raise UserError("expected a JSON object", path=path, line=lineno)
                yield lineno, obj
    except UnicodeDecodeError:
        raise UserError("not UTF-8 text", path=path, line=lineno + 1) from None
    except (OSError, EOFError) as err:  # e.g. a truncated or fake .gz
        raise UserError(f"cannot read ({err})", path=path) from None


def _get(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: tuple[Path, int]) -> Any:
    if key not in obj:
        raise UserError("missing field", path=where[0], line=where[1], field=key)
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise UserError(f"wrong type {type(value).__name__}", path=where[0], line=where[1], field=key)
    return value


def _get_refs(obj: dict[str, Any], key: str, where: tuple[Path, int]) -> tuple[str, ...]:
    refs = _get(obj, key, list, where)
    if not refs or not all(isinstance(r, str) for r in refs):
        raise UserError("expected a non-empty list of strings", path=where[0], line=where[1], field=key)
    return tuple(refs)


def _parse_line(obj: dict[str, Any], where: tuple[Path, int], need_refs: bool) -> Prediction:
    """One prediction line of any accepted format; task/references may be blank when ``need_refs`` is off."""
    if "Prediction" in obj or "Instance" in obj:  # Tk-Instruct predicted_examples.jsonl
        instance = _get(obj, "Instance", dict, where)
        cats = obj.get("Categories") or [""]
        return Prediction(
            task=_get(obj, "Task", str, where),
            id=str(instance.get("id", "")),
            prediction=_get(obj, "Prediction", str, where),
            references=_get_refs(instance, "output", where) if need_refs else (),
            mode="generate",
            category=cats[0] if isinstance(cats, list) and isinstance(cats[0], str) else "",
        )
    ident = _get(obj, "id", str, where)
    prediction = _get(obj, "prediction", str, where)
    if not need_refs:
        return Prediction(task="", id=ident, prediction=prediction, references=(), mode="generate")
    if "references" not in obj:
        raise UserError(
            "missing field (leaderboard pairs {id, prediction} need --references)",
            path=where[0],
            line=where[1],
            field="references",
        )
    return Prediction(
        task=_get(obj, "task", str, where),
        id=ident,
        prediction=prediction,
        references=_get_refs(obj, "references", where),
        mode="rank" if obj.get("mode") == "rank" else "generate",
        labels=tuple(obj.get("labels") or ()),
        category=obj.get("category") or "",
    )


def _load_references(path: Path) -> dict[str, tuple[str, tuple[str, ...], str]]:
    """id -> (task, references, category) from a leaderboard reference file."""
    refs: dict[str, tuple[str, tuple[str, ...], str]] = {}
    for lineno, obj in _read_jsonl(path):
        where = (path, lineno)
        ident = _get(obj, "id", str, where)
        if ident in refs:
            raise UserError(f"duplicate id '{ident}'", path=path, line=lineno, field="id")
        category = obj.get("task_category") or ""
        refs[ident] = (_get(obj, "task_id", str, where), _get_refs(obj, "references", where), str(category))
    if not refs:
        raise UserError("no references", path=path)
    return refs


def _some(ids: list[str], n: int = 5) -> str:
    return ", ".join(ids[:n]) + (", …" if len(ids) > n else "")


def load_scorable(predictions: Path, references: Path | None) -> list[Prediction]:
    """Read a prediction file (any accepted format) into predictions that carry their references."""
    parsed = [
        (ln, _parse_line(obj, (predictions, ln), references is None)) for ln, obj in _read_jsonl(predictions)
    ]
    if not parsed:
        raise UserError("no predictions", path=predictions)
    if references is None:
        return [p for _, p in parsed]
    refs = _load_references(references)
    seen: set[str] = set()
    out = []
    for ln, p in parsed:
        if not p.id:
            raise UserError(
                "missing id (needed to match --references)", path=predictions, line=ln, field="id"
            )
        if p.id in seen:
            raise UserError(f"duplicate id '{p.id}'", path=predictions, line=ln, field="id")
        seen.add(p.id)
        if p.id in refs:
            task, gold, category = refs[p.id]
            out.append(replace(p, task=task, references=gold, category=category))
    unknown = [p.id for _, p in parsed if p.id not in refs]
    missing = [ident for ident in refs if ident not in seen]
    if unknown:
        raise UserError(
            f"{len(unknown)} prediction ids are not in {references}: {_some(unknown)}", path=predictions
        )
    if missing:
        raise UserError(
            f"{len(missing)} reference ids have no prediction: {_some(missing)}", path=predictions
        )
    return out


def _print_tables(report: Any, title: str) -> None:
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
    if report.per_category:
        console.print(table("per category", dict(sorted(report.per_category.items()))))
    console.print(table("per task", dict(sorted(report.per_task.items()))))


def score(
    predictions: Annotated[
        Path, typer.Option(help="Predictions (JSONL, .gz allowed); see `itprobe score --help`.")
    ],
    references: Annotated[
        Path | None, typer.Option(help="Leaderboard reference file {id, references, task_id, task_category}.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON report to stdout.")] = False,
) -> None:
    """Official NatInst metrics (exact match, ROUGE-1, ROUGE-L ×100): overall, per task, per category."""
    from itprobe.metrics import score_predictions

    report = score_predictions(load_scorable(predictions, references))
    if as_json:
        typer.echo(json.dumps(report.to_json()))
    else:
        _print_tables(report, f"scores of {predictions}")


def _load_tasks_for_baseline(
    tasks: Path | None, references: Path | None, max_labels: int, labels: Path | None
) -> list[Any]:
    """Tasks from --tasks or --references, with output spaces detected (or read from --labels)."""
    from itprobe import tasks as task_io

    if tasks is not None and references is None:
        return task_io.load_tasks(tasks, max_labels=max_labels, label_file=labels)
    if references is not None and tasks is None:
        return task_io.load_references(references, max_labels=max_labels, label_file=labels)
    raise UserError("give exactly one of --tasks and --references")


def _label_rule(tasks: list[Any]) -> str:
    rules = {
        t.output_space.rule + (f" ({t.output_space.detail})" if t.output_space.detail else "")
        for t in tasks
        if t.output_space is not None
    }
    return "; ".join(sorted(rules)) or "none"


def baseline(
    kind: Annotated[str, typer.Argument(help="random | majority | copy-input | copy-demo")],
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
    seed: Annotated[int, typer.Option(help="Seed of the random baseline.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON result to stdout.")] = False,
) -> None:
    """Score a trivial baseline. `majority` peeks at the gold labels: an oracle reference, not a competitor."""
    from itprobe.baselines import BASELINES, random_expectation, run_baseline, skipped_tasks
    from itprobe.metrics import score_predictions

    if kind not in BASELINES:
        raise UserError(f"unknown baseline '{kind}' (choose from {', '.join(BASELINES)})")
    if references is not None and kind in ("copy-input", "copy-demo"):
        raise UserError(f"baseline '{kind}' needs inputs and demonstrations: use --tasks, not --references")
    loaded = _load_tasks_for_baseline(tasks, references, max_labels, labels)
    if classification_only:
        loaded = [t for t in loaded if t.is_classification]
    skipped = skipped_tasks(kind, loaded, seed=seed)
    preds = run_baseline(kind, loaded, seed=seed)
    if not preds:
        raise UserError(f"baseline '{kind}' has no task to answer ({len(skipped)} of {len(loaded)} skipped)")
    report = score_predictions(preds)
    result: dict[str, Any] = {
        "baseline": kind,
        "exact_match": round(report.overall.exact_match, 4),
        "rouge1": round(report.overall.rouge1, 4),
        "rougeL": round(report.overall.rougeL, 4),
        "n_tasks": len(report.per_task),
        "n_instances": report.overall.n,
        "seed": seed,
        "n_skipped": len(skipped),
        "skipped_tasks": skipped,
    }
    if kind == "random":
        answered = [t for t in loaded if t.name in report.per_task]
        result["expected_exact_match"] = round(100 * random_expectation(answered), 4)
        result["expected_exact_match_task_mean"] = round(100 * random_expectation(answered, per="task"), 4)
        result["label_rule"] = _label_rule(answered)
    if kind == "majority":
        result["note"] = "majority peeks at the evaluation labels: an oracle upper reference"
    result["per_task"] = {name: s.as_dict() for name, s in report.per_task.items()}
    if as_json:
        typer.echo(json.dumps(result))
        return
    typer.echo(f"baseline {kind}: {result['n_instances']} instances of {result['n_tasks']} tasks")
    if skipped:
        typer.echo(f"skipped {len(skipped)} tasks (nothing to answer with): {_some(skipped)}")
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


def _load_tokenizer(spec: str) -> Any:
    from transformers import AutoTokenizer

    from itprobe.models.packaged import PACKAGED, PackagedModelMissing, packaged_model_dir

    try:
        source = str(packaged_model_dir(spec)) if spec in PACKAGED else spec
        return AutoTokenizer.from_pretrained(source)
    except PackagedModelMissing as err:
        raise UserError(str(err)) from None
    except (OSError, ValueError) as err:
        raise UserError(f"cannot load tokenizer '{spec}': {err}") from None


def _arm_spec(definition: str, examples: str, input_arm: str, label: str, seed: int) -> Any:
    """The ArmSpec for the options (it rejects unknown names), or None when every arm is the original."""
    if (definition, examples, input_arm, label) == ("original", "gold", "original", "original"):
        return None
    from itprobe.arms import ArmSpec

    return ArmSpec(definition=definition, examples=examples, input=input_arm, label=label, seed=seed)


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
        str | None, typer.Option(help="Tokenizer for the budget (default: packaged smollm2-135m-instruct).")
    ] = None,
) -> None:
    """Print Tk-Instruct prompts, one JSON line per instance: {task, id, prompt, targets[, arm]}."""
    from itprobe.prompts import PromptConfig, encode_task
    from itprobe.tasks import load_tasks

    config = PromptConfig(task_name, not no_definition, pos, neg, explanation, max_source_tokens)
    spec = _arm_spec(definition_arm, examples_arm, input_arm, label_arm, arm_seed)
    tok = _load_tokenizer(tokenizer or "smollm2-135m-instruct") if max_source_tokens is not None else None
    chosen = load_tasks(tasks, names=task) if task else load_tasks(tasks)
    # the irrelevant-definition arm draws from every task of the source, not only the chosen ones
    pool = load_tasks(tasks) if spec is not None and task else chosen
    for item in chosen:
        if spec is not None:
            from itprobe.arms import apply_arms

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
    app.command(help=baseline.__doc__)(baseline)
    app.command(help=prompts.__doc__)(prompts)
