"""The InstanceResult contract: building from predictions, alignment across conditions and seeds."""

from __future__ import annotations

import pytest

from itprobe.metrics import gold_label
from itprobe.predict import Prediction
from itprobe.report import InstanceResult, align, results_from_predictions, to_frame


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
    assert gold_label(rows[1].references, rows[1].labels) == "no"
    assert rows[0].rouge1 == 1.0 and rows[0].track == "default"
    frame = to_frame(rows)
    assert list(frame["exact_match"]) == [1.0, 0.0, 0.0] and "original_labels" in frame.columns


def test_gold_prefers_the_reference_in_the_label_space():
    r = InstanceResult(
        "a", "t", "1", 1.0, 1.0, references=("Positive review", "positive"), labels=("positive", "negative")
    )
    assert gold_label(r.references, r.labels) == "positive"
    assert gold_label(("x",), ()) == "x"


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


def _paired_rows(n_pairs: int, *, contrast: bool) -> list[InstanceResult]:
    """Both sides of a contrast pair answered on the same 5 inputs, with the same score on each input."""
    rows = []
    for g in range(n_pairs):
        for side in ("a", "b"):
            for i in range(5):
                score = float((g + i) % 3 == 0)
                rows.append(
                    InstanceResult(
                        "original",
                        f"pair{g}-{side}",
                        f"x{g}-{i}-{side}",
                        score,
                        score,
                        contrast=(f"pair{g}", side) if contrast else (),
                    )
                )
    return rows


def test_contrast_pairs_are_resampled_together():
    # issue 13.14: the two sides of a pair share their inputs; with >= 10 pairs the pair is the cluster
    many = align(_paired_rows(10, contrast=True), ["original"])
    cluster = many.resampling()
    assert cluster is not None and cluster.unit == "pair"
    labels = dict(zip(many.keys, cluster.labels, strict=True))
    assert labels[("pair3-a", "x3-1-a")] == labels[("pair3-b", "x3-4-b")]
    assert len(set(cluster.labels.tolist())) == 10
    # 16 tasks without pairs would be task clusters
    assert align(_paired_rows(10, contrast=False), ["original"]).resampling().unit == "task"  # type: ignore[union-attr]


def test_with_few_pairs_the_shared_item_is_resampled():
    from itprobe.report.analysis import condition_estimate

    few = align(_paired_rows(6, contrast=True), ["original"])
    cluster = few.resampling()
    assert cluster is not None and cluster.unit == "item"
    labels = dict(zip(few.keys, cluster.labels, strict=True))
    assert labels[("pair2-a", "x2-3-a")] == labels[("pair2-b", "x2-3-b")]
    assert labels[("pair2-a", "x2-3-a")] != labels[("pair2-a", "x2-4-a")]
    # identical scores on both sides: resampling sides independently would understate the spread
    paired = condition_estimate(_paired_rows(4, contrast=True), "original", n_boot=4000)
    naive = condition_estimate(_paired_rows(4, contrast=False), "original", n_boot=4000)
    assert paired is not None and naive is not None
    assert paired.method == "item-cluster" and naive.method == "instance"
    assert (paired.high - paired.low) > 1.2 * (naive.high - naive.low)


def test_a_section_builder_returns_a_named_record(tmp_path) -> None:
    from itprobe.report import SectionResult
    from itprobe.report.views import scores_section

    rows = [
        InstanceResult(arm, "t", str(i), float(i % 2 == (arm == "a")), 0.5, seed=0)
        for arm in ("a", "b")
        for i in range(4)
    ]
    built = scores_section(rows, ["a", "b"], out_dir=tmp_path, n_boot=100)
    assert isinstance(built, SectionResult)
    assert built.section.title == "Scores per arm"
    assert set(built.data) >= {"a", "b"}
    section, data = built  # still unpacks as the pair it was
    assert section is built.section and data is built.data
