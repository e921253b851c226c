"""Atomic, pickle-free checkpoints: safetensors for tensors, JSON for everything else.

Layout of ``OUT/checkpoints/step-000050/``:

- ``weights.safetensors``: the trainable parameters by name (all of them for full fine-tuning, the LoRA
  matrices for LoRA);
- ``optimizer.safetensors`` + ``optimizer.json``: the optimizer's per-parameter tensors, and its
  hyper-parameters and scalar state;
- ``state.json``: step, losses so far, token count, elapsed time and the run's fingerprint.

There is no RNG state to save: data order is a function of (seed, epoch) and dropout is re-seeded from
(seed, step, rank, micro-step) before every forward pass, so a resumed run draws exactly what the
uninterrupted run would have drawn. A checkpoint is written into a temporary directory and renamed into
place, and an old one is renamed away before it is deleted (`itprobe.fsio.remove_tree`), so a crash (even
``kill -9``) at any moment leaves complete ``step-N`` folders only; what it left under hidden names
(``.step-...``), and any ``step-N`` folder missing one of `FILES`, is ignored and removed by the next save
or resume (`remove_partial`).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from itprobe.fsio import apply_modes, remove_tree, temp_dir

PREFIX = "step-"
FILES = ("weights.safetensors", "optimizer.safetensors", "optimizer.json", "state.json")


@dataclass(frozen=True)
class RunState:
    """The scalar progress of a run."""

    step: int
    losses: tuple[float, ...]
    tokens: int
    seconds: float
    fingerprint: str


def trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """Trainable parameters by name, detached, contiguous and on the CPU (tied weights appear once)."""
    return {n: p.detach().to("cpu").contiguous() for n, p in model.named_parameters() if p.requires_grad}


def load_trainable_state(model: nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    """Copy saved values into the model's trainable parameters (names must match exactly)."""
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    if set(params) != set(tensors):
        missing, extra = sorted(set(params) - set(tensors))[:3], sorted(set(tensors) - set(params))[:3]
        raise ValueError(f"checkpoint does not match the model (missing {missing}, unexpected {extra})")
    with torch.no_grad():
        for name, param in params.items():
            param.copy_(tensors[name])


def _optimizer_split(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, entries in state["state"].items():
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{index}.{key}"] = value.detach().to("cpu").contiguous()
            else:
                scalars.setdefault(str(index), {})[key] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _optimizer_join(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    for index, entries in meta["scalars"].items():
        state.setdefault(int(index), {}).update(entries)
    return {"state": state, "param_groups": meta["param_groups"]}


def save_checkpoint(
    root: Path, model: nn.Module, optimizer: torch.optim.Optimizer, state: RunState, keep: int
) -> Path:
    """Write checkpoint ``root/step-NNNNNN`` atomically and delete all but the newest ``keep``."""
    root.mkdir(parents=True, exist_ok=True)
    remove_partial(root)
    final = root / f"{PREFIX}{state.step:06d}"
    tmp = temp_dir(root, f".{final.name}-")
    try:
        save_file(trainable_state(model), str(tmp / "weights.safetensors"))
        opt_tensors, opt_meta = _optimizer_split(optimizer)
        save_file(opt_tensors, str(tmp / "optimizer.safetensors"))
        (tmp / "optimizer.json").write_text(json.dumps(opt_meta))
        (tmp / "state.json").write_text(json.dumps(asdict(state)))
        apply_modes(tmp)  # safetensors writes 0600 files
        _fsync_dir(tmp)
        remove_tree(final)
        os.replace(tmp, final)
        _fsync_dir(root)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    for old in list_checkpoints(root)[:-keep]:
        remove_tree(old)
    return final


def _complete(path: Path) -> bool:
    return path.is_dir() and all((path / name).is_file() for name in FILES)


def list_checkpoints(root: Path) -> list[Path]:
    """Complete checkpoints under ``root``, oldest first (temporary and partial folders are ignored)."""
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.name.startswith(PREFIX) and _complete(p)]
    return sorted(found, key=lambda p: int(p.name[len(PREFIX) :]))


def remove_partial(root: Path) -> None:
    """Delete what an interrupted save or clean-up left under ``root``: hidden ``.step-...`` folders and
    ``step-N`` folders missing a file. Main process only (another rank may be reading)."""
    if not root.is_dir():
        return
    for path in root.iterdir():
        if path.name.startswith(f".{PREFIX}") or (path.name.startswith(PREFIX) and not _complete(path)):
            shutil.rmtree(path, ignore_errors=True)


def read_state(path: Path) -> RunState:
    """The scalar state of checkpoint ``path``."""
    data = json.loads((path / "state.json").read_text())
    return RunState(data["step"], tuple(data["losses"]), data["tokens"], data["seconds"], data["fingerprint"])


def load_checkpoint(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer) -> RunState:
    """Restore weights and optimizer from checkpoint ``path``; returns its scalar state."""
    load_trainable_state(model, load_file(str(path / "weights.safetensors")))
    meta = json.loads((path / "optimizer.json").read_text())
    optimizer.load_state_dict(_optimizer_join(load_file(str(path / "optimizer.safetensors")), meta))
    return read_state(path)


def _fsync_dir(path: Path) -> None:
    """Flush the directory's files and the directory entry itself, so a rename never exposes empty files."""
    for child in [*path.iterdir(), path]:
        if child.is_file() or child == path:
            fd = os.open(child, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
