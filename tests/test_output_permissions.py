"""One permission rule for everything itprobe writes (issue #16, item 12): files ``0666 & ~umask``,
folders ``0777 & ~umask``. A umask of 002 tells the rule apart from fixed modes (0644, or mkstemp's 0600
and mkdtemp's 0700)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

UMASK = 0o002
FILE, DIR = 0o664, 0o775


@pytest.fixture(autouse=True)
def _umask() -> Iterator[None]:
    before = os.umask(UMASK)
    yield
    os.umask(before)


def _assert_rule(root: Path, *, with_root: bool = True) -> None:
    """``root`` (unless it is pytest's own 0700 tmp_path) and everything under it, hidden temporaries
    included, follow the rule."""
    paths = sorted(root.rglob("*")) + ([root] if with_root else [])
    assert len(paths) > 1
    wrong = {
        str(p.relative_to(root)): oct(stat.S_IMODE(p.stat().st_mode))
        for p in paths
        if stat.S_IMODE(p.stat().st_mode) != (DIR if p.is_dir() else FILE)
    }
    assert not wrong, wrong


def test_predictions(tmp_path: Path) -> None:
    from itprobe.predict import Prediction, write_predictions

    for name in ("p.jsonl", "p.jsonl.gz"):
        write_predictions([Prediction("t", "1", "yes", ("yes",), "generate")], tmp_path / name)
    _assert_rule(tmp_path, with_root=False)


def test_audit_folder(tmp_path: Path) -> None:
    from audit_fakes import FakeModel, write_user_jsonl

    from itprobe.audit import AuditConfig, run_audit

    config = AuditConfig(tasks_path=write_user_jsonl(tmp_path / "tasks.jsonl"), modes=("rank",), n_boot=100)
    run_audit(config, tmp_path / "out", model=FakeModel(), progress=False)
    _assert_rule(tmp_path / "out")


def test_trained_model_folder_and_json(tmp_path: Path) -> None:
    from itprobe.training.output import save_final_model, write_json_atomic

    class _Saver:
        def save_pretrained(self, folder: str, **kwargs) -> None:
            Path(folder, "weights.bin").write_bytes(b"w")

    (tmp_path / "run").mkdir()
    save_final_model(tmp_path / "run", _Saver(), _Saver(), {"a": 1})
    write_json_atomic(tmp_path / "run" / "train_config.json", {"a": 1})
    _assert_rule(tmp_path / "run")


def test_checkpoints(tmp_path: Path) -> None:
    from itprobe.training import checkpoint as ckpt

    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.AdamW(model.parameters())
    ckpt.save_checkpoint(tmp_path / "checkpoints", model, optimizer, ckpt.RunState(1, (), 0, 0.0, "f"), 1)
    _assert_rule(tmp_path / "checkpoints")


def test_suite_tasks_report_and_store(tmp_path: Path) -> None:
    from test_study_store import record

    from itprobe.report.render import atomic_write
    from itprobe.study import ResultsStore
    from itprobe.suites import write_suite
    from itprobe.tasks import load_tasks, save_tasks

    write_suite(tmp_path / "suite")
    save_tasks(load_tasks(tmp_path / "suite" / "test_tasks.jsonl")[:1], tmp_path / "suite" / "one.jsonl.gz")
    atomic_write(tmp_path / "report" / "report.md", "# r\n")
    store = ResultsStore.in_dir(tmp_path / "run")
    store.write_cell(record("a"), run_id="r")
    _assert_rule(tmp_path / "run")  # with the live -wal and -shm files
    store.close()
    for folder in ("suite", "report", "run"):
        _assert_rule(tmp_path / folder)
