"""Instruction tuning; the implementation lives in the `itprobe.training` package.

``from itprobe.train import TrainConfig, train`` is the library entry point the study runner uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from itprobe.training.config import FULL_LR, LORA_LR, TK_PROMPT, LoraSettings, TrainConfig, TrainResult

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
    "train",
]


def __getattr__(name: str) -> Any:
    import itprobe.training

    return getattr(itprobe.training, name)
