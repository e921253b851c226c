"""The training run, top to bottom: data → model → optimizer → resume → steps → checkpoints → model.

One optimizer step consumes one global batch (planned in `itprobe.training.batching`), cut into
``processes × grad_accum`` micro-batches. Each micro-batch's summed target-token loss is divided by the
target-token count of the whole global batch (times the process count, which DDP's gradient averaging
divides out again), so the update is the mean loss over the global batch's target tokens however it is
split: one process and two give the same step up to float rounding.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from itprobe.errors import UserError
from itprobe.models import LoadedModel, ModelKind
from itprobe.tasks.types import Task
from itprobe.training import checkpoint as ckpt
from itprobe.training.batching import collate, epoch_plan, split_global, steps_per_epoch
from itprobe.training.config import TrainConfig, TrainingNote, TrainResult
from itprobe.training.data import (
    TrainExample,
    build_text_examples,
    data_digest,
    derive_seed,
    tokenize_examples,
)
from itprobe.training.model_setup import (
    accelerator_for,
    autocast_for,
    configure_sharding,
    final_metadata,
    is_sharded,
    load_for_training,
    make_optimizer,
    prepare_trainable,
    save_trained,
)
from itprobe.training.objective import make_objective
from itprobe.training.output import (
    CONFIG_FILE,
    LOG_FILE,
    ProgressBar,
    StepCallback,
    StepInfo,
    TrainLog,
    runtime_description,
    write_json_atomic,
)


@dataclass
class _Run:
    """Everything the step function needs (mutable: the plan cache and the progress counters)."""

    config: TrainConfig
    accelerator: Any
    objective: Any
    optimizer: Any
    examples: list[TrainExample]
    kind: ModelKind
    pad_id: int
    decoder_start_id: int | None
    total_steps: int
    steps_per_epoch: int
    global_batch: int
    autocast: Any
    sharded: bool = False  # FSDP/DeepSpeed: no resumable checkpoints (docs/training.md)
    plans: dict[int, list[list[int]]] = field(default_factory=dict)

    def batch(self, step: int) -> tuple[int, list[int]]:
        epoch, index = divmod(step, self.steps_per_epoch)
        if epoch not in self.plans:
            lengths = [ex.length for ex in self.examples]
            self.plans = {epoch: epoch_plan(lengths, self.global_batch, self.config.seed, epoch, self.parts)}
        return epoch, self.plans[epoch][index]

    @property
    def parts(self) -> int:
        return self.accelerator.num_processes * self.config.grad_accum

    def lr_at(self, step: int) -> float:
        base, warmup = self.config.learning_rate, self.config.warmup_steps
        factor = min(1.0, (step + 1) / warmup) if warmup else 1.0
        if self.config.schedule == "linear" and step >= warmup:
            factor = max(0.0, (self.total_steps - step) / max(1, self.total_steps - warmup))
        return base * factor


def _step(run: _Run, step: int) -> tuple[int, float, float, int]:
    """One optimizer step; returns (epoch, mean target-token loss, lr, non-padding tokens)."""
    acc, cfg = run.accelerator, run.config
    epoch, batch = run.batch(step)
    lengths = [run.examples[i].length for i in batch]
    parts = split_global(batch, [ex.length for ex in run.examples], run.parts)
    mine = parts[acc.process_index * cfg.grad_accum : (acc.process_index + 1) * cfg.grad_accum]
    n_targets = sum(len(run.examples[i].target_ids) for i in batch)
    scale = acc.num_processes / n_targets
    local = torch.zeros((), dtype=torch.float64, device=acc.device)
    for j, part in enumerate(mine):
        # dropout draws depend on (seed, step, rank, micro-step) only, so a resumed run redraws them
        torch.manual_seed(derive_seed(cfg.seed, "dropout", step, acc.process_index, j))
        micro = collate([run.examples[i] for i in part], run.kind, run.pad_id, run.decoder_start_id)
        inputs = {k: v.to(acc.device) for k, v in micro.inputs.items()}
        sync = acc.no_sync(run.objective) if j < len(mine) - 1 else contextlib.nullcontext()
        with sync:
            with run.autocast:
                loss_sum = run.objective(**inputs, targets=micro.targets.to(acc.device))
            acc.backward(loss_sum * scale)
        local += loss_sum.detach().double()
    lr = run.lr_at(step)
    for group in run.optimizer.param_groups:
        group["lr"] = lr
    if cfg.max_grad_norm is not None:
        acc.clip_grad_norm_(run.objective.parameters(), cfg.max_grad_norm)
    run.optimizer.step()
    run.optimizer.zero_grad(set_to_none=True)
    total = acc.reduce(local, reduction="sum") if acc.num_processes > 1 else local
    return epoch, float(total) / n_targets, lr, sum(lengths)


def _run_steps(
    run: _Run, state: ckpt.RunState, out: Path, *, progress: bool, on_step: StepCallback | None
) -> ckpt.RunState:
    acc, cfg = run.accelerator, run.config
    main = acc.is_main_process
    log = TrainLog(out / LOG_FILE, state.step) if main else None
    bar = ProgressBar(run.total_steps, state.step, enabled=progress and main)
    losses, tokens, started = list(state.losses), state.tokens, time.perf_counter()
    seconds_before = state.seconds  # training time of earlier (interrupted) runs
    new_tokens, saving = 0, 0.0  # checkpoint writing is not training time

    try:
        for step in range(state.step, run.total_steps):
            epoch, loss, lr, n_tokens = _step(run, step)
            _check_finite(run, step + 1, loss, state.step)
            losses.append(loss)
            tokens += n_tokens
            new_tokens += n_tokens
            elapsed = time.perf_counter() - started - saving
            info = StepInfo(
                step + 1,
                run.total_steps,
                epoch,
                loss,
                lr,
                n_tokens,
                new_tokens / max(elapsed, 1e-9),
                seconds_before + elapsed,
            )
            state = ckpt.RunState(step + 1, tuple(losses), tokens, info.seconds, state.fingerprint)
            bar.update(info)
            if log is not None and (info.step % cfg.log_every == 0 or info.step == run.total_steps):
                log.write(info)
            if not run.sharded and _checkpoint_due(cfg, info.step, run.total_steps):
                save_started = time.perf_counter()
                _save_checkpoint(run, out, state)
                saving += time.perf_counter() - save_started
            if on_step is not None:
                on_step(info)
    finally:
        bar.close()
    return state


def _check_finite(run: _Run, step: int, loss: float, last_good: int) -> None:
    """A diverged run stops here, before a checkpoint or the model could hold its weights (docs/refusals.md):
    a non-finite loss, or weights the step's update made non-finite (their loss would show only a step later).

    Raises:
        UserError: naming the step; checkpoints saved before it are kept for --resume with other settings.
    """
    bad = "" if math.isfinite(loss) else f"the loss is {loss}"
    if not bad and not all(bool(torch.isfinite(p).all()) for p in run.objective.parameters()):
        bad = "the weights are no longer finite"
    if bad:
        kept = f"the last good state is step {last_good}" if last_good else "nothing was saved"
        raise UserError(f"training diverged at step {step}: {bad} ({kept}); lower the learning rate")


def _checkpoint_due(cfg: TrainConfig, step: int, total: int) -> bool:
    return step == total or (cfg.checkpoint_every > 0 and step % cfg.checkpoint_every == 0)


def _save_checkpoint(run: _Run, out: Path, state: ckpt.RunState) -> None:
    acc = run.accelerator
    if acc.is_main_process:
        model = acc.unwrap_model(run.objective)
        ckpt.save_checkpoint(out / "checkpoints", model, run.optimizer, state, run.config.keep_checkpoints)
    acc.wait_for_everyone()


def _resume_state(cfg: TrainConfig, objective: Any, optimizer: Any, fingerprint: str) -> ckpt.RunState:
    fresh = ckpt.RunState(0, (), 0, 0.0, fingerprint)
    found = ckpt.list_checkpoints(cfg.out_dir / "checkpoints") if cfg.resume else []
    if not found:
        return fresh
    saved = ckpt.read_state(found[-1])
    if saved.fingerprint != fingerprint:
        raise UserError(
            f"the checkpoint in {found[-1]} was made with other settings or data; "
            "use --no-resume to start over or choose another --out"
        )
    return ckpt.load_checkpoint(found[-1], objective, optimizer)


def _training_data(
    config: TrainConfig, tasks: Sequence[Task], loaded: LoadedModel
) -> tuple[list[TrainExample], tuple[TrainingNote, ...]]:
    texts, notes = build_text_examples(
        tasks,
        arms=config.arms,
        prompt=config.prompt,
        instances_per_task=config.instances_per_task,
        seed=config.seed,
        reference=config.reference,
        tokenizer=loaded.tokenizer,
    )
    examples = tokenize_examples(
        texts,
        loaded.tokenizer,
        loaded.kind,
        max_source_tokens=config.prompt.max_source_tokens,
        max_target_tokens=config.max_target_tokens,
    )
    return examples, notes


def _prepare_out_dir(config: TrainConfig, accelerator: Any, resolved: dict[str, Any]) -> None:
    if accelerator.is_main_process:
        config.out_dir.mkdir(parents=True, exist_ok=True)
        if not config.resume:
            shutil.rmtree(config.out_dir / "checkpoints", ignore_errors=True)
        ckpt.remove_partial(config.out_dir / "checkpoints")  # what an interrupted save left
        write_json_atomic(config.out_dir / CONFIG_FILE, resolved)
    accelerator.wait_for_everyone()


def train(
    config: TrainConfig,
    tasks: Sequence[Task],
    *,
    model: LoadedModel | None = None,
    progress: bool = True,
    on_step: StepCallback | None = None,
) -> TrainResult:
    """Instruction-tune a model on ``tasks`` as ``config`` says; save it under ``config.out_dir/model``.

    Args:
        config: the run's settings.
        tasks: training tasks (all of them; ``config.instances_per_task`` are sampled from each).
        model: an already loaded model (`itprobe.models.LoadedModel`, e.g. tiny random weights in the
            tests); trained in place. Default: ``load_model(config.model)`` in fp32.
        progress: show a progress bar on stderr (main process only).
        on_step: called after every optimizer step with a `StepInfo`.

    Raises:
        UserError: no usable training data, or a checkpoint made with other settings (without --no-resume).
    """
    accelerator = accelerator_for()
    loaded = model if model is not None else load_for_training(config.model, accelerator.device)
    examples, notes = _training_data(config, tasks, loaded)
    parts = accelerator.num_processes * config.grad_accum
    global_batch = config.batch_size * parts
    per_epoch = steps_per_epoch(len(examples), global_batch, parts)
    if per_epoch == 0:
        raise UserError(f"{len(examples)} examples cannot fill one batch of {parts} micro-batches")
    total = config.max_steps or max(1, round(config.epochs * per_epoch))
    fingerprint = config.fingerprint(data_digest(examples), global_batch)
    trainable, inner = prepare_trainable(config, loaded, derive_seed(config.seed, "init"))
    objective = make_objective(inner, loaded.kind).to(accelerator.device)
    objective.train()
    optimizer = make_optimizer(objective, config)
    resolved = {
        "config": config.to_dict(),
        "global_batch": global_batch,
        "processes": accelerator.num_processes,
        "total_steps": total,
        "steps_per_epoch": per_epoch,
        "n_examples": len(examples),
        "n_tasks": len({ex.task for ex in examples}),
        "notes": [n.text() for n in notes],
        "fingerprint": fingerprint,
        "base_identity": loaded.identity,
        "runtime": runtime_description(),
    }
    _prepare_out_dir(config, accelerator, resolved)
    state = _resume_state(config, objective, optimizer, fingerprint)
    resumed_from = state.step if state.step else None
    configure_sharding(accelerator, config)
    objective, optimizer = accelerator.prepare(objective, optimizer)
    tokenizer = loaded.tokenizer
    run = _Run(
        config,
        accelerator,
        objective,
        optimizer,
        examples,
        loaded.kind,
        tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id,
        getattr(inner.config, "decoder_start_token_id", None),
        total,
        per_epoch,
        global_batch,
        autocast_for(config.precision, accelerator.device),
        is_sharded(accelerator),
    )
    state = _run_steps(run, state, config.out_dir, progress=progress, on_step=on_step)
    metadata = final_metadata(config, loaded, resolved, state, sorted({ex.task for ex in examples}))
    model_dir = save_trained(config, accelerator, objective, trainable, tokenizer, metadata)
    return TrainResult(
        model_dir=model_dir,
        final_loss=state.losses[-1] if state.losses else float("nan"),
        losses=state.losses,
        tokens_per_s=state.tokens / state.seconds if state.seconds else 0.0,
        steps=state.step,
        n_examples=len(examples),
        n_tasks=resolved["n_tasks"],
        train_seconds=state.seconds,
        resumed_from=resumed_from,
        notes=notes,
    )
