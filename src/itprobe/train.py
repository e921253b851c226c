"""Instruction tuning; the implementation lives in the `itprobe.training` package.

``from itprobe.train import TrainConfig, train`` is the library entry point the study runner uses.
"""

from __future__ import annotations

from typing import Any

# the same public surface as the package; the cheap names directly, torch-backed ones via __getattr__
from itprobe.training import (  # noqa: F401
    FULL_LR,
    LORA_LR,
    TK_PROMPT,
    LoraSettings,
    TrainConfig,
    TrainResult,
    __all__,
)


def __getattr__(name: str) -> Any:
    import itprobe.training  # lazy: the old shim resolves names on use (training.loop imports torch)

    return getattr(itprobe.training, name)
