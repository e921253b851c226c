"""Issue #27, group 4: one line instead of a traceback, with every store and cache left as it was
(docs/refusals.md). One test per case; extend the tables for new ones."""

from __future__ import annotations

import errno
import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_runner import run_cli

from itprobe.errors import UserError
from itprobe.prompts import PromptConfig


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path_factory.mktemp("itprobe-cache")
    monkeypatch.setenv("ITPROBE_CACHE", str(folder))
    return folder


@pytest.fixture(scope="module")
def tiny_dir(tokenizer: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tiny_models import save_tiny_llama

    return save_tiny_llama(tokenizer, tmp_path_factory.mktemp("tiny"))


# ---- models and caches -------------------------------------------------------------------------------------


def test_a_truncated_safetensors_file_is_one_line(tiny_dir: Path, tmp_path: Path) -> None:
    import shutil

    from itprobe.models import load_model

    broken = Path(shutil.copytree(tiny_dir, tmp_path / "broken"))
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(UserError, match="model.safetensors|damaged|cannot load") as err:
        load_model(str(broken), precision="fp32", device="cpu")
    assert "\n" not in str(err.value)


def _task() -> Any:
    from itprobe.tasks.types import Instance, OutputSpace, Task

    return Task("t", "Say yes.", (Instance("1", "q", ("yes",)), Instance("2", "r", ("no",))),
                output_space=OutputSpace(("yes", "no"), "declared"))  # fmt: skip


class _Fake:
    identity = "fake"

    def generate(self, prompts: Any, decoding: Any) -> list[str]:
        return ["yes"] * len(prompts)

    def score_choices(self, prompts: Any, choices: Any) -> list:
        from itprobe.models.base import ChoiceScore

        return [[ChoiceScore(-1.0, 1) for _ in c] for c in choices]


def test_a_corrupt_prediction_cache_is_one_line_and_kept(tmp_path: Path) -> None:
    from itprobe.predict import predict_tasks

    (tmp_path / "predictions.sqlite").write_bytes(b"this is not sqlite" * 300)
    before = _digest(tmp_path / "predictions.sqlite")
    with pytest.raises(UserError, match="prediction cache") as err:
        predict_tasks(_Fake(), [_task()], PromptConfig(), cache_dir=tmp_path, progress=False)
    assert "\n" not in str(err.value) and _digest(tmp_path / "predictions.sqlite") == before


def test_a_cache_dir_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    from itprobe.predict import predict_tasks

    (tmp_path / "cache").write_text("x")
    with pytest.raises(UserError, match="is a file"):
        predict_tasks(_Fake(), [_task()], PromptConfig(), cache_dir=tmp_path / "cache", progress=False)


def test_a_corrupt_identity_memo_still_gives_the_identity(tiny_dir: Path, _private_cache: Path) -> None:
    from itprobe.models.identity import directory_digest

    want = directory_digest(tiny_dir)  # with a working memo
    memo = _private_cache / "file_hashes.sqlite"
    memo.write_bytes(b"garbage" * 1000)
    with pytest.warns(UserWarning, match="memo"):
        assert directory_digest(tiny_dir) == want
    assert memo.read_bytes() == b"garbage" * 1000


@pytest.mark.parametrize("name", ["notice.py", "license.py", "readme.py"])
def test_remote_code_helpers_named_like_docs_are_in_the_identity(name: str, tmp_path: Path) -> None:
    from itprobe.models.identity import directory_digest

    (tmp_path / "config.json").write_text("{}")
    (tmp_path / name).write_text("X = 1\n")
    before = directory_digest(tmp_path)
    (tmp_path / name).write_text("X = 2\n")
    assert directory_digest(tmp_path) != before


# ---- disk full ---------------------------------------------------------------------------------------------


def test_disk_full_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import itprobe.cli.data as data_cli

    src = tmp_path / "t.jsonl"
    src.write_text(json.dumps({"task": "t", "definition": "d", "input": "i", "output": "o"}) + "\n")

    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "out.jsonl"))

    monkeypatch.setattr(data_cli, "save_tasks", full)
    code, _, err = run_cli(capsys, "data", "convert", str(src), str(tmp_path / "out.jsonl"))
    assert (
        code == 2 and "no space left" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    )


def test_disk_full_in_the_store_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import itprobe.study.store as store_module
    from itprobe.study import ResultsStore
    from itprobe.study.store import CellRecord

    def full(*args: Any, **kwargs: Any) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    with ResultsStore(tmp_path / "results.sqlite") as store:
        monkeypatch.setattr(store_module, "insert_rows", full)
        with pytest.raises(UserError, match="no space left"):
            store.write_cell(CellRecord("c", "baseline", "c", "", None, 0, "random", "", {}), run_id="r")


# ---- reports -----------------------------------------------------------------------------------------------


def test_a_symlinked_plots_folder_outside_is_one_line(tmp_path: Path) -> None:
    from itprobe.report.plots import plot_path

    out, outside = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    outside.mkdir()
    (out / "plots").symlink_to(outside)
    with pytest.raises(UserError, match="escapes the output directory"):
        plot_path(out, "accuracy")


# ---- configs and inputs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("# only a comment\n", "is empty"),
        ("name: a\nmodel: m\nname: b\n", "'name' is given twice"),
    ],
)
def test_bad_study_configs_are_refused(text: str, message: str, tmp_path: Path) -> None:
    from itprobe.study import load_config

    (tmp_path / "study.yaml").write_text(text)
    with pytest.raises(UserError, match=message):
        load_config(str(tmp_path / "study.yaml"), [])


def test_a_label_file_with_a_key_twice_is_refused(tmp_path: Path) -> None:
    from itprobe.tasks import read_label_file

    (tmp_path / "labels.yaml").write_text("t: [a, b]\nt: [c, d]\n")
    with pytest.raises(UserError, match="given twice"):
        read_label_file(tmp_path / "labels.yaml")


def test_a_second_output_column_in_a_csv_header_is_refused(tmp_path: Path) -> None:
    from itprobe.tasks import load_tasks

    (tmp_path / "t.csv").write_text("task,definition,input,output,output\nt,d,i,yes,no\nt,d,j,no,yes\n")
    with pytest.raises(UserError, match="'output' appears twice"):
        load_tasks(tmp_path / "t.csv")


def test_plan_honours_shard(tiny_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = {
        "name": "plan-shard",
        "model": str(tiny_dir),
        "data": {"source": "suite", "suite": {"families": ["parity", "primality"], "test_families": ["primality"],
                                              "instances_per_task": 4, "test_instances_per_task": 4}},
        "train_tasks": {"instances_per_task": [2]},
        "arms": {"train": [{}, {"definition": "simplified"}], "test": ["same"]},
        "eval": {"modes": ["rank"]},
    }  # fmt: skip
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(raw))
    args = ["run", str(tmp_path / "study.yaml"), "--out", str(tmp_path / "run"), "--plan"]
    counts = []
    for extra in ([], ["--shard", "0/2"], ["--shard", "1/2"]):
        code, out, _ = run_cli(capsys, *args, *extra)
        assert code == 0
        line = next(x for x in out.splitlines() if "cells to run" in x)
        counts.append(int(line.split(" of ")[1].split()[0]))
    assert counts[1] + counts[2] == counts[0] and 0 < counts[1] < counts[0]
