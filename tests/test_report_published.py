"""Published figures beside the run's own (`itprobe.report.views_published`)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from test_report_study import make_results

from itprobe.report import condition_estimate, published_section
from itprobe.study.config import PublishedFigure


def figure(condition: str, value: float, sizes: list[int] | None = None) -> PublishedFigure:
    return PublishedFigure(
        label=f"{condition} (paper)", condition=condition, sizes=sizes, value=value, source="s"
    )


def test_each_figure_is_set_beside_the_estimate_of_its_condition_and_size() -> None:
    results = make_results(seeds=(0, 1))
    found = published_section(
        results, [figure("original", 43.0, [2, 32]), figure("untuned", 12.8)], n_boot=200
    )
    assert found is not None
    section, data = found
    rows = data["figures"]
    assert [(r["condition"], r["size"]) for r in rows] == [
        ("original", 2),
        ("original", 32),
        ("untuned", None),
    ]
    for row in rows:
        est = condition_estimate(results, row["condition"], size=row["size"], n_boot=200)
        assert est is not None and row["estimate"]["mean"] == pytest.approx(est.mean)
        assert row["difference"] == pytest.approx(100 * est.mean - row["published"])
    assert "two-level" in rows[0]["estimate"]["method"]  # two seeds: the CI includes training variance
    assert section.tables[0].rows[0][3] == 43.0 and "No result yet" not in section.paragraphs[0]


def test_a_figure_without_results_keeps_its_row_and_is_named() -> None:
    found = published_section(make_results(), [figure("delusive", 40.0, [2])], n_boot=100)
    assert found is not None
    section, data = found
    assert data["figures"][0]["estimate"] is None and section.tables[0].rows[0][4] is None
    assert "No result yet for: delusive." in section.paragraphs[0]


def test_a_trained_arm_is_never_pooled_over_sizes() -> None:
    # without sizes a trained arm's rows span 2, 8 and 32 instances per task: no single figure describes them
    found = published_section(make_results(), [figure("original", 43.0)], n_boot=100)
    assert found is not None and found[1]["figures"][0]["estimate"] is None


def test_no_figure_no_section() -> None:
    assert published_section(make_results(), [], n_boot=100) is None


@pytest.mark.parametrize(
    "bad", [{"value": 143.0}, {"metric": "accuracy"}, {"source": ""}, {"sizes": [0]}, {"mode": "chat"}]
)
def test_a_figure_is_validated_when_the_config_is_read(bad: dict) -> None:
    raw = {"label": "x", "condition": "original", "value": 43.0, "source": "s", **bad}
    with pytest.raises(ValidationError):
        PublishedFigure(**raw)


def test_the_random_guess_is_its_expected_exact_match_over_each_label_set() -> None:
    results = [r for r in make_results() if r.condition != "random"]  # only the analytic guess is left
    found = published_section(results, [figure("random", 42.6)], n_boot=100)
    assert found is not None
    row = found[1]["figures"][0]
    # two labels, one gold each: a uniform guess is right half the time on every instance
    assert row["estimate"]["mean"] == pytest.approx(0.5) and row["difference"] == pytest.approx(50 - 42.6)
    n_instances = len({(r.task, r.id) for r in results})
    assert row["estimate"]["n"] == n_instances


def test_a_difference_is_this_runs_paired_comparison_and_a_claim_has_nothing_to_subtract() -> None:
    from itprobe.report import compare_arms

    results = make_results(seeds=(0, 1))
    number = PublishedFigure(
        label="IT beats untuned", condition="untuned", reference="original", sizes=[2], value=30.0, source="s"
    )
    words = PublishedFigure(
        label="simplified as original", condition="simplified", reference="original", sizes=[2],
        claim="comparable", source="s",
    )  # fmt: skip
    found = published_section(results, [number, words], n_boot=200)
    assert found is not None
    section, data = found
    for row, arm in zip(data["figures"], ["untuned", "simplified"], strict=True):
        (expected,) = compare_arms(results, "original", [arm], size=2, n_boot=200)
        assert row["estimate"]["mean"] == pytest.approx(expected.test.diff.mean)  # original − arm, paired
        assert row["estimate"]["low"] == pytest.approx(expected.test.diff.low)
    assert data["figures"][0]["difference"] == pytest.approx(
        100 * data["figures"][0]["estimate"]["mean"] - 30
    )
    assert data["figures"][1]["difference"] is None and data["figures"][1]["claim"] == "comparable"
    table = section.tables[0].rows
    assert table[0][1] == "original − untuned" and table[1][3] == "comparable" and table[1][6] is None
    # a difference reads signed in both of this run's columns
    assert table[0][4] == f"{100 * data['figures'][0]['estimate']['mean']:+.1f}"


def test_a_difference_against_the_random_guess_pairs_the_reference_with_the_analytic_guess() -> None:
    results = [r for r in make_results() if r.condition != "random"]  # only the analytic guess is left
    beats = PublishedFigure(
        label="IT beats guessing", condition="random", reference="original", sizes=[2], value=0.4, source="s"
    )
    found = published_section(results, [beats], n_boot=100)
    assert found is not None
    row = found[1]["figures"][0]
    original = condition_estimate(results, "original", size=2, n_boot=100)
    assert row["estimate"] is not None and original is not None
    # two labels, one gold each: the guess is right half the time, so the paired difference is original − 0.5
    assert row["estimate"]["mean"] == pytest.approx(original.mean - 0.5)
    assert found[0].tables[0].rows[0][1] == "original − random (expected uniform guess)"


@pytest.mark.parametrize(
    "bad",
    [
        {"value": None},  # neither a number nor a claim
        {"claim": "comparable"},  # both
        {"value": -3.0},  # a negative score
        {"reference": "original"},  # a difference with itself
    ],
)
def test_a_figure_is_a_number_or_a_claim_and_a_difference_names_another_condition(bad: dict) -> None:
    raw = {"label": "x", "condition": "original", "value": 43.0, "source": "s", **bad}
    with pytest.raises(ValidationError):
        PublishedFigure(**raw)
    if "reference" not in bad and bad.get("value") == -3.0:  # the same negative number is a valid difference
        PublishedFigure(**{**raw, "reference": "untuned", "condition": "original"})
