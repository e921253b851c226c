"""The model-facing side of a study: load a model, instruction-tune one. Tests substitute a fake `Engine`.

`HFEngine` is the real one: `itprobe.models.load_model` + `HFLanguageModel` for inference and
`itprobe.training.train` for tuning. Under ``accelerate launch`` every process runs the same grid in lock
step (training is data-parallel across them); only the main process writes the store and the report, and
each process evaluates on its own device (see docs/study.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from itprobe.arms import ArmSpec
from itprobe.models import open_model
from itprobe.models.base import LanguageModel
from itprobe.study.config import StudyConfig
from itprobe.tasks.types import Task
from itprobe.training import TrainConfig, TrainResult


@dataclass(frozen=True)
class Loaded:
    """A model ready for evaluation and the tokenizer used for prompt budgets (None for fakes)."""

    model: LanguageModel
    tokenizer: Any = None


@dataclass(frozen=True)
class TrainJob:
    """One training run of a grid cell."""

    tasks: tuple[Task, ...]
    arm: ArmSpec  # seeded with the cell's seed
    size: int
    seed: int
    out_dir: Path
    resume: bool
    on_step: Callable[[int, int], None] | None = None  # (optimizer steps done, total) after each step


@dataclass(frozen=True)
class Trained:
    """Where the tuned model is (a spec `Engine.load` accepts) and what training reported (stored with the
    cell as `TrainResult.stored`)."""

    model_spec: str
    result: TrainResult


class Engine(Protocol):
    def load(self, spec: str) -> Loaded:
        """Load a model (the base model's spec or a `Trained.model_spec`) for evaluation."""
        ...

    def train(self, job: TrainJob) -> Trained:
        """Instruction-tune the study's base model as ``job`` says."""
        ...


def process_rank() -> tuple[int, int, int]:
    """(rank, local rank, world size) as set by ``accelerate launch`` / torchrun; (0, 0, 1) otherwise."""
    env = os.environ
    return int(env.get("RANK", 0)), int(env.get("LOCAL_RANK", 0)), int(env.get("WORLD_SIZE", 1))


def is_main_process() -> bool:
    return process_rank()[0] == 0


def barrier() -> None:
    """Wait for every process of a distributed run (a no-op in a single process)."""
    if process_rank()[2] > 1:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.barrier()


def train_config_of(config: StudyConfig, job: TrainJob) -> TrainConfig:
    """The `TrainConfig` of a cell: the study's training settings and prompt, the cell's arm, size and seed."""
    return config.training.train_config(
        out_dir=job.out_dir,
        model=config.model,
        data=config.data.source,
        arms=job.arm,
        prompt=config.prompt,
        instances_per_task=job.size,
        seed=job.seed,
        resume=job.resume,
    )


class HFEngine:
    """Hugging Face models through `itprobe.models` and `itprobe.training`."""

    def __init__(self, config: StudyConfig) -> None:
        self.config = config

    def _device(self) -> str | None:
        import torch

        _, local_rank, world = process_rank()
        return f"cuda:{local_rank}" if world > 1 and torch.cuda.is_available() else None

    def load(self, spec: str) -> Loaded:
        """A local model, or a served one (``openai:BASE_URL#NAME``, e.g. ``eval.untuned_model``)."""
        from transformers.utils import logging

        logging.disable_progress_bar()  # the study's own bar covers the grid; per-load bars only add noise
        model, tokenizer = open_model(
            spec,
            precision=self.config.eval.precision,
            batch_size=self.config.eval.batch_size,
            device=self._device(),
        )
        return Loaded(model, tokenizer)

    def train(self, job: TrainJob) -> Trained:
        from itprobe.training.loop import train  # lazy: the loop imports torch

        train_config = train_config_of(self.config, job)
        on_step = job.on_step
        callback = (lambda step: on_step(step.step, step.total)) if on_step is not None else None
        result = train(train_config, job.tasks, progress=False, on_step=callback)
        return Trained(str(result.model_dir), result)
