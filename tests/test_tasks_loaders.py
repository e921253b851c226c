"""Loaders: compact JSONL(.gz), official checkout, simple user JSONL/CSV, reference file, selection."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from itprobe.errors import UserError
from itprobe.tasks import (
    Contrast,
    Example,
    Instance,
    Negation,
    OutputSpace,
    detect_format,
    load_references,
    load_tasks,
)


def _compact(name: str, outputs: list, **extra) -> dict:
    return {
        "name": name,
        "definition": f"Definition of {name}.",
        "positive_examples": [{"input": "pi", "output": "po", "explanation": "pe"}],
        "negative_examples": [{"input": "ni", "output": "no"}],
        "categories": ["Cat A"],
        "instances": [{"id": f"{name}-{i}", "input": f"in {i}", "output": o} for i, o in enumerate(outputs)],
        **extra,
    }


def _write_jsonl(path: Path, records: list[dict]) -> Path:
    text = "".join(json.dumps(r) + "\n" for r in records)
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _write_checkout(root: Path, tasks: dict[str, dict], split: dict[str, list[str]]) -> Path:
    (root / "tasks").mkdir(parents=True)
    for name, data in tasks.items():
        (root / "tasks" / f"{name}.json").write_text(json.dumps(data, indent=4), encoding="utf-8")
    for part, names in split.items():
        folder = root / "splits" / "default"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{part}_tasks.txt").write_text("\n".join(names) + "\n")
    return root


def _official(n: int = 3, outputs: list | None = None) -> dict:
    outputs = outputs or [[f"out {i}"] for i in range(n)]
    return {
        "Contributors": ["someone"],
        "Source": [["src"]],
        "Categories": ["Sentiment Analysis"],
        "Definition": ["First definition.", "Second definition."],
        "Positive Examples": [{"input": "a", "output": "b", "explanation": "c"}],
        "Negative Examples": ["-"],
        "Instances": [{"id": f"t-{i}", "input": f"x{i}", "output": o} for i, o in enumerate(outputs)],
        "Instance License": ["MIT"],
    }


def test_compact_fields_and_extensions(tmp_path: Path) -> None:
    rec = _compact(
        "task1_yes_no",
        [["yes"], "no", ["yes", "Yes!"]],
        output_space=["yes", "no"],
        negation={"definition": "Say the opposite.", "label_map": {"yes": "no", "no": "yes"}},
        contrast={"group": "g1", "side": "a"},
        meta={"family": "toy"},
        source=["s1", "s2"],
        num_instances_total=3,
        nested={"k": 1},
    )
    (task,) = load_tasks(_write_jsonl(tmp_path / "t.jsonl", [rec]))
    assert task.name == "task1_yes_no" and task.definition == "Definition of task1_yes_no."
    assert task.instances[1] == Instance("task1_yes_no-1", "in 1", ("no",))
    assert task.instances[2].outputs == ("yes", "Yes!")
    assert task.positive_examples == (Example("pi", "po", "pe"),)
    assert task.negative_examples == (Example("ni", "no", ""),)
    assert task.categories == ("Cat A",) and task.category == "Cat A"
    assert task.output_space == OutputSpace(("yes", "no"), "declared", "")
    assert task.negation == Negation("Say the opposite.", (("yes", "no"), ("no", "yes")))
    assert task.contrast == Contrast("g1", "a")
    # unknown keys are kept as strings; the explicit meta mapping comes after them
    assert dict(task.meta) == {
        "source": "s1; s2",
        "num_instances_total": "3",
        "nested": '{"k": 1}',
        "family": "toy",
    }


def test_compact_gzip_equals_plain(tmp_path: Path) -> None:
    recs = [_compact("a", [["1"], ["2"]]), _compact("b", [["x"]])]
    plain = load_tasks(_write_jsonl(tmp_path / "t.jsonl", recs))
    gz = load_tasks(_write_jsonl(tmp_path / "t.jsonl.gz", recs))
    assert plain == gz and [t.name for t in plain] == ["a", "b"]


def test_natinst_compact_files(natinst_dir: Path) -> None:
    test = load_tasks(natinst_dir / "test_tasks.jsonl.gz")
    assert len(test) == 103 and sum(len(t.instances) for t in test) == 10210
    assert test[0].name == "task893_gap_fill_the_blank_coreference_resolution"
    assert dict(test[0].meta)["instance_license"] == "Apache 2.0"
    # a data folder: split picks the file
    assert [t.name for t in load_tasks(natinst_dir)] == [t.name for t in test]
    train = load_tasks(natinst_dir, split="train", max_instances=1)
    assert len(train) == 687 and all(len(t.instances) == 1 for t in train)


def test_official_golden_layout(golden_dir: Path, natinst_dir: Path) -> None:
    root = golden_dir / "official_layout"
    listed = (root / "splits/default/test_tasks.txt").read_text().split()
    test = load_tasks(root)  # default split: default/test
    assert [t.name for t in test] == listed
    train = load_tasks(root, split="default/train")
    assert [t.name for t in train] == (root / "splits/default/train_tasks.txt").read_text().split()
    compact = {t.name: t for t in load_tasks(natinst_dir / "test_tasks.jsonl.gz")}
    compact.update(
        {t.name: t for t in load_tasks(natinst_dir / "train_tasks.jsonl.gz", names=listed_train(root))}
    )
    for task in test + train:
        ref = compact[task.name]
        assert len(task.instances) == 5
        assert task.definition == ref.definition
        assert task.instances == ref.instances[:5]
        assert task.positive_examples[:2] == ref.positive_examples
        assert task.negative_examples[:2] == ref.negative_examples
        assert task.categories == ref.categories
    assert dict(test[0].meta)["source"] == "gap"
    assert [len(t.instances) for t in load_tasks(root, max_instances=2)] == [2] * 5


def listed_train(root: Path) -> list[str]:
    return (root / "splits/default/train_tasks.txt").read_text().split()


def test_official_synthetic_checkout(tmp_path: Path) -> None:
    root = _write_checkout(
        tmp_path / "ni",
        {"task2_b": _official(), "task1_a": _official(4, [["yes"], ["no"], ["yes"], ["no"]])},
        {"test": ["task2_b", "task1_a"], "train": ["task1_a"]},
    )
    assert detect_format(root) == "official"
    b, a = load_tasks(root, split="default/test")
    assert (b.name, a.name) == ("task2_b", "task1_a")  # split-file order
    assert b.definition == "First definition."
    meta = dict(b.meta)
    assert meta["definition_alternatives"] == "Second definition."
    assert (
        meta["source"] == "src" and meta["instance_license"] == "MIT" and meta["num_instances_total"] == "3"
    )
    assert b.negative_examples == ()  # the "-" placeholder is dropped
    assert b.output_space is None and a.output_space is not None and a.output_space.labels == ("yes", "no")
    assert [t.name for t in load_tasks(root, names=["task1"])] == ["task1_a"]
    assert dict(load_tasks(root, max_instances=1)[0].meta)["num_instances_total"] == "3"


def test_user_jsonl(tmp_path: Path) -> None:
    rows = [
        {
            "task": "sent",
            "definition": "Positive or negative?",
            "input": "good",
            "output": "positive",
            "labels": "positive|negative",
        },
        {"task": "sent", "input": "demo", "output": "negative", "role": "negative", "explanation": "why"},
        {
            "task": "sent",
            "input": "bad",
            "output": ["negative", "neg"],
            "id": "s-2",
            "categories": ["Sentiment"],
        },
        {"task": "qa", "definition": "Answer.", "input": "2+2?", "output": "4", "role": "instance"},
    ]
    path = _write_jsonl(tmp_path / "rows.jsonl", rows)
    assert detect_format(path) == "user-jsonl"
    sent, qa = load_tasks(path)
    assert sent.definition == "Positive or negative?" and sent.categories == ("Sentiment",)
    assert sent.instances == (
        Instance("sent-1", "good", ("positive",)),
        Instance("s-2", "bad", ("negative", "neg")),
    )
    assert sent.negative_examples == (Example("demo", "negative", "why"),)
    assert sent.output_space == OutputSpace(("positive", "negative"), "declared", "labels column")
    assert qa.instances == (Instance("qa-1", "2+2?", ("4",)),) and qa.output_space is None


def test_user_csv(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text(
        "task,definition,input,output,labels,role,explanation,extra\n"
        'sentiment,Is the review positive or negative?,"I loved it, really",positive,positive|negative,,,x\n'
        "sentiment,,Great film,positive,,positive,Praise.,\n"
        'sentiment,,"Dull\nand long",negative,,,,\n'
        "sentiment,,,negative,,,,\n",
        encoding="utf-8",
    )
    assert detect_format(path) == "user-csv"
    (task,) = load_tasks(path)
    assert task.instances == (
        Instance("sentiment-1", "I loved it, really", ("positive",)),
        Instance("sentiment-2", "Dull\nand long", ("negative",)),
        Instance("sentiment-3", "", ("negative",)),
    )
    assert task.positive_examples == (Example("Great film", "positive", "Praise."),)
    assert task.output_space is not None and task.output_space.labels == ("positive", "negative")


def test_references(natinst_dir: Path) -> None:
    tasks = load_references(natinst_dir / "test_references.jsonl.gz")
    assert len(tasks) == 119 and sum(len(t.instances) for t in tasks) == 11810
    first = tasks[0]
    assert first.name == "task1356_xlsum_title_generation" and first.categories == ("Title Generation",)
    assert all(i.input == "" for t in tasks for i in t.instances)
    assert detect_format(natinst_dir / "test_references.jsonl.gz") == "references"
    assert len(load_tasks(natinst_dir / "test_references.jsonl.gz")) == 119


def test_split_and_names_on_a_file(tmp_path: Path) -> None:
    path = _write_jsonl(
        tmp_path / "all.jsonl", [_compact(n, [["o"]]) for n in ("task1_a", "task2_b", "task3_c")]
    )
    (tmp_path / "test_tasks.txt").write_text("task3_c\ntask1_a\ntask9_missing\n")
    assert [t.name for t in load_tasks(path, split="test")] == ["task1_a", "task3_c"]  # file order
    listing = tmp_path / "mine.txt"
    listing.write_text("# comment\ntask2_b\n")
    assert [t.name for t in load_tasks(path, split=str(listing))] == ["task2_b"]
    assert [t.name for t in load_tasks(path, names=["task3", "task2_b"])] == ["task2_b", "task3_c"]
    with pytest.raises(UserError, match="did you mean: task2_b"):
        load_tasks(path, names=["task2_bb"])


def test_detection_on_the_evaluation_instances_whatever_max_instances_keeps(tmp_path: Path) -> None:
    outputs = [["a"], ["b"], ["a"], ["c"], ["d"]]
    path = _write_jsonl(tmp_path / "t.jsonl", [_compact("t", outputs)])
    assert load_tasks(path)[0].output_space is not None
    # scoring the first 2 instances must not shrink the label set to the labels those 2 happen to have
    (cut,) = load_tasks(path, max_instances=2)
    assert len(cut.instances) == 2 and cut.output_space is not None
    assert set(cut.output_space.labels) == {"a", "b", "c", "d"}
    # ... but instances after the first 100 (Tk-Instruct's evaluation set) never count
    long = _write_jsonl(tmp_path / "long.jsonl", [_compact("t", [["a"], ["b"]] * 50 + [["z"]] * 20)])
    (first,) = load_tasks(long, max_instances=10)
    assert len(first.instances) == 10 and set(first.output_space.labels) == {"a", "b"}  # type: ignore[union-attr]
    assert len(load_tasks(long)[0].instances) == 120  # no limit asked: every instance of a file
