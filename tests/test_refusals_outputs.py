"""Issue #27, group 3: outputs never destroy inputs, and stores of other runs are never mixed in
(docs/refusals.md). Each case is a one-line `UserError` (exit 2) with every file as it was."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from cli_runner import run_cli
from test_study_support import FakeEngine, tiny_raw

from itprobe.errors import UserError
from itprobe.study import RunOptions, merge_stores, run_study, validate_config

QUIET = RunOptions(progress=False, report=False)
SUPPORT = Path(__file__).parent / "test_study_support.py"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _one_line_exit_2(code: int, err: str) -> None:
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def _tasks_file(tmp_path: Path) -> Path:
    rows = [
        {"task": "t", "definition": "Say yes.", "input": f"q{i}", "output": "yes" if i % 2 else "no"}
        for i in range(4)
    ]
    path = tmp_path / "tasks.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_predict_refuses_to_write_over_its_task_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks = _tasks_file(tmp_path)
    before = _digest(tasks)
    code, _, err = run_cli(
        capsys, "predict", "--tasks", str(tasks), "--out", str(tmp_path / "." / "tasks.jsonl")
    )
    _one_line_exit_2(code, err)
    assert "is also an input" in err and _digest(tasks) == before


def test_audit_refuses_an_out_folder_holding_its_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    tasks = _tasks_file(folder)
    before = _digest(tasks)
    code, _, err = run_cli(capsys, "audit", "--tasks", str(tasks), "--out", str(folder), "--no-progress")
    _one_line_exit_2(code, err)
    assert "holds an input" in err and _digest(tasks) == before and sorted(folder.iterdir()) == [tasks]


def test_data_convert_refuses_to_write_over_its_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks = _tasks_file(tmp_path)
    before = _digest(tasks)
    code, _, err = run_cli(capsys, "data", "convert", str(tasks), str(tasks))
    _one_line_exit_2(code, err)
    assert _digest(tasks) == before


# ---- studies ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("tiny") / "run"
    run_study(validate_config(tiny_raw()), run_dir, options=QUIET, engine=FakeEngine())
    return run_dir


def _other_test_family(raw: dict) -> None:
    raw["data"]["suite"]["test_families"] = ["parity"]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda raw: raw.update(name="other"), "study 'other', not 'tiny'"),
        (lambda raw: raw.update(model="another-base"), "model another-base, not fake-base"),
        (_other_test_family, "other test tasks"),
    ],
)
def test_merge_refuses_stores_of_another_study(change: Any, why: str, tiny_run: Path, tmp_path: Path) -> None:
    raw = tiny_raw()
    change(raw)
    other = tmp_path / "other"
    run_study(validate_config(raw), other, options=QUIET, engine=FakeEngine())
    with pytest.raises(UserError, match=why) as err:
        merge_stores(tmp_path / "merged", [tiny_run, other])
    assert "\n" not in str(err.value) and not (tmp_path / "merged").exists()
    target = tmp_path / "target"
    shutil.copytree(tiny_run, target)
    before = _digest(target / "results.sqlite")
    with pytest.raises(UserError, match=why):
        merge_stores(target, [other])
    assert _digest(target / "results.sqlite") == before


def _checkpointed_copy(run_dir: Path, dest: Path) -> Path:
    shutil.copytree(run_dir, dest)
    with sqlite3.connect(dest / "results.sqlite") as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return dest


def test_run_refuses_a_scrambled_store(tiny_run: Path, tmp_path: Path) -> None:
    run_dir = _checkpointed_copy(tiny_run, tmp_path / "run")
    store = run_dir / "results.sqlite"
    with sqlite3.connect(store) as con:  # the answers' tables; the cells table still lists every cell done
        roots = [
            r
            for (r,) in con.execute(
                "SELECT rootpage FROM sqlite_master WHERE name IN ('predictions', 'scores')"
            )
        ]
        page = con.execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(store.read_bytes())
    rng = random.Random(0)
    for root in roots:
        chunk = data[(root - 1) * page : root * page]
        rng.shuffle(chunk)
        data[(root - 1) * page : root * page] = chunk
    store.write_bytes(bytes(data))
    before = _digest(store)
    with pytest.raises(UserError, match="results.sqlite") as err:
        run_study(validate_config(tiny_raw()), run_dir, options=QUIET, engine=FakeEngine())
    assert "\n" not in str(err.value) and _digest(store) == before


def test_a_store_of_an_unknown_schema_version_is_refused(tiny_run: Path, tmp_path: Path) -> None:
    run_dir = _checkpointed_copy(tiny_run, tmp_path / "run")
    with sqlite3.connect(run_dir / "results.sqlite") as con:
        con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(UserError, match="schema version '99'"):
        run_study(validate_config(tiny_raw()), run_dir, options=QUIET, engine=FakeEngine())


def test_a_second_run_on_a_folder_in_use_is_one_line(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    first = subprocess.Popen([sys.executable, str(SUPPORT), str(run_dir), "--slow-train", "20"])
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not any((run_dir / "models").glob("*/STARTED")):
            time.sleep(0.2)
        with pytest.raises(UserError, match="this run folder .* is in use") as err:
            run_study(validate_config(tiny_raw()), run_dir, options=QUIET, engine=FakeEngine())
        assert "\n" not in str(err.value)
    finally:
        first.kill()
        first.wait()


def test_predict_refuses_to_overwrite_a_file_of_its_input_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    tasks = _tasks_file(folder).rename(folder / "test_tasks.jsonl")  # a data folder's test file
    before = _digest(tasks)
    code, _, err = run_cli(capsys, "predict", "--tasks", str(folder), "--out", str(tasks))
    _one_line_exit_2(code, err)
    assert "part of the input folder" in err and _digest(tasks) == before
