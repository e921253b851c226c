"""A corrupt, foreign or half-copied results store: one line naming the file, no traceback, nothing created
(issue #16, items 5 and 12)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from cli_runner import run_cli
from test_study_store import record

from itprobe.study import ResultsStore

GARBAGE = b"this is not an sqlite database\n" * 200


def _corrupt_run(tmp_path: Path) -> Path:
    run = tmp_path / "corrupt"
    run.mkdir()
    (run / "results.sqlite").write_bytes(GARBAGE)
    return run


def _good_run(tmp_path: Path, name: str = "good") -> Path:
    run = tmp_path / name
    with ResultsStore.in_dir(run) as store:
        store.record_run("r1", config_hash="h", config_json="{}", model_identity="m", host="h", shard="")
        store.write_cell(record("a"), run_id="r1")
    return run


def _one_line(err: str, out: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err + out, err
    return lines[0]


def test_report_of_a_corrupt_store(capsys, tmp_path: Path) -> None:
    run = _corrupt_run(tmp_path)
    code, out, err = run_cli(capsys, "report", str(run))
    line = _one_line(err, out)
    assert code == 2 and str(run / "results.sqlite") in line and "not a readable results store" in line


def test_run_into_a_corrupt_store(capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run = _corrupt_run(tmp_path)
    config = tmp_path / "s.yaml"
    config.write_text(yaml.safe_dump({"name": "s", "data": {"source": "suite"}}))
    code, out, err = run_cli(capsys, "run", str(config), "--out", str(run), "--no-progress")
    line = _one_line(err, out)
    assert code == 2 and "results.sqlite" in line and "not a readable results store" in line


def test_merge_from_a_corrupt_source_creates_nothing(capsys, tmp_path: Path) -> None:
    good, bad = _good_run(tmp_path), _corrupt_run(tmp_path)
    target = tmp_path / "merged"
    code, out, err = run_cli(capsys, "merge", str(target), str(good), str(bad))
    line = _one_line(err, out)
    assert code == 2 and str(bad / "results.sqlite") in line
    assert not target.exists()


def test_merge_into_an_existing_folder_removes_only_what_it_created(capsys, tmp_path: Path) -> None:
    target = tmp_path / "merged"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    code, _, _ = run_cli(capsys, "merge", str(target), str(_good_run(tmp_path)), str(_corrupt_run(tmp_path)))
    assert code == 2 and sorted(p.name for p in target.iterdir()) == ["keep.txt"]


def test_a_foreign_sqlite_file_is_not_turned_into_a_store(capsys, tmp_path: Path) -> None:
    import sqlite3

    run = tmp_path / "foreign"
    run.mkdir()
    with sqlite3.connect(run / "results.sqlite") as con:
        con.execute("CREATE TABLE predictions (key TEXT PRIMARY KEY, value TEXT)")
    code, out, err = run_cli(capsys, "report", str(run))
    assert code == 2 and "not an itprobe results store" in _one_line(err, out)
    with sqlite3.connect(run / "results.sqlite") as con:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"predictions"}  # left as it was


def test_cells_reach_the_main_file_without_waiting_for_the_end_of_the_run(tmp_path: Path) -> None:
    """A store copied without its -wal file (while a run is going on, or after a kill) keeps its cells."""
    run = tmp_path / "live"
    store = ResultsStore.in_dir(run)
    try:
        store.record_run("r1", config_hash="h", config_json="{}", model_identity="m", host="h", shard="")
        store.write_cell(record("a"), run_id="r1")
        copy = tmp_path / "copy"
        copy.mkdir()
        shutil.copyfile(run / "results.sqlite", copy / "results.sqlite")  # the -wal file left behind
    finally:
        store.close()
    with ResultsStore.in_dir(copy) as copied:
        assert copied.done_cells() == {"a"} and len(copied.runs()) == 1


def test_a_store_without_runs_says_to_copy_the_whole_run_folder(capsys, tmp_path: Path) -> None:
    run = tmp_path / "empty"
    ResultsStore.in_dir(run).close()
    code, out, err = run_cli(capsys, "report", str(run))
    line = _one_line(err, out)
    assert code == 2 and "results.sqlite-wal" in line and "whole run folder" in line


def test_a_merge_failing_half_way_removes_the_store_it_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from itprobe.errors import UserError
    from itprobe.study import merge_stores

    sources = [_good_run(tmp_path, "s0"), _good_run(tmp_path, "s1")]
    target = tmp_path / "merged"
    target.mkdir()

    def fail(*args, **kwargs):
        raise UserError("disk full")

    monkeypatch.setattr(ResultsStore, "write_cell", fail)
    with pytest.raises(UserError, match="disk full"):
        merge_stores(target, sources)
    assert list(target.iterdir()) == []
    with pytest.raises(UserError, match="disk full"):
        merge_stores(tmp_path / "new", sources)
    assert not (tmp_path / "new").exists()
