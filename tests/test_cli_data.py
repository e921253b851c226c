"""``itprobe data info|convert|suite`` through the real entry point (`itprobe.cli.main`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import run_cli as _run

from itprobe.tasks import load_tasks

TASK = {
    "name": "task1_toy",
    "definition": "Answer yes or no.",
    "positive_examples": [{"input": "a", "output": "yes", "explanation": ""}],
    "categories": ["Toy"],
    "instances": [
        {"id": str(i), "input": str(i), "output": [o]} for i, o in enumerate(["yes", "no", "Yes."])
    ],
}


def test_info_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(
        json.dumps(TASK) + "\n" + json.dumps({**TASK, "name": "task2_other", "categories": []}) + "\n"
    )
    code, out, _ = _run(capsys, "data", "info", str(path), "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["format"] == "compact" and doc["n_tasks"] == 2 and doc["n_instances"] == 6
    assert doc["n_positive_examples"] == 2 and doc["n_negative_examples"] == 0
    assert doc["categories"] == {"Toy": 1, "(none)": 1}
    assert doc["n_classification"] == 2 and doc["classification"][0]["labels"] == ["yes", "no"]
    assert (
        doc["classification"][0]["rule"] == "detected"
        and "max_labels=10" in doc["classification"][0]["detail"]
    )
    _, out, _ = _run(capsys, "data", "info", str(path), "--json", "--max-labels", "1", "--task", "task2")
    doc = json.loads(out)
    assert doc["n_tasks"] == 1 and doc["n_classification"] == 0 and doc["max_labels"] == 1


def test_info_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(TASK) + "\n")
    code, out, _ = _run(capsys, "data", "info", str(path))
    assert code == 0
    assert (
        "Classification tasks" in out and "task1_toy" in out and "yes | no" in out and "rule detected" in out
    )


def test_info_references_finds_56(natinst_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "data", "info", str(natinst_dir / "test_references.jsonl.gz"), "--json")
    doc = json.loads(out)
    assert code == 0 and doc["format"] == "references"
    assert (doc["n_tasks"], doc["n_instances"], doc["n_classification"]) == (119, 11810, 56)


def test_info_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(TASK) + "\n{oops\n")
    code, out, err = _run(capsys, "data", "info", str(path))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"itprobe: error: {path}:2: malformed JSON")
    path.write_text(json.dumps(TASK) + "\n")
    code, _, err = _run(capsys, "data", "info", str(path), "--task", "task1_toyy")
    assert code == 2 and "did you mean: task1_toy" in err


def test_convert_official_to_compact(
    golden_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, dst = golden_dir / "official_layout", tmp_path / "out" / "train.jsonl.gz"
    code, _, err = _run(capsys, "data", "convert", str(src), str(dst), "--split", "default/train")
    assert code == 0 and "wrote 5 tasks (25 instances)" in err
    assert load_tasks(dst) == load_tasks(src, split="default/train")
    assert load_tasks(dst, max_labels=3) == load_tasks(
        src, split="default/train", max_labels=3
    )  # re-detected
    assert [p.name for p in dst.parent.iterdir()] == ["train.jsonl.gz"]


def test_convert_bad_input_leaves_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "src.jsonl"
    src.write_text(json.dumps(TASK) + "\n" + json.dumps({**TASK, "name": "task2", "instances": []}) + "\n")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, _, err = _run(capsys, "data", "convert", str(src), str(out_dir / "dst.jsonl"))
    assert code == 2 and err.count("\n") == 1
    assert f"{src}:2 field 'instances': the task has no instances" in err
    assert list(out_dir.iterdir()) == []
    code, _, err = _run(capsys, "data", "convert", str(tmp_path / "absent.jsonl"), str(out_dir / "dst.jsonl"))
    assert code == 2 and "no such file" in err and list(out_dir.iterdir()) == []
    code, _, err = _run(capsys, "data", "convert", str(src), str(out_dir))
    assert code == 2 and "is a directory" in err


def test_convert_keeps_existing_file_on_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dst = tmp_path / "dst.jsonl"
    dst.write_text("previous\n")
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"task,definition,input,output\nt,d,\xff,y\n")
    code, _, err = _run(capsys, "data", "convert", str(bad), str(dst))
    assert code == 2 and f"{bad}:2: not valid UTF-8" in err
    assert dst.read_text() == "previous\n" and sorted(p.name for p in tmp_path.iterdir()) == [
        "bad.csv",
        "dst.jsonl",
    ]


def test_suite_calls_write_suite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def write_suite(out_dir: Path, seed: int = 0) -> dict[str, Path]:
        calls.append((Path(out_dir), seed))
        return {"train": Path(out_dir) / "train_tasks.jsonl", "test": Path(out_dir) / "test_tasks.jsonl"}

    import itprobe.cli.data

    monkeypatch.setattr(itprobe.cli.data, "write_suite", write_suite)
    code, out, _ = _run(capsys, "data", "suite", "--out", str(tmp_path), "--seed", "3")
    assert code == 0 and calls == [(tmp_path, 3)]
    assert out.splitlines() == [
        f"train: {tmp_path / 'train_tasks.jsonl'}",
        f"test: {tmp_path / 'test_tasks.jsonl'}",
    ]


def test_suite_real(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "data", "suite", "--out", str(tmp_path), "--seed", "0")
    assert code == 0, err
    assert load_tasks(tmp_path / "train_tasks.jsonl") and load_tasks(tmp_path / "test_tasks.jsonl")
