"""What a run leaves in its output directory, besides checkpoints.

``OUT/train_config.json`` (the resolved configuration), ``OUT/train.log`` (one JSON line per logged step:
step, epoch, loss, lr, tokens, tokens_per_s, seconds), and ``OUT/model/``: a Hugging Face model directory
(safetensors weights, config, tokenizer; or a PEFT adapter with ``--save-adapter-only``) plus
``itprobe_model.json`` naming the base model, arms, seed and data. ``load_model("OUT/model")`` loads it.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from itprobe.fsio import apply_modes, atomic_write, remove_tree, temp_dir

METADATA_FILE = "itprobe_model.json"
LOG_FILE = "train.log"
CONFIG_FILE = "train_config.json"


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON through a temporary file and a rename (never a half-written file)."""
    atomic_write(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


@dataclass(frozen=True)
class StepInfo:
    """What the loop reports after every optimizer step (to the log, the progress bar and callbacks)."""

    step: int  # 1-based count of optimizer steps done
    total: int
    epoch: int
    loss: float
    lr: float
    tokens: int  # non-padding tokens of this step, all processes
    tokens_per_s: float  # average since the (re)start
    seconds: float  # wall time of training so far, across restarts


class TrainLog:
    """Append-only JSON-lines log; on resume, lines after the checkpoint's step are dropped."""

    def __init__(self, path: Path, resume_step: int | None) -> None:
        self.path = path
        kept = []
        if resume_step is not None and path.exists():
            for line in path.read_text().splitlines():
                if line.strip() and json.loads(line).get("step", 0) <= resume_step:
                    kept.append(line + "\n")
        path.write_text("".join(kept))

    def write(self, info: StepInfo) -> None:
        record = {
            "step": info.step,
            "epoch": info.epoch,
            "loss": round(info.loss, 6),
            "lr": info.lr,
            "tokens": info.tokens,
            "tokens_per_s": round(info.tokens_per_s, 1),
            "seconds": round(info.seconds, 3),
        }
        with self.path.open("a") as handle:
            handle.write(json.dumps(record) + "\n")


class ProgressBar:
    """A rich progress bar on stderr with loss, tokens/s and ETA (a no-op when disabled)."""

    def __init__(self, total: int, start: int, enabled: bool) -> None:
        self.progress: Any = None
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("train"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TextColumn("{task.fields[speed]} tok/s"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self.task = self.progress.add_task("train", total=total, completed=start, loss="-", speed="-")
        self.progress.start()

    def update(self, info: StepInfo) -> None:
        if self.progress is not None:
            self.progress.update(
                self.task, completed=info.step, loss=f"{info.loss:.4f}", speed=f"{info.tokens_per_s:,.0f}"
            )

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


StepCallback = Callable[[StepInfo], None]


def save_final_model(
    out_dir: Path,
    model: Any,
    tokenizer: Any,
    metadata: dict[str, Any],
    *,
    state_dict: dict[str, Any] | None = None,
) -> Path:
    """Save ``model`` (a transformers or peft model) with tokenizer and metadata to ``out_dir/model``.

    Written into a temporary directory and renamed, so ``OUT/model`` is either complete or absent.
    """
    target = out_dir / "model"
    tmp = temp_dir(out_dir, ".model-")
    try:
        extra = {"state_dict": state_dict} if state_dict is not None else {}
        model.save_pretrained(str(tmp), safe_serialization=True, **extra)
        tokenizer.save_pretrained(str(tmp))
        (tmp / METADATA_FILE).write_text(json.dumps(metadata, indent=2, sort_keys=True, default=str) + "\n")
        apply_modes(tmp)  # safetensors writes 0600 files
        remove_tree(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def runtime_description() -> dict[str, str]:
    """Versions and time, for the resolved config."""
    import accelerate
    import torch
    import transformers

    return {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "accelerate": accelerate.__version__,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
