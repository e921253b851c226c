"""Bad input: every case is one `UserError` naming the file, the line and the field (never a traceback)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from itprobe.errors import UserError
from itprobe.tasks import load_references, load_tasks

GOOD = {"name": "task1_a", "definition": "d", "instances": [{"id": "1", "input": "x", "output": ["y"]}]}


def _with(**changes) -> str:
    rec = {**GOOD, **changes}
    return json.dumps({k: v for k, v in rec.items() if v is not ...})


def _error(path: Path, **kwargs) -> UserError:
    with pytest.raises(UserError) as info:
        load_tasks(path, **kwargs)
    return info.value


@pytest.mark.parametrize(
    ("second_line", "field", "message"),
    [
        ('{"name": "task2", "definition": ', None, "malformed JSON"),
        ("[1, 2]", None, "expected a JSON object, got list"),
        (_with(instances=...), "instances", "required field is missing"),
        (_with(definition=...), "definition", "required field is missing"),
        (_with(name=3), "name", "valid string (got int)"),
        (
            _with(instances=[{"id": "1", "input": "x", "output": 5}]),
            "instances[0].output",
            "valid list (got int)",
        ),
        (
            _with(instances=[{"id": "1", "input": "x", "output": ["y", 2]}]),
            "instances[0].output[1]",
            "valid string",
        ),
        (
            _with(instances=[{"id": 1, "input": "x", "output": ["y"]}]),
            "instances[0].id",
            "valid string (got int)",
        ),
        (_with(instances=[{"id": "1", "output": ["y"]}]), "instances[0].input", "required field is missing"),
        (_with(instances=[]), "instances", "the task has no instances"),
        (
            _with(instances=[{"id": "1", "input": "x", "output": []}]),
            "instances[0].output",
            "no reference output",
        ),
        (_with(output_space=[]), "output_space.labels", "at least 1 item"),
        (_with(output_space=[1]), "output_space.labels[0]", "valid string"),
        (_with(meta={"k": 1}), "meta.k", "valid string"),
        (_with(negation={"definition": "n"}), "negation.label_map", "required field is missing"),
        (_with(name="task0_first"), "name", "duplicate task name"),
        (
            _with(
                instances=[
                    {"id": "1", "input": "x", "output": ["y"]},
                    {"id": "1", "input": "z", "output": ["y"]},
                ]
            ),
            "instances[1].id",
            "duplicate instance id",
        ),
    ],
)
def test_compact_bad_record(tmp_path: Path, second_line: str, field: str | None, message: str) -> None:
    path = tmp_path / "tasks.jsonl"
    path.write_text(_with(name="task0_first") + "\n\n" + second_line + "\n")  # the bad record is on line 3
    err = _error(path)
    assert (err.path, err.line, err.field) == (str(path), 3, field)
    assert message in str(err)
    assert str(err).startswith(f"{path}:3")
    assert "\n" not in str(err)


def test_non_utf8(tmp_path: Path) -> None:
    path = tmp_path / "tasks.jsonl"
    path.write_bytes(
        _with().encode() + b"\n" + _with(name="cafe").replace("cafe", "caf\xe9").encode("latin-1") + b"\n"
    )
    err = _error(path)
    assert err.line == 2 and "not valid UTF-8 (byte 0xe9)" in str(err)
    gz = tmp_path / "tasks.jsonl.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert _error(gz).line == 2


@pytest.mark.parametrize("content", [b"", b"\n  \n"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "tasks.jsonl"
    path.write_bytes(content)
    assert "the file is empty" in str(_error(path))


def test_not_gzip_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "tasks.jsonl.gz"
    path.write_text(_with())
    assert "cannot read the file" in str(_error(path))
    assert "no such file" in str(_error(tmp_path / "absent.jsonl"))


def test_unknown_record_format(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"question": "q"}\n')
    err = _error(path)
    assert err.line == 1 and "unknown record format" in str(err) and "question" in str(err)


def test_unknown_task_name_lists_near_matches(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(_with(name="task1529_scitail1.1_classification") + "\n")
    err = _error(path, names=["task1529_scitail"])
    assert "unknown task 'task1529_scitail'" in str(
        err
    ) and "did you mean: task1529_scitail1.1_classification" in str(err)
    assert err.path == str(path)


def test_missing_split_files(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(_with() + "\n")
    err = _error(path, split="test")
    assert "missing split file" in str(err) and err.path == str(tmp_path / "test_tasks.txt")
    root = tmp_path / "ni"
    (root / "tasks").mkdir(parents=True)
    (root / "splits" / "default").mkdir(parents=True)
    (root / "splits" / "default" / "train_tasks.txt").write_text("t\n")
    err = _error(root, split="default/test")
    assert "missing split file" in str(err) and "available: default/train" in str(err)
    assert "must end in /train or /test" in str(_error(root, split="default/dev"))
    assert "neither a NatInst checkout" in str(_error(tmp_path, split="test"))


def _checkout(tmp_path: Path, task_text: str, listed: str = "task1_a") -> Path:
    root = tmp_path / "ni"
    (root / "tasks").mkdir(parents=True)
    (root / "splits" / "default").mkdir(parents=True)
    (root / "splits" / "default" / "test_tasks.txt").write_text(f"{listed}\n")
    (root / "tasks" / "task1_a.json").write_text(task_text)
    return root


@pytest.mark.parametrize(
    ("task_text", "line", "field", "message"),
    [
        ('{\n  "Definition": ["d"],\n  "Instances": [\n}', 4, None, "malformed JSON"),
        (
            '{"Instances": [{"id": "1", "input": "x", "output": ["y"]}]}',
            None,
            "Definition",
            "required field is missing",
        ),
        ('{"Definition": ["d"], "Instances": {"id": "1"}}', None, "Instances", "valid list (got dict)"),
        ('{"Definition": ["d"], "Instances": []}', None, "Instances", "the task has no instances"),
        (
            '{"Definition": [], "Instances": [{"id": "1", "input": "x", "output": ["y"]}]}',
            None,
            "Definition",
            "at least 1",
        ),
    ],
)
def test_official_bad_task_file(
    tmp_path: Path, task_text: str, line: int | None, field: str | None, message: str
) -> None:
    root = _checkout(tmp_path, task_text)
    err = _error(root)
    assert (err.path, err.line, err.field) == (str(root / "tasks" / "task1_a.json"), line, field)
    assert message in str(err)


def test_official_listed_task_missing(tmp_path: Path) -> None:
    root = _checkout(tmp_path, "{}", listed="task1_a\ntask2_absent")
    (root / "tasks" / "task1_a.json").write_text(
        '{"Definition": "d", "Instances": [{"id": "1", "input": "", "output": "y"}]}'
    )
    err = _error(root)
    assert err.line == 2 and "task2_absent" in str(err) and err.path.endswith("test_tasks.txt")
    assert [t.name for t in load_tasks(root, names=["task1_a"])] == ["task1_a"]
    assert "did you mean: task1_a" in str(_error(root, names=["task1_b"]))


@pytest.mark.parametrize(
    ("csv_text", "line", "field", "message"),
    [
        ("task,definition,input\nt,d,x\n", 1, "output", "missing column"),
        ("task,definition,input,output\nt,d,x,y\nt,,x2,\n", 3, "output", "required field is missing"),
        (
            "task,definition,input,output\nt,d,x,y\nt,other,x2,y\n",
            3,
            "definition",
            "differs from the task's earlier rows",
        ),
        ("task,definition,input,output,role\nt,d,x,y,positive\n", 2, "role", "has no instances"),
        ("task,definition,input,output,role\nt,d,x,y,demo\n", 2, "role", "Input should be 'instance'"),
        ("task,definition,input,output\nt,,x,y\n", 2, "definition", "no definition in any row"),
        ("task,definition,input,output,id\nt,d,x,y,a\nt,d,x,y,a\n", 3, "id", "duplicate instance id"),
        ("task,definition,input,output\nt,d,x,y,extra\n", 2, None, "more cells than header columns"),
    ],
)
def test_user_csv_bad_rows(tmp_path: Path, csv_text: str, line: int, field: str | None, message: str) -> None:
    path = tmp_path / "rows.csv"
    path.write_text(csv_text)
    err = _error(path)
    assert (err.path, err.line, err.field) == (str(path), line, field)
    assert message in str(err)


def test_user_csv_non_utf8_and_empty(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_bytes(b"task,definition,input,output\nt,d,x,y\nt,d,\xff,y\n")
    err = _error(path)
    assert err.line == 3 and "not valid UTF-8" in str(err)
    path.write_bytes(b"")
    assert "the file is empty" in str(_error(path))


def test_user_jsonl_wrong_type(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text(
        '{"task": "t", "definition": "d", "input": "x", "output": "y"}\n{"task": "t", "input": 7, "output": "y"}\n'
    )
    err = _error(path)
    assert (err.line, err.field) == (2, "input") and "valid string (got int)" in str(err)


def test_references_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "refs.jsonl"
    path.write_text('{"id": "a", "references": ["x"], "task_id": "t"}\n{"id": "b", "task_id": "t"}\n')
    with pytest.raises(UserError) as info:
        load_references(path)
    assert (info.value.line, info.value.field) == (2, "references")
    path.write_text('{"id": "a", "references": [], "task_id": "t"}\n')
    with pytest.raises(UserError, match="no reference output"):
        load_references(path)


def test_bad_max_instances(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(_with() + "\n")
    assert "max_instances" in str(_error(path, max_instances=0))
