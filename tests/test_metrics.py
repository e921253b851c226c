"""Official metrics on hand-computed literals, and the full golden reproduction."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from itprobe.metrics import (
    exact_match,
    in_space_loose,
    in_space_strict,
    instance_scores,
    normalize_answer,
    rouge1,
    rouge_l,
    score_predictions,
)
from itprobe.predict import Prediction


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("The  Cat, sat!", "the cat sat"),
        ("A dog", "a dog"),  # articles are kept (unlike SQuAD)
        ("  Yes.\n", "yes"),
        ("can't-stop", "cantstop"),  # punctuation is deleted, not replaced by a space
        ("\u201chi\u201d", "\u201chi\u201d"),  # curly quotes are not ASCII punctuation
        ("", ""),
    ],
)
def test_normalize_answer(raw: str, normalised: str) -> None:
    assert normalize_answer(raw) == normalised


def test_exact_match() -> None:
    assert exact_match("Yes.", ["no", "yes"]) == 1.0
    assert exact_match("yes sir", ["yes"]) == 0.0
    assert exact_match("the answer", ["answer"]) == 0.0  # articles count
    assert exact_match("", ["yes"]) == 0.0  # empty prediction
    assert exact_match("", ["."]) == 1.0  # both normalise to ""


def test_rouge_hand_computed() -> None:
    # 3 predicted tokens all in a 6-token reference: P = 1, R = 1/2, F = 2/3
    assert rouge1("the cat sat", ["the cat sat on the mat"]) == pytest.approx(2 / 3)
    # same bag of words, different order: ROUGE-1 = 1, LCS = 2 of 3 tokens
    assert rouge1("cat the sat", ["the cat sat"]) == pytest.approx(1.0)
    assert rouge_l("cat the sat", ["the cat sat"]) == pytest.approx(2 / 3)
    # Porter stemming: running -> run, dogs -> dog
    assert rouge1("running dogs", ["run dog"]) == pytest.approx(1.0)
    # the ROUGE tokenizer splits on punctuation, so "can't" is two tokens
    assert rouge1("can't", ["can t"]) == pytest.approx(1.0)


def test_rouge_max_over_references_and_empty() -> None:
    assert rouge1("a b", ["c", "a b"]) == pytest.approx(1.0)
    assert rouge_l("a b", ["c", "a b", "a"]) == pytest.approx(1.0)
    assert rouge1("", ["yes"]) == 0.0
    assert rouge_l("yes", [""]) == 0.0
    with pytest.raises(ValueError):
        exact_match("x", [])


def test_in_space() -> None:
    labels = ["Yes", "No", "not sure"]
    assert in_space_strict("yes.", labels)
    assert not in_space_strict("yes, sir", labels)
    assert in_space_loose("The answer is yes.", labels)
    assert in_space_loose("I am not sure!", labels)
    assert not in_space_loose("yesterday", labels)
    assert not in_space_loose("nothing", labels)
    assert not in_space_loose("anything", ["."])  # a label that normalises to "" never matches
    assert not in_space_strict("maybe", [])


def _pred(task: str, ident: str, text: str, refs: tuple[str, ...], category: str = "") -> Prediction:
    return Prediction(
        task=task, id=ident, prediction=text, references=refs, mode="generate", category=category
    )


def test_score_predictions_groups() -> None:
    preds = [
        _pred("A", "a1", "yes", ("yes",), "Cat1"),
        _pred("A", "a2", "No", ("no",), "Cat1"),
        _pred("A", "a3", "no", ("yes",), "Cat1"),
        _pred("B", "b1", "x y", ("x z",), "Cat2"),
    ]
    report = score_predictions(preds)
    assert report.overall.exact_match == pytest.approx(50.0)  # 2 of 4 instances
    assert report.task_mean is not None
    assert report.task_mean.exact_match == pytest.approx((200 / 3 + 0) / 2)  # unweighted over tasks
    assert report.per_task["A"].exact_match == pytest.approx(200 / 3)
    assert report.per_task["B"].rouge1 == pytest.approx(50.0)
    assert report.overall.rouge1 == pytest.approx((1 + 1 + 0 + 0.5) / 4 * 100)
    assert set(report.per_category) == {"Cat1", "Cat2"}
    assert report.per_category["Cat2"].n == 1
    doc = report.to_json()
    assert doc["overall"] == {"exact_match": 50.0, "rouge1": 62.5, "rougeL": 62.5}
    assert doc["per_task"]["A"]["exact_match"] == 66.6667


def test_score_predictions_empty() -> None:
    with pytest.raises(ValueError):
        score_predictions([])


def test_instance_scores_in_space_flags() -> None:
    with_labels = Prediction("A", "1", "It is yes", ("yes",), "generate", labels=("yes", "no"))
    scores = instance_scores([with_labels, _pred("B", "2", "x", ("x",))])
    assert (scores[0].exact_match, scores[0].in_space_strict, scores[0].in_space_loose) == (0.0, False, True)
    assert (scores[1].exact_match, scores[1].in_space_strict) == (1.0, None)


def _split_key(key: str) -> tuple[str, str]:
    for metric in ("exact_match", "rouge1", "rougeL"):
        if key.startswith(metric + "_for_"):
            return metric, key[len(metric) + 5 :]
    raise AssertionError(key)


def test_golden_metrics(natinst_dir: Path, golden_dir: Path) -> None:
    with gzip.open(natinst_dir / "test_references.jsonl.gz", "rt", encoding="utf-8") as handle:
        refs = {r["id"]: r for r in map(json.loads, handle)}
    preds = []
    for line in (golden_dir / "predictions.jsonl").open(encoding="utf-8"):
        p = json.loads(line)
        r = refs[p["id"]]
        preds.append(
            _pred(r["task_id"], p["id"], p["prediction"], tuple(r["references"]), r["task_category"])
        )
    assert len(preds) == 11810
    report = score_predictions(preds)
    golden = json.loads((golden_dir / "metrics.json").read_text())
    for metric, value in golden["overall"].items():
        assert getattr(report.overall, metric) == pytest.approx(value, abs=1e-3)
    for group, table in (("per_task", report.per_task), ("per_category", report.per_category)):
        assert len(golden[group]) == 3 * len(table)
        for key, value in golden[group].items():
            metric, name = _split_key(key)
            assert getattr(table[name], metric) == pytest.approx(value, abs=1e-3), (group, key)
