"""Instruction tuning: full fine-tuning and LoRA, causal and seq2seq, resumable, multi-process.

Read in this order: `config` (what a run is), `data` (the training set), `batching` (length-grouped
batches), `objective` (the loss), `loop` (the run itself), `checkpoint` and `output` (what it writes).
See docs/training.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from itprobe.training.config import (
    FULL_LR,
    LORA_LR,
    TK_PROMPT,
    LoraSettings,
    TrainConfig,
    TrainingNote,
    TrainResult,
)
from itprobe.training.output import StepInfo

if TYPE_CHECKING:
    from itprobe.training.loop import train
    from itprobe.training.output import StepInfo

__all__ = [
    "FULL_LR",
    "LORA_LR",
    "TK_PROMPT",
    "LoraSettings",
    "StepInfo",
    "TrainConfig",
    "TrainResult",
    "TrainingNote",
    "train",
]


def __getattr__(name: str) -> Any:
    # the loop imports torch; keep `import itprobe.training` cheap for the CLI
    if name == "train":
        from itprobe.training.loop import train  # lazy: the loop imports torch

        return train
    if name == "StepInfo":
        return StepInfo
    raise AttributeError(f"module 'itprobe.training' has no attribute '{name}'")
