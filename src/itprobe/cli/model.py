"""`itprobe predict`: run a model over tasks (generation or rank classification) and write predictions.

The output is the JSONL that `itprobe score` reads (`itprobe.predict.write_predictions`), with the format
diagnostics ``in_space_strict`` / ``in_space_loose``; it is written to a temporary file and renamed, so an
interrupted run (or a server that fails mid-run) leaves no partial file. The model may be local or served
(``openai:BASE_URL#NAME``, see `itprobe.cli.served`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from itprobe.arms import apply_arms
from itprobe.cli.options import DecodingName, MaxNewTokens, StopText, arm_spec, decoding_rule, prompt_config
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
from itprobe.errors import UserError
from itprobe.fsio import check_output_file
from itprobe.models import open_model, tokenizer_of
from itprobe.models.base import rank_unavailable
from itprobe.models.precision import PRECISIONS
from itprobe.predict import predict_tasks, write_predictions
from itprobe.records import MODES
from itprobe.tasks import load_tasks


def _tasks(path: Path, names: list[str] | None, arms: tuple[str, str, str, str], seed: int) -> list[Any]:
    """The chosen tasks with the arms (definition, examples, input, label) applied; skipped tasks are
    reported on stderr."""

    pool = load_tasks(path)
    chosen = load_tasks(path, names=names) if names else pool
    spec = arm_spec(*arms, seed)
    if spec is None:
        return chosen
    kept = []
    for task in chosen:
        result = apply_arms(task, spec, pool=[t for t in pool if t.name != task.name])
        for note in result.notes:
            typer.echo(f"{task.name}: {note}", err=True)
        if result.task is not None:
            kept.append(result.task)
    if not kept:
        raise UserError("every task was skipped by the arms; nothing to predict")
    return kept


def predict(
    tasks: Annotated[Path, typer.Option(help="Tasks: NatInst checkout, compact or user JSONL/CSV.")],
    out: Annotated[Path, typer.Option(help="Predictions file to write (JSONL, .gz allowed).")],
    model: Annotated[str | None, typer.Option(help=SPEC_HELP)] = None,
    mode: Annotated[
        str, typer.Option(help="generate | rank (rank needs an output space; else generate).")
    ] = ("generate"),
    task: Annotated[list[str] | None, typer.Option(help="Only this task (repeatable).")] = None,
    no_definition: Annotated[bool, typer.Option("--no-definition", help="Leave the definition out.")] = False,
    pos: Annotated[int, typer.Option(min=0, help="Positive examples.")] = 2,
    neg: Annotated[int, typer.Option(min=0, help="Negative examples.")] = 0,
    explanation: Annotated[bool, typer.Option("--explanation", help="Add example explanations.")] = False,
    task_name: Annotated[bool, typer.Option("--task-name", help="Start with the task name.")] = False,
    max_source_tokens: Annotated[int | None, typer.Option(min=1, help="Prompt token budget.")] = None,
    max_instances: Annotated[int | None, typer.Option(min=1, help="First N instances per task.")] = None,
    definition_arm: Annotated[str, typer.Option(help="Definition arm.")] = "original",
    examples_arm: Annotated[str, typer.Option(help="Examples arm.")] = "gold",
    input_arm: Annotated[str, typer.Option(help="Input arm.")] = "original",
    label_arm: Annotated[str, typer.Option(help="Label arm.")] = "original",
    arm_seed: Annotated[int, typer.Option(help="Seed of the arms.")] = 0,
    batch_size: Annotated[int, typer.Option(min=1, help="Instances per forward pass.")] = 8,
    precision: Annotated[
        str, typer.Option(help=f"{' | '.join(PRECISIONS)} (auto: bf16 where fast).")
    ] = "auto",
    trust_remote_code: Annotated[bool, typer.Option("--trust-remote-code", help="Run model code.")] = False,
    cache_dir: Annotated[Path | None, typer.Option(help="Prediction cache folder (off when absent).")] = None,
    length_normalized: Annotated[
        bool, typer.Option("--length-normalized", help="Rank by mean log-prob per token.")
    ] = False,
    threads: Annotated[int | None, typer.Option(min=1, help="CPU threads for torch.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary to stdout.")] = False,
    decoding: DecodingName = DEFAULT_PROTOCOL,
    max_new_tokens: MaxNewTokens = None,
    stop: StopText = None,
    api_base: ApiBase = None,
    api_model: ApiModel = None,
    api_tokenizer: ApiTokenizer = None,
    chat: Chat = False,
    api_concurrency: ApiConcurrency = 8,
    api_timeout: ApiTimeout = 300.0,
    no_cache: NoCache = False,
) -> None:
    """Predict every instance of the tasks and write the predictions with format diagnostics."""
    if mode not in MODES:
        raise UserError(f"unknown mode '{mode}' (generate or rank)")
    rule = decoding_rule(decoding, max_new_tokens, stop)
    check_output_file(
        out, [tasks, model if model and Path(model).exists() else None]
    )  # before any model time

    chosen = _tasks(tasks, task, (definition_arm, examples_arm, input_arm, label_arm), arm_seed)
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    spec, served = served_model(
        model, api_base, api_model, tokenizer=api_tokenizer, chat=chat, concurrency=api_concurrency,
        timeout_s=api_timeout, trust_remote_code=trust_remote_code,
    )  # fmt: skip
    if spec is None:
        raise UserError("give the model: --model SPEC (or --api-base URL for a served model)")
    lm = open_model(
        spec, precision=precision, batch_size=batch_size, trust_remote_code=trust_remote_code, served=served
    )
    if max_source_tokens is not None and tokenizer_of(lm) is None:
        raise UserError("--max-source-tokens needs the served model's tokenizer (--api-tokenizer)")
    if mode == "rank" and any(t.is_classification for t in chosen):
        problem = rank_unavailable(lm)
        if problem is not None:
            raise UserError(f"--mode rank: {problem} (--mode generate works)")
    config = prompt_config(
        task_name=task_name,
        no_definition=no_definition,
        pos=pos,
        neg=neg,
        explanation=explanation,
        max_source_tokens=max_source_tokens,
    )
    start = time.perf_counter()
    preds = predict_tasks(
        lm,
        chosen,
        config,
        mode=mode,  # type: ignore[arg-type]
        cache_dir=cache_folder(cache_dir, no_cache),
        max_instances=max_instances,
        length_normalized=length_normalized,
        decoding=rule,
    )
    seconds = time.perf_counter() - start
    write_predictions(preds, out)
    modes = {m: sum(p.mode == m for p in preds) for m in MODES}
    summary = {
        "out": str(out),
        "model": lm.identity,
        "dtype": _dtype(lm),
        "n_tasks": len(chosen),
        "n_instances": len(preds),
        "modes": modes,
        "decoding": rule.label,
        "seconds": round(seconds, 3),
        "instances_per_s": round(len(preds) / seconds, 3) if seconds > 0 else None,
    }
    if hasattr(lm, "api_description"):
        summary["served_api"] = lm.api_description
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        typer.echo(
            f"wrote {len(preds)} predictions ({modes['rank']} ranked, {modes['generate']} generated) "
            f"to {out} in {seconds:.1f} s (decoding: {rule.label})",
            err=True,
        )


def _dtype(lm: Any) -> str | None:
    """The compute dtype of a local model; None for a served one (the server decides)."""
    loaded = getattr(lm, "loaded", None)
    return str(loaded.dtype).removeprefix("torch.") if loaded is not None else None


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("predict")(predict)
