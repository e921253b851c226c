"""`itprobe.fsio.write_jsonl` / `read_jsonl`: the one JSON Lines writer (atomic, one permission rule,
gzip by name) and reader (errors name the line)."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from itprobe.errors import UserError
from itprobe.fsio import file_mode, read_jsonl, write_jsonl

ROWS = [{"a": 1, "text": "ü"}, {"a": 2, "text": ""}]


@pytest.mark.parametrize("name", ["rows.jsonl", "rows.jsonl.gz"])
def test_round_trip_mode_and_no_temporary(tmp_path: Path, name: str) -> None:
    path = write_jsonl(tmp_path / name, ROWS)
    assert [obj for _, obj in read_jsonl(path)] == ROWS
    assert os.stat(path).st_mode & 0o777 == file_mode()
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
    if name.endswith(".gz"):
        assert gzip.decompress(path.read_bytes()).decode().splitlines()[0] == '{"a": 1, "text": "ü"}'


def test_a_failed_write_leaves_the_target_untouched(tmp_path: Path) -> None:
    target = tmp_path / "rows.jsonl"
    target.write_text("old\n")

    def rows():
        yield ROWS[0]
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_jsonl(target, rows())
    assert target.read_text() == "old\n" and sorted(p.name for p in tmp_path.iterdir()) == ["rows.jsonl"]


def test_read_errors_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"a": 1}\n\n[1]\n')
    with pytest.raises(UserError, match=r"bad.jsonl:3: expected a JSON object"):
        list(read_jsonl(bad))
