"""The InstanceResult contract: building from predictions, alignment across conditions and seeds."""

from __future__ import annotations

import pytest

from itprobe.predict import Prediction
from itprobe.report import InstanceResult, results_from_predictions, to_frame
from itprobe.report.results import align


def test_results_from_predictions_scores_and_flags():
    preds = [
        Prediction(
            task="t", id="1", prediction="Yes.", references=("yes",), mode="generate", labels=("yes", "no")
        ),
        Prediction(
            task="t", id="2", prediction="maybe no", references=("no",), mode="generate", labels=("yes", "no")
        ),
        Prediction(task="g", id="1", prediction="a cat", references=("the cat",), mode="generate"),
    ]
    rows = results_from_predictions(preds, condition="original", seed=3, size=8, train_arm="simplified")
    assert [r.exact_match for r in rows] == [1.0, 0.0, 0.0]
    assert (rows[0].in_space_strict, rows[1].in_space_strict, rows[1].in_space_loose) == (True, False, True)
    assert rows[2].in_space_strict is None and rows[2].rougeL == pytest.approx(0.5)
    assert (rows[0].seed, rows[0].size, rows[0].train_arm, rows[0].condition) == (
        3,
        8,
        "simplified",
        "original",
    )
    assert rows[1].gold == "no"
    frame = to_frame(rows)
    assert list(frame["exact_match"]) == [1.0, 0.0, 0.0] and "original_labels" in frame.columns


def test_gold_prefers_the_reference_in_the_label_space():
    r = InstanceResult(
        "a", "t", "1", 1.0, 1.0, references=("Positive review", "positive"), labels=("positive", "negative")
    )
    assert r.gold == "positive"
    assert InstanceResult("a", "t", "1", 1.0, 1.0, references=("x",)).gold == "x"


def test_align_averages_seeds_and_keeps_common_instances():
    rows = [
        InstanceResult("a", "t", "1", 1.0, 1.0, seed=0, size=4),
        InstanceResult("a", "t", "1", 0.0, 0.0, seed=1, size=4),
        InstanceResult("a", "t", "2", 1.0, 1.0, seed=0, size=4),
        InstanceResult("a", "t", "1", 1.0, 1.0, seed=0, size=8),  # other size
        InstanceResult("b", "t", "1", 0.0, 0.0),  # unsized (e.g. untuned): always kept
    ]
    aligned = align(rows, ["a", "b"], size=4)
    assert aligned.keys == (("t", "1"),)
    assert aligned.scores["a"].tolist() == [0.5]
    assert aligned.scores["b"].tolist() == [0.0]
    assert align(rows, ["a"], size="any").scores["a"].tolist() == [pytest.approx(2 / 3), 1.0]
