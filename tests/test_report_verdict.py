"""Verdict wording on constructed statistics: never stronger than the numbers allow."""

from __future__ import annotations

from itprobe.report.analysis import ArmComparison
from itprobe.report.stats import Estimate, PairedResult, RatioEstimate
from itprobe.report.verdict import arm_line, gain_line, make_verdict, removes


def paired(diff: float, low: float, high: float, p: float, n: int = 120) -> PairedResult:
    return PairedResult(0.5 + diff, 0.5, Estimate(diff, low, high, n), p, "mcnemar-exact", n)


def kept(value: float | None, low: float | None, high: float | None, status: str = "ok") -> RatioEstimate:
    e = Estimate(0.1, 0.0, 0.2, 120)
    return RatioEstimate(value, low, high, status, e, e, "" if status == "ok" else "the gain's CI includes 0")  # type: ignore[arg-type]


def cmp(arm: str, test: PairedResult, p_adj: float, k: RatioEstimate | None = None) -> ArmComparison:
    return ArmComparison(arm, "original", test, p_adj, k, "untuned" if k else "")


def test_no_evidence_when_the_ci_includes_zero():
    line = arm_line(cmp("simplified", paired(0.02, -0.03, 0.07, 0.4), 0.4))
    assert line.startswith(
        "simplified: no evidence that the model uses the instruction's meaning beyond the output "
        "space at this sample size (n=120)"
    )
    assert "+2.0 points [-3.0, +7.0]" in line
    assert "cannot be ruled out" in line


def test_mostly_format_needs_the_whole_ci_above_the_threshold():
    strong = arm_line(cmp("simplified", paired(0.02, -0.03, 0.07, 0.4), 0.4, kept(0.95, 0.85, 1.05)))
    assert (
        "most of the gain survives removing the instruction's meaning beyond the output space: the model mostly "
        "learned the output format" in strong
    )
    assert "95% [85%, 105%]" in strong
    # same point estimate, but the interval reaches down to 40%: no format claim
    weak = arm_line(cmp("simplified", paired(0.02, -0.03, 0.07, 0.4), 0.4, kept(0.95, 0.40, 1.3)))
    assert "mostly learned the output format" not in weak
    assert weak.startswith("simplified: no evidence")


def test_significant_loss_and_gain_lost():
    line = arm_line(cmp("simplified", paired(0.3, 0.2, 0.4, 1e-6), 2e-6, kept(0.2, 0.05, 0.35)))
    assert line.startswith(
        "simplified: the model uses the instruction's meaning beyond the output space: most of "
        "the gain is lost without it"
    )
    middle = arm_line(cmp("empty", paired(0.1, 0.05, 0.15, 0.001), 0.002, kept(0.6, 0.4, 0.8)))
    assert middle.startswith("empty: the model uses the instruction text (")
    assert "it keeps 60% [40%, 80%] of the gain over untuned" in middle


def test_holm_adjusted_p_decides_not_the_raw_one():
    line = arm_line(cmp("delusive", paired(0.06, 0.01, 0.11, 0.02), 0.06))
    assert line.startswith("delusive: no evidence that the model uses the correct input-output mapping")


def test_arm_better_than_reference():
    line = arm_line(cmp("irrelevant", paired(-0.08, -0.12, -0.04, 0.001), 0.001))
    assert line.startswith(
        "irrelevant: scores higher than original; removing the content of its own instruction"
    )


def test_unstable_ratio_is_named_not_printed():
    line = arm_line(
        cmp("simplified", paired(0.01, -0.05, 0.07, 0.7), 0.7, kept(None, None, None, "unstable"))
    )
    assert "gain kept over untuned: unstable (the gain's CI includes 0)" in line


def test_no_gain_over_the_baseline_comes_first():
    comparisons = [cmp("simplified", paired(0.01, -0.05, 0.07, 0.7), 0.7)]
    verdict = make_verdict(comparisons, gain=paired(0.02, -0.04, 0.08, 0.5), baseline="untuned")
    assert verdict.headline.startswith("original is not distinguishable from untuned")
    assert len(verdict.lines) == 2
    worse = gain_line("original", "random", paired(-0.1, -0.15, -0.05, 0.001))
    assert worse is not None and worse.startswith("original scores below random")
    assert gain_line("original", "untuned", paired(0.2, 0.1, 0.3, 0.001)) is None


def test_headline_is_about_the_primary_arm():
    comparisons = [
        cmp("empty", paired(0.1, 0.05, 0.15, 0.001), 0.002),
        cmp("simplified", paired(0.02, -0.03, 0.07, 0.4), 0.4),
    ]
    verdict = make_verdict(comparisons, gain=paired(0.2, 0.1, 0.3, 0.001))
    assert verdict.headline.startswith("simplified: no evidence")
    assert make_verdict([]).headline.startswith("No comparison")


def test_removes_phrases():
    assert removes("delusive-permuted") == removes("delusive")
    assert removes("label-swap") == "the label meanings stated in the instruction"
    assert removes("my-arm") == "what the 'my-arm' arm changes"
    assert removes("simplified/rank") == removes("simplified@original") == removes("simplified")
    assert removes("delusive-wrong-label@gold/rank") == removes("delusive")
