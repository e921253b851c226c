"""`itprobe train`: instruction-tune a model (full or LoRA) with original or altered instructions.

Several processes: ``torchrun --nproc_per_node N -m itprobe train ...`` or
``accelerate launch --config_file configs/accelerate/ddp.yaml -m itprobe train ...`` (docs/training.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, get_args

import typer

from itprobe.cli.options import arm_spec, prompt_config, train_config
from itprobe.fsio import check_output_dir
from itprobe.models.loading import DEFAULT_MODEL
from itprobe.models.precision import TRAIN_PRECISIONS
from itprobe.tasks import load_tasks
from itprobe.training.config import Method


def train_command(
    tasks: Annotated[Path, typer.Option(help="Training tasks: NatInst checkout, compact or user JSONL/CSV.")],
    out: Annotated[Path, typer.Option(help="Output directory (model in OUT/model).")],
    model: Annotated[str, typer.Option(help="Model SPEC: packaged alias, local directory or HF id.")] = (
        DEFAULT_MODEL
    ),
    task: Annotated[list[str] | None, typer.Option(help="Only this task (repeatable).")] = None,
    split: Annotated[
        str | None, typer.Option(help="Split of a NatInst checkout, e.g. default/train.")
    ] = None,
    instances_per_task: Annotated[int, typer.Option(min=1, help="Instances sampled per task.")] = 100,
    seed: Annotated[int, typer.Option(help="Seed of sampling, data order, dropout and LoRA init.")] = 0,
    definition_arm: Annotated[str, typer.Option(help="Definition arm at training time.")] = "original",
    examples_arm: Annotated[str, typer.Option(help="Examples arm at training time.")] = "gold",
    input_arm: Annotated[str, typer.Option(help="Input arm at training time.")] = "original",
    label_arm: Annotated[str, typer.Option(help="Label arm at training time.")] = "original",
    arm_seed: Annotated[int | None, typer.Option(help="Seed of the arms (default: --seed).")] = None,
    no_definition: Annotated[bool, typer.Option("--no-definition", help="Leave the definition out.")] = False,
    pos: Annotated[int, typer.Option(min=0, help="Positive examples in the prompt.")] = 2,
    neg: Annotated[int, typer.Option(min=0, help="Negative examples in the prompt.")] = 0,
    explanation: Annotated[bool, typer.Option("--explanation", help="Add example explanations.")] = False,
    task_name: Annotated[bool, typer.Option("--task-name", help="Start prompts with the task name.")] = False,
    max_source_tokens: Annotated[int, typer.Option(min=1, help="Prompt token budget (Tk-Instruct).")] = 1024,
    max_target_tokens: Annotated[int, typer.Option(min=1, help="Target token budget (Tk-Instruct).")] = 128,
    method: Annotated[str, typer.Option(help=" | ".join(get_args(Method)) + ".")] = "full",
    lr: Annotated[float | None, typer.Option(help="Learning rate (default 5e-5 full, 2e-4 LoRA).")] = None,
    epochs: Annotated[float, typer.Option(help="Passes over the data (ignored with --max-steps).")] = 2.0,
    max_steps: Annotated[
        int | None, typer.Option(min=1, help="Optimizer steps (overrides --epochs).")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Examples per micro-batch per process.")] = 8,
    grad_accum: Annotated[int, typer.Option(min=1, help="Micro-batches per optimizer step.")] = 1,
    precision: Annotated[
        str, typer.Option(help=f"{' | '.join(TRAIN_PRECISIONS)} (bf16 = autocast, fp32 master).")
    ] = "auto",
    checkpoint_every: Annotated[
        int, typer.Option(min=0, help="Checkpoint every N steps (0: end only).")
    ] = 100,
    resume: Annotated[
        bool, typer.Option("--resume/--no-resume", help="Continue from OUT's checkpoint.")
    ] = True,
    save_adapter_only: Annotated[
        bool, typer.Option("--save-adapter-only", help="LoRA: save the adapter, not merged weights.")
    ] = False,
    lora_r: Annotated[int, typer.Option(min=1, help="LoRA rank.")] = 16,
    lora_alpha: Annotated[int, typer.Option(min=1, help="LoRA alpha (scale = alpha / r).")] = 32,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Progress bar on stderr.")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON to stdout.")] = False,
) -> None:
    """Instruction-tune a model; the result loads with `itprobe predict --model OUT/model`."""

    check_output_dir(out, [tasks, model if Path(model).exists() else None])  # before any model time
    config = train_config(
        out_dir=out,
        model=model,
        data=str(tasks),
        arms=arm_spec(definition_arm, examples_arm, input_arm, label_arm, seed if arm_seed is None else arm_seed),
        prompt=prompt_config(
            task_name=task_name, no_definition=no_definition, pos=pos, neg=neg, explanation=explanation,
            max_source_tokens=max_source_tokens,
        ),
        instances_per_task=instances_per_task,
        seed=seed,
        method=method,
        lr=lr,
        epochs=epochs,
        max_steps=max_steps,
        batch_size=batch_size,
        grad_accum=grad_accum,
        precision=precision,
        max_target_tokens=max_target_tokens,
        lora_r=lora_r,
        lora_alpha=lora_alpha,
        save_adapter_only=save_adapter_only,
        checkpoint_every=checkpoint_every,
        resume=resume,
    )  # fmt: skip
    loaded_tasks = load_tasks(tasks, split=split, names=task or None)
    from itprobe.training.loop import train  # lazy: the loop imports torch

    result = train(config, loaded_tasks, progress=progress)
    from accelerate import PartialState

    if not PartialState().is_main_process:
        return
    if as_json:
        typer.echo(json.dumps(result.summary()))
    else:
        typer.echo(
            f"trained {result.steps} steps, final loss {result.final_loss:.4f}, "
            f"{result.tokens_per_s:,.0f} tokens/s; model in {result.model_dir}"
        )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("train")(train_command)
