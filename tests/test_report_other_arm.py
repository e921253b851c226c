"""Each model under another test arm, paired with itself under its usual one (`views_other_arm`)."""

from __future__ import annotations

import pytest
from test_report_study import make_results

from itprobe.records import Condition
from itprobe.report import compare_arms, holm, other_arm_section
from itprobe.study.conditions import other_arm_pairs

P = {
    ("original", 2): 0.6,
    ("original", 8): 0.8,
    ("original@shuffled-input", 8): 0.55,  # the tuned model reads its input: shuffling it costs
    ("untuned", None): 0.4,
    ("untuned@simplified", None): 0.4,
}


def test_each_model_is_paired_with_itself_under_its_usual_arm() -> None:
    conditions = [
        Condition("original"),
        Condition("original", "shuffled-input"),
        Condition("simplified"),
        Condition("simplified", "original"),
        Condition("simplified", "shuffled-input"),
        Condition("delusive"),
        Condition("delusive", "shuffled-input"),  # never tested with the original: its own arm is usual
        Condition("empty", "original"),  # its own arm did not run: no pair
        Condition("untuned"),
        Condition("untuned", "simplified"),
        Condition("random", "simplified", baseline="control"),  # a control has no model to pair
    ]
    assert other_arm_pairs(conditions) == [
        ("original", "original@shuffled-input"),
        ("simplified", "simplified@original"),
        ("simplified@original", "simplified@shuffled-input"),
        ("delusive", "delusive@shuffled-input"),
        ("untuned", "untuned@simplified"),
    ]


def test_a_row_is_the_paired_comparison_at_the_size_the_other_arm_ran() -> None:
    results = make_results(p=P)
    pairs = [("original", "original@shuffled-input"), ("untuned", "untuned@simplified")]
    found = other_arm_section(results, pairs, n_boot=200)
    assert found is not None
    section, data = found
    rows = data["pairs"]
    assert [(r["usual"], r["other"], r["size"]) for r in rows] == [
        ("original", "original@shuffled-input", 8),  # not at 2: the probe ran at 8 only
        ("untuned", "untuned@simplified", None),
    ]
    expected = [
        compare_arms(results, usual, [other], size=size, n_boot=200)[0].test
        for usual, other, size in [
            ("original", "original@shuffled-input", 8),
            ("untuned", "untuned@simplified", None),
        ]
    ]
    for row, test in zip(rows, expected, strict=True):
        assert row["difference"]["diff"]["mean"] == pytest.approx(test.diff.mean)
        assert row["difference"]["diff"]["low"] == pytest.approx(test.diff.low)
    # one family over the rows
    assert [r["p_holm"] for r in rows] == pytest.approx(holm([t.p_value for t in expected]))
    assert rows[0]["difference"]["diff"]["mean"] > 0.1  # 0.8 against 0.55 by construction
    assert "two-level" in rows[0]["difference"]["diff"]["method"]  # two seeds: training variance included
    assert section.tables[0].rows[0][0] == "original − original@shuffled-input"


def test_no_pair_no_section() -> None:
    results = make_results(p=P)
    assert other_arm_section(results, [], n_boot=100) is None
    assert other_arm_section(results, [("original", "simplified@original")], n_boot=100) is None
