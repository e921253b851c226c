"""Output spaces: normalisation, detection, precedence (file > declared > detected), the 56 test tasks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from itprobe.errors import UserError
from itprobe.tasks import (
    Instance,
    OutputSpace,
    Task,
    detect_output_space,
    load_references,
    load_tasks,
    normalize_label,
)
from itprobe.tasks.spaces import assign_output_spaces, read_label_file


def _instances(*outputs: tuple[str, ...]) -> tuple[Instance, ...]:
    return tuple(Instance(str(i), "x", o) for i, o in enumerate(outputs))


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("Yes.", "yes"),
        ("  No  ", "no"),
        ("E.", "e"),
        ("yes..", "yes."),
        ("a. ", "a"),
        ("Mr. X", "mr. x"),
        ("", ""),
    ],
)
def test_normalize_label(raw: str, normalised: str) -> None:
    assert normalize_label(raw) == normalised


def test_detects_labels_keeping_first_spelling() -> None:
    space = detect_output_space(_instances(("Yes.",), ("no",), ("yes",), ("No",)))
    assert space == OutputSpace(
        ("Yes.", "no"),
        "detected",
        "max_labels=10; single reference; a label repeats; normalised: lower/strip/trailing-period",
    )


def test_not_classification() -> None:
    assert detect_output_space(_instances(("a",), ("b", "B"), ("a",))) is None  # two references
    many = _instances(*[(str(i % 11),) for i in range(30)])
    assert detect_output_space(many) is None  # 11 labels > 10
    assert detect_output_space(many, max_labels=11) is not None
    assert detect_output_space(_instances(("a",), ("a",))) is None  # one label is no label set
    assert detect_output_space(_instances(("a",), ("b",), ("c",))) is None  # all distinct
    assert detect_output_space(_instances(("a",), ("b",), ("a",)), max_labels=0) is None  # disabled
    assert detect_output_space(()) is None


def test_precedence_file_over_declared_over_detected(tmp_path: Path) -> None:
    inst = _instances(("x",), ("y",), ("x",))
    declared = Task("d", "def", inst, output_space=OutputSpace(("y", "x", "q"), "declared"))
    plain = Task("p", "def", inst)
    assert assign_output_spaces([declared])[0].output_space == declared.output_space
    assert assign_output_spaces([plain])[0].output_space.labels == ("x", "y")  # type: ignore[union-attr]
    labels = {"d": ["x", "y", "L"], "unrelated": ["z"]}
    got = assign_output_spaces([declared, plain], labels=labels, label_source="labels.yaml")
    assert got[0].output_space == OutputSpace(("x", "y", "L"), "file", "labels.yaml")
    assert got[1].output_space is not None and got[1].output_space.rule == "detected"


def test_label_file_json_and_yaml(tmp_path: Path) -> None:
    (tmp_path / "l.json").write_text(json.dumps({"t": ["a", "b"]}))
    (tmp_path / "l.yaml").write_text("t:\n  - a\n  - b\n")
    assert read_label_file(tmp_path / "l.json") == read_label_file(tmp_path / "l.yaml") == {"t": ("a", "b")}
    (tmp_path / "bad.yaml").write_text("t: [a, b\n")
    with pytest.raises(UserError, match=r"bad.yaml:\d+: malformed YAML"):
        read_label_file(tmp_path / "bad.yaml")
    (tmp_path / "wrong.yaml").write_text("t: a\n")
    with pytest.raises(UserError, match="field 't': expected a non-empty list"):
        read_label_file(tmp_path / "wrong.yaml")


def test_label_file_through_load_tasks(tmp_path: Path) -> None:
    rows = "".join(
        json.dumps({"task": "t", "definition": "d", "input": str(i), "output": o}) + "\n"
        for i, o in enumerate("aba")
    )
    (tmp_path / "rows.jsonl").write_text(rows)
    (tmp_path / "labels.json").write_text(json.dumps({"t": ["a", "b", "c"]}))
    (task,) = load_tasks(tmp_path / "rows.jsonl", label_file=tmp_path / "labels.json")
    assert task.output_space == OutputSpace(("a", "b", "c"), "file", str(tmp_path / "labels.json"))


def _classification_file(natinst_dir: Path) -> dict[str, set[str]]:
    """task -> normalised labels, from the TSV's 4th column ("he:31 | her:25 | ...")."""
    out = {}
    for line in (natinst_dir / "classification_test_tasks.txt").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        cols = line.split("\t")
        out[cols[0]] = {item.rsplit(":", 1)[0].strip() for item in cols[3].split(" | ")}
    return out


def test_default_rule_finds_the_56_classification_tasks(natinst_dir: Path) -> None:
    expected = _classification_file(natinst_dir)
    assert len(expected) == 56
    tasks = load_references(natinst_dir / "test_references.jsonl.gz")
    found = {t.name: t.output_space for t in tasks if t.is_classification}
    assert set(found) == set(expected)
    for name, space in found.items():
        assert space is not None and space.rule == "detected"
        assert {normalize_label(label) for label in space.labels} == expected[name], name
        assert len(space.labels) == len(expected[name])  # one spelling per normalised label
    # a lower threshold keeps only tasks with few enough labels
    two = {
        t.name
        for t in load_references(natinst_dir / "test_references.jsonl.gz", max_labels=2)
        if t.is_classification
    }
    assert two == {n for n, labels in expected.items() if len(labels) == 2}
