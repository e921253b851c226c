"""The results store: atomic cells, concurrent writers, resume after SIGKILL, shard + merge == unsharded."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_study_support import store_snapshot

from itprobe.errors import UserError
from itprobe.records import InstanceResult
from itprobe.study import CellRecord, ResultsStore, merge_stores
from itprobe.study.store import ArmNote

SUPPORT = Path(__file__).with_name("test_study_support.py")


def record(cell_id: str, n_rows: int = 3) -> CellRecord:
    rows = tuple(
        InstanceResult(
            "",
            "t",
            str(i),
            1.0,
            1.0,
            "Yes",
            ("Yes",),
            ("Yes", "No"),
            "cat",
            True,
            test_arm="original",
            mode="rank",
            rouge1=1.0,
        )
        for i in range(n_rows)
    )
    return CellRecord(cell_id, "trained", cell_id, "original", 2, 0, "", "m", {"id": cell_id}, rows=rows,
                      timings={"train": 1.0}, notes=(ArmNote("original", "t", "note"),))  # fmt: skip


def test_a_cell_round_trips_and_is_stored_once(tmp_path: Path) -> None:
    with ResultsStore.in_dir(tmp_path) as store:
        assert store.write_cell(record("a"), run_id="r1")
        assert not store.write_cell(record("a"), run_id="r2")
        (back,) = store.cells()
    assert back == dataclasses.replace(record("a"), run_id="r1")  # read back with the run that stored it


def test_a_failing_cell_leaves_nothing(tmp_path: Path) -> None:
    bad_rows = record("b").rows + record("b").rows  # duplicate primary keys fail in the middle of the insert
    broken = CellRecord("b", "trained", "b", "original", 2, 0, "", "m", {}, rows=bad_rows)
    with ResultsStore.in_dir(tmp_path) as store:
        with pytest.raises(Exception, match="UNIQUE"):
            store.write_cell(broken, run_id="r")
        assert store.done_cells() == set()
        assert store._conn.execute("SELECT COUNT(*) FROM predictions").fetchone()[0] == 0
        assert store.write_cell(record("b"), run_id="r")  # the store is still usable


WRITER = """
import sys
sys.path.insert(0, {tests!r})
from test_study_store import record
from itprobe.study import ResultsStore
with ResultsStore({path!r}) as store:
    for i in range({n}):
        store.write_cell(record(f"cell{{i % {distinct}}}", n_rows=50), run_id={tag!r})
"""


def test_two_processes_writing_one_store(tmp_path: Path) -> None:
    path = tmp_path / "results.sqlite"
    code = [WRITER.format(tests=str(SUPPORT.parent), path=str(path), n=60, distinct=40, tag=t) for t in "ab"]
    procs = [subprocess.Popen([sys.executable, "-c", c], stderr=subprocess.PIPE, text=True) for c in code]
    outcomes = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
    assert [rc for rc, _ in outcomes] == [0, 0], "\n".join(err for _, err in outcomes)
    with ResultsStore(path) as store:
        assert store.integrity_ok()
        cells = store.cells()
    assert sorted(c.cell_id for c in cells) == sorted(f"cell{i}" for i in range(40))
    assert all(len(c.rows) == 50 for c in cells)  # no cell half-written or written twice


def run_tiny(run_dir: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(SUPPORT), str(run_dir), *extra])


def test_resume_after_sigkill_in_the_middle_of_a_cell(tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    assert run_tiny(reference).wait(timeout=300) == 0
    killed = tmp_path / "killed"
    proc = run_tiny(killed, "--slow-train", "30")
    started = killed / "models"
    deadline = time.time() + 240
    while time.time() < deadline and not (started.exists() and any(started.glob("*/STARTED"))):
        time.sleep(0.2)
    time.sleep(1.0)  # well inside the 30 s training of the first trained cell
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = store_snapshot(killed)
    assert 0 < len(partial) < len(store_snapshot(reference))  # baselines and untuned finished, then the kill
    assert all(partial[k] == v for k, v in store_snapshot(reference).items() if k in partial)
    assert run_tiny(killed).wait(timeout=300) == 0
    assert store_snapshot(killed) == store_snapshot(reference)


def test_shards_merged_equal_the_unsharded_run(tmp_path: Path) -> None:
    whole = tmp_path / "whole"
    shards = [tmp_path / "s0", tmp_path / "s1"]
    procs = [run_tiny(whole), run_tiny(shards[0], "--shard", "0/2"), run_tiny(shards[1], "--shard", "1/2")]
    assert [p.wait(timeout=300) for p in procs] == [0, 0, 0]
    parts = [store_snapshot(s) for s in shards]
    assert parts[0] and parts[1] and not set(parts[0]) & set(parts[1])
    merged = tmp_path / "merged"
    outcome = merge_stores(merged, shards)
    assert (outcome.cells_copied, outcome.cells_present) == (12, 0)
    assert store_snapshot(merged) == store_snapshot(whole)
    again = merge_stores(merged, shards)  # idempotent
    assert (again.cells_copied, again.cells_present) == (0, 12)
    with pytest.raises(UserError, match="results.sqlite"):
        merge_stores(merged, [tmp_path / "absent"])
