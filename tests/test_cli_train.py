"""``itprobe train`` through the real entry point, on a tiny random model saved as a local directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from cli_runner import run_cli as _run
from test_train_helpers import save_tiny_dir, toy_tasks, word_tokenizer

from itprobe.tasks import save_tasks


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Any:
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # see test_train.py
    yield
    torch.set_num_threads(before)


@pytest.fixture()
def setup(tmp_path: Path) -> tuple[Path, Path]:
    model_dir = save_tiny_dir(tmp_path / "tiny", word_tokenizer())
    tasks = tmp_path / "tasks.jsonl"
    save_tasks(toy_tasks(), tasks)
    return model_dir, tasks


def test_train_end_to_end(
    setup: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model_dir, tasks = setup
    out = tmp_path / "run"
    args = [
        "train",
        "--model",
        str(model_dir),
        "--tasks",
        str(tasks),
        "--out",
        str(out),
        "--instances-per-task",
        "8",
        "--max-steps",
        "3",
        "--batch-size",
        "4",
        "--lr",
        "1e-2",
        "--precision",
        "fp32",
        "--pos",
        "1",
        "--seed",
        "3",
        "--no-progress",
        "--json",
    ]
    code, stdout, err = _run(capsys, *args)
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["steps"] == 3 and summary["n_examples"] == 16 and summary["n_tasks"] == 2
    assert summary["model_dir"] == str(out / "model") and summary["resumed_from"] is None

    # the library call with the same settings gives the same numbers (the CLI adds nothing of its own)
    from itprobe.models import load_model
    from itprobe.prompts import PromptConfig
    from itprobe.tasks import load_tasks
    from itprobe.train import TrainConfig, train

    config = TrainConfig(
        out_dir=tmp_path / "lib",
        model=str(model_dir),
        data=str(tasks),
        instances_per_task=8,
        max_steps=3,
        batch_size=4,
        lr=1e-2,
        precision="fp32",
        seed=3,
        prompt=PromptConfig(num_pos=1, max_source_tokens=1024),
    )
    library = train(config, load_tasks(tasks), progress=False)
    assert summary["final_loss"] == library.final_loss

    loaded = load_model(str(out / "model"), precision="fp32")
    assert loaded.kind == "causal"
    meta = json.loads((out / "model" / "itprobe_model.json").read_text())
    assert meta["base_model"] == str(model_dir) and meta["seed"] == 3 and meta["data"] == str(tasks)
    resolved = json.loads((out / "train_config.json").read_text())
    assert resolved["config"]["prompt"]["num_pos"] == 1

    # a second call resumes from the final checkpoint: nothing left to train, same result
    code, again, err = _run(capsys, *args)
    assert code == 0, err
    assert json.loads(again)["resumed_from"] == 3 and json.loads(again)["final_loss"] == summary["final_loss"]


def test_train_with_an_arm_and_lora(
    setup: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model_dir, tasks = setup
    code, stdout, err = _run(
        capsys,
        "train",
        "--model",
        str(model_dir),
        "--tasks",
        str(tasks),
        "--out",
        str(tmp_path / "run"),
        "--instances-per-task",
        "4",
        "--max-steps",
        "2",
        "--batch-size",
        "4",
        "--definition-arm",
        "empty",
        "--method",
        "lora",
        "--precision",
        "fp32",
        "--no-progress",
        "--json",
    )
    assert code == 0, err
    assert json.loads(stdout)["steps"] == 2
    meta = json.loads((tmp_path / "run" / "model" / "itprobe_model.json").read_text())
    assert meta["arms"]["definition"] == "empty" and meta["arms"]["seed"] == 0 and meta["method"] == "lora"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--method", "qlora"], "unknown --method"),
        (["--precision", "fp8"], "unknown --precision"),
        (["--definition-arm", "nonsense"], "nonsense"),
        (["--save-adapter-only"], "needs --method lora"),
    ],
)
def test_user_errors_are_one_line(
    setup: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    model_dir, tasks = setup
    out = tmp_path / "run"
    code, _, err = _run(
        capsys,
        "train",
        "--model",
        str(model_dir),
        "--tasks",
        str(tasks),
        "--out",
        str(out),
        "--no-progress",
        *extra,
    )
    assert code == 2 and message in err and "Traceback" not in err
    assert not (out / "model").exists()


def test_missing_tasks_file_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(
        capsys, "train", "--tasks", str(tmp_path / "absent.jsonl"), "--out", str(tmp_path / "o")
    )
    assert code == 2 and err.startswith("itprobe: error:")
