"""The user format's label sets and CSV edge cases (issue #16, items 6, 7 and 12)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from itprobe.errors import UserError
from itprobe.tasks import load_tasks


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rows.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_json_list_labels_cell_keeps_a_pipe_inside_a_label(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        'task,definition,input,output,labels\nt,Pick one.,x,a|b,"[""a|b"", ""c""]"\nt,,y,c,\nt,,z,a|b,\n',
    )
    (task,) = load_tasks(path)
    assert task.output_space is not None and task.output_space.labels == ("a|b", "c")


def test_a_label_set_that_misses_a_gold_answer_is_refused(tmp_path: Path) -> None:
    path = _csv(tmp_path, "task,definition,input,output,labels\nt,Pick one.,x,a|b,a|b|c\nt,,y,c,\n")
    with pytest.raises(UserError) as info:
        load_tasks(path)
    err = info.value
    assert (err.line, err.field) == (2, "labels")
    assert "'a|b'" in str(err) and "JSON list" in str(err)


def test_label_coverage_is_checked_in_json_lines_too(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    rows = [
        {"task": "t", "definition": "d", "input": "x", "output": "yes", "labels": ["yes", "no"]},
        {"task": "t", "input": "y", "output": "maybe"},
        {"task": "t", "input": "z", "output": ["maybe", "perhaps"]},  # several references: free text
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(UserError, match="'maybe'") as info:
        load_tasks(path)
    assert info.value.line == 2


def test_label_coverage_uses_the_label_normalisation(tmp_path: Path) -> None:
    path = _csv(tmp_path, "task,definition,input,output,labels\nt,d,x,Yes.,yes|no\nt,,y,NO,\n")
    (task,) = load_tasks(path)
    assert task.output_space is not None and task.output_space.labels == ("yes", "no")


@pytest.mark.parametrize("cell", ['"[1, 2]"', '"[""a"""', '"[]"'])
def test_a_bad_json_labels_cell_is_one_error(tmp_path: Path, cell: str) -> None:
    path = _csv(tmp_path, f"task,definition,input,output,labels\nt,d,x,a,{cell}\n")
    with pytest.raises(UserError) as info:
        load_tasks(path)
    assert (info.value.line, info.value.field) == (2, "labels")


def test_an_unterminated_quote_names_the_line_it_opens_on(tmp_path: Path) -> None:
    path = _csv(tmp_path, 'task,definition,input,output\nt,d,ok,yes\nt,,"never closed,no\nt,,third,yes\n')
    with pytest.raises(UserError) as info:
        load_tasks(path)
    assert info.value.line == 3 and "quote" in str(info.value) and "never closed" in str(info.value)


def test_csv_and_jsonl_accept_the_same_long_field(tmp_path: Path) -> None:
    long_input = "word " * 60_000  # 300 kB, beyond the csv module's default 128 KiB field limit
    path = _csv(tmp_path, f"task,definition,input,output\nt,d,{long_input},yes\n")
    (task,) = load_tasks(path)
    jsonl = tmp_path / "rows.jsonl"
    jsonl.write_text(
        json.dumps({"task": "t", "definition": "d", "input": long_input, "output": "yes"}) + "\n"
    )
    (same,) = load_tasks(jsonl)
    assert task.instances == same.instances
