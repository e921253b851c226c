"""What a training run is: `TrainConfig` (inputs) and `TrainResult` (outputs).

Defaults follow Tk-Instruct's training script (yizhongw/Tk-Instruct ``scripts/train_tk_instruct.sh``):
AdamW, constant learning rate 5e-5 without warm-up, 2 epochs, 100 instances per task, source budget 1024
tokens, target budget 128 tokens, gradient clipping at 1.0 (the Hugging Face `Trainer` default it ran
under). LoRA defaults are documented in docs/training.md.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator
from pydantic.dataclasses import dataclass as settings

from itprobe.arms.spec import ArmSpec
from itprobe.models.loading import DEFAULT_MODEL
from itprobe.models.precision import TrainPrecision
from itprobe.prompts import PromptConfig
from itprobe.schema import STRICT, user_errors

Method = Literal["full", "lora"]
Schedule = Literal["constant", "linear"]
ReferenceChoice = Literal["random", "first"]

FULL_LR = 5e-5  # Tk-Instruct
# LoRA updates a low-rank delta from zero, so it needs a larger step than full fine-tuning; 2e-4 is the
# common choice for small models (QLoRA, Dettmers et al. 2023; peft examples) and trains stably here.
LORA_LR = 2e-4
TK_PROMPT = PromptConfig(add_definition=True, num_pos=2, num_neg=0, max_source_tokens=1024)

# the bounds of the settings a study config shares with `TrainConfig` (`itprobe.study.config.TrainingConfig`)
Positive = Annotated[int, Field(ge=1)]
NonNegative = Annotated[int, Field(ge=0)]
LearningRate = Annotated[float, Field(gt=0)]
Epochs = Annotated[float, Field(gt=0)]


@user_errors("LoRA setting")
@settings(frozen=True, config=STRICT)
class LoraSettings:
    """LoRA hyper-parameters: rank 16 and alpha 32 (scale 2), dropout 0.05, every linear projection."""

    r: Positive = 16
    alpha: Positive = 32
    dropout: float = 0.05
    target_modules: str | tuple[str, ...] = "all-linear"  # peft: every nn.Linear except the output layer


@user_errors("training setting")
@settings(frozen=True, config=STRICT)
class TrainConfig:
    """Everything that decides a training run (and nothing that only decides how it is displayed).

    ``batch_size`` is per process and per micro-batch; the global batch per optimizer step is
    ``batch_size * grad_accum * world_size``. ``epochs`` is ignored when ``max_steps`` is set.
    ``lr=None`` picks `FULL_LR` or `LORA_LR` by method. ``arms=None`` means all-original instructions.
    """

    out_dir: Path
    model: str = DEFAULT_MODEL
    data: str = ""  # where the tasks came from (a path), recorded in the model's metadata
    arms: ArmSpec | None = None
    prompt: PromptConfig = TK_PROMPT
    instances_per_task: Positive = 100
    seed: int = 0
    method: Method = "full"
    lr: LearningRate | None = None
    epochs: Epochs = 2.0
    max_steps: Positive | None = None
    batch_size: Positive = 8
    grad_accum: Positive = 1
    precision: TrainPrecision = "auto"
    schedule: Schedule = "constant"
    warmup_steps: NonNegative = 0
    weight_decay: float = 0.0
    max_grad_norm: float | None = 1.0
    max_target_tokens: Positive = 128
    reference: ReferenceChoice = "random"  # Tk-Instruct's collator draws one reference at random
    lora: LoraSettings = field(default_factory=LoraSettings)
    save_adapter_only: bool = False
    checkpoint_every: NonNegative = 100  # optimizer steps between checkpoints (0: only the last)
    keep_checkpoints: Positive = 2
    resume: bool = True
    log_every: int = 1

    @model_validator(mode="after")
    def _adapter_needs_lora(self) -> TrainConfig:
        if self.method != "lora" and self.save_adapter_only:
            raise ValueError("--save-adapter-only needs --method lora")
        return self

    @property
    def learning_rate(self) -> float:
        """The learning rate in effect (the method's default when ``lr`` is None)."""
        if self.lr is not None:
            return self.lr
        return LORA_LR if self.method == "lora" else FULL_LR

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (paths as strings, the arm spec as a dict)."""
        data = dataclasses.asdict(self)
        data["out_dir"] = str(self.out_dir)
        data["arms"] = dataclasses.asdict(self.arms) if self.arms is not None else None
        data["learning_rate"] = self.learning_rate
        return data

    def fingerprint(self, data_digest: str, global_batch: int) -> str:
        """What a checkpoint must match to be resumed: every setting that changes the trajectory."""
        trajectory = self.to_dict()
        for display_only in (
            "out_dir",
            "resume",
            "checkpoint_every",
            "keep_checkpoints",
            "log_every",
            "save_adapter_only",
            "batch_size",
            "grad_accum",
        ):
            trajectory.pop(display_only)
        trajectory["global_batch"] = global_batch  # how it is split over processes does not matter
        trajectory["data_digest"] = data_digest
        blob = json.dumps(trajectory, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


@dataclass(frozen=True)
class TrainingNote:
    """A remark on the training data: a task the arm skipped or changed, an instance left out."""

    task: str
    note: str
    instance: str = ""  # the instance id, for a note on one instance

    def text(self) -> str:
        """``task: note`` (``task/instance: note``), as `itprobe train` prints it."""
        where = f"{self.task}/{self.instance}" if self.instance else self.task
        return f"{where}: {self.note}"

    @classmethod
    def from_stored(cls, value: str | dict[str, str]) -> TrainingNote:
        """A note as a results store holds it: a dict, or, in stores written before notes were records,
        its `text` (read back once, here)."""
        if isinstance(value, dict):
            return cls(**value)
        where, sep, note = value.partition(": ")
        if not sep:
            return cls("", value)
        task, _, instance = where.partition("/")
        return cls(task, note, instance)


@dataclass(frozen=True)
class TrainResult:
    """What `train` returns; ``model_dir`` loads with ``itprobe.models.load_model(str(model_dir))``."""

    model_dir: Path
    final_loss: float
    losses: tuple[float, ...]  # mean target-token loss of every optimizer step, in order
    tokens_per_s: float  # non-padding tokens (prompt + target) per second of training, all processes
    steps: int
    n_examples: int
    n_tasks: int
    train_seconds: float
    resumed_from: int | None = None  # the checkpoint step the run continued from
    notes: tuple[TrainingNote, ...] = ()  # skipped tasks and other data remarks

    def stored(self) -> dict[str, Any]:
        """Every field but ``model_dir`` as JSON values (what a study stores as a trained cell's info)."""
        out = dataclasses.asdict(self)
        del out["model_dir"]
        out["losses"] = list(self.losses)
        out["notes"] = [dataclasses.asdict(n) for n in self.notes]
        return out

    def summary(self) -> dict[str, Any]:
        """What ``itprobe train --json`` prints: the model folder and the figures, rounded, without the
        per-step losses; notes as text."""
        out = {"model_dir": str(self.model_dir), **self.stored()}
        del out["losses"]
        out["tokens_per_s"] = round(self.tokens_per_s, 1)
        out["train_seconds"] = round(self.train_seconds, 2)
        out["notes"] = [n.text() for n in self.notes]
        return out
