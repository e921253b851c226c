"""Checkpoint clean-up interrupted at any point leaves no partial ``step-N`` folder (issue #16, item 11)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from itprobe.training import checkpoint as ckpt


def _save(root: Path, step: int, keep: int = 2) -> Path:
    torch.manual_seed(step)
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(model.parameters())
    model(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    return ckpt.save_checkpoint(root, model, optimizer, ckpt.RunState(step, (1.0,), 10, 1.0, "fp"), keep)


def test_an_interrupted_removal_of_an_old_checkpoint_leaves_no_partial_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "checkpoints"
    _save(root, 1, keep=1)
    real_rmtree = shutil.rmtree

    def killed_half_way(path, *args, **kwargs):
        victim = next(Path(path).rglob("state.json"), None)
        if victim is not None:
            victim.unlink()  # the first file goes, then the process dies
        raise KeyboardInterrupt

    monkeypatch.setattr(shutil, "rmtree", killed_half_way)
    with pytest.raises(KeyboardInterrupt):
        _save(root, 2, keep=1)
    monkeypatch.setattr(shutil, "rmtree", real_rmtree)
    assert sorted(p.name for p in root.iterdir() if p.name.startswith(ckpt.PREFIX)) == ["step-000002"]
    _save(root, 3, keep=1)  # the next save (or a resume) clears what the interrupted one left
    assert sorted(p.name for p in root.iterdir()) == ["step-000003"]


def test_partial_and_temporary_folders_are_ignored_then_removed(tmp_path: Path) -> None:
    root = tmp_path / "checkpoints"
    complete = _save(root, 4)
    (root / "step-000002").mkdir()
    (root / "step-000002" / "weights.safetensors").write_bytes(b"x")  # what the issue found
    (root / "step-000003").mkdir()
    (root / "step-000003" / "state.json").write_text("{}")  # state kept, weights gone: not loadable either
    (root / ".step-000005-abc").mkdir()  # a checkpoint being written when the process died
    assert ckpt.list_checkpoints(root) == [complete]
    ckpt.remove_partial(root)
    assert sorted(p.name for p in root.iterdir()) == ["step-000004"]
