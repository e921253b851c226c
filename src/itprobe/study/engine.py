"""The model-facing side of a study: load a model, instruction-tune one. Tests substitute a fake `Engine`.

`HFEngine` is the real one, over the model backends (`itprobe.models.backends`): a model opens through its
SPEC's backend (`open_model`), and the base model is tuned by the trainer registered for its backend
(`backend_trainer`): `itprobe.training.train` for in-process weights (``packaged``, ``local``, ``hf``); a
backend without one (``fake``, ``openai``) cannot be tuned. A test that registers a backend for its fake
models registers their trainer beside it. Under ``accelerate launch`` every process runs the same grid in
lock step (training is data-parallel across them); only the main process writes the store and the report,
and each process evaluates on its own device (see docs/study.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from itprobe.arms import ArmSpec
from itprobe.errors import UserError
from itprobe.models import backend_of, open_model
from itprobe.models.base import LanguageModel
from itprobe.study.config import StudyConfig
from itprobe.tasks.types import Task
from itprobe.training import TrainConfig, TrainResult


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
    def load(self, spec: str) -> LanguageModel:
        """Load a model (the base model's spec or a `Trained.model_spec`) for evaluation (its tokenizer for
        prompt budgets, if any: `itprobe.models.tokenizer_of(model)`)."""
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


Trainer = Callable[[StudyConfig, TrainJob], Trained]
_TRAINERS: dict[str, Trainer] = {}


def backend_trainer(scheme: str) -> Callable[[Trainer], Trainer]:
    """Register the decorated ``train(config, job) -> Trained`` as how a study tunes a base model of the
    model backend ``scheme`` (`itprobe.models.model_backend`); its `Trained.model_spec` must open through
    a registered backend."""

    def decorate(fn: Trainer) -> Trainer:
        if scheme in _TRAINERS:
            raise ValueError(f"a trainer for model backend {scheme!r} is already registered")
        _TRAINERS[scheme] = fn
        return fn

    return decorate


def unregister_trainer(scheme: str) -> None:
    """Remove a trainer (tests that register a backend for a while)."""
    _TRAINERS.pop(scheme, None)


def trainer_for(spec: str) -> Trainer:
    """The trainer of ``spec``'s backend; a `UserError` for a backend that cannot be tuned."""
    scheme = backend_of(spec).scheme
    if scheme not in _TRAINERS:
        raise UserError(
            f"model '{spec}': the {scheme} backend cannot be trained (training needs local weights)"
        )
    return _TRAINERS[scheme]


class HFEngine:
    """Models through the registered backends (`itprobe.models`), tuned by their backend's trainer."""

    def __init__(self, config: StudyConfig) -> None:
        self.config = config

    def _device(self) -> str | None:
        import torch

        _, local_rank, world = process_rank()
        return f"cuda:{local_rank}" if world > 1 and torch.cuda.is_available() else None

    def load(self, spec: str) -> LanguageModel:
        """A local model, a served one (``openai:BASE_URL#NAME``, e.g. ``eval.untuned_model``) or any other
        registered backend's."""
        from transformers.utils import logging

        logging.disable_progress_bar()  # the study's own bar covers the grid; per-load bars only add noise
        return open_model(
            spec,
            precision=self.config.eval.precision,
            batch_size=self.config.eval.batch_size,
            device=self._device(),
        )

    def train(self, job: TrainJob) -> Trained:
        return trainer_for(self.config.model)(self.config, job)


def _train_weights(config: StudyConfig, job: TrainJob) -> Trained:
    """In-process weights: `itprobe.training.train` on the cell's `TrainConfig`."""
    from itprobe.training.loop import train  # lazy: the loop imports torch

    on_step = job.on_step
    callback = (lambda step: on_step(step.step, step.total)) if on_step is not None else None
    result = train(train_config_of(config, job), job.tasks, progress=False, on_step=callback)
    return Trained(str(result.model_dir), result)


# the in-process backends of `itprobe.models.backends`; ``fake`` and ``openai`` have no weights to tune
backend_trainer("packaged")(_train_weights)
backend_trainer("local")(_train_weights)
backend_trainer("hf")(_train_weights)
