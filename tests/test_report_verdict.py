"""Verdict wording on constructed statistics: never stronger than the numbers allow."""

from __future__ import annotations

import pytest

from itprobe.records import Condition
from itprobe.report import ArmComparison, Estimate, PairedResult, RatioEstimate
from itprobe.report.verdict import (
    REMOVES,
    Design,
    arm_line,
    equivalence_margin,
    gain_line,
    make_verdict,
    removes,
    tuning_line,
)
from itprobe.study.conditions import condition_parts
from itprobe.study.config import ArmConfig
from itprobe.study.grid import arm_json
from itprobe.study.store import CellRecord


def paired(diff: float, low: float, high: float, p: float, n: int = 120) -> PairedResult:
    return PairedResult(0.5 + diff, 0.5, Estimate(diff, low, high, n), p, "mcnemar-exact", n)


def kept(value: float | None, low: float | None, high: float | None, status: str = "ok") -> RatioEstimate:
    e = Estimate(0.1, 0.0, 0.2, 120)
    return RatioEstimate(value, low, high, status, e, e, "" if status == "ok" else "the gain's CI includes 0")  # type: ignore[arg-type]


def cmp(arm: str, test: PairedResult, p_adj: float, k: RatioEstimate | None = None) -> ArmComparison:
    return ArmComparison(arm, "original", test, p_adj, k, "untuned" if k else "")


def test_no_difference_is_never_called_the_same():
    line = arm_line(cmp("simplified", paired(0.02, -0.03, 0.07, 0.4), 0.4))
    assert line.startswith(
        "simplified vs original: no difference detected at this size; the data allow differences from "
        "-3.0 to +7.0 points"
    )
    assert "+2.0 [-3.0, +7.0] points" in line
    assert "same" not in line and "equivalent" not in line


def test_equivalence_needs_the_whole_ci_inside_the_margin():
    line = arm_line(cmp("empty", paired(0.01, -0.04, 0.045, 0.6), 0.6), margin=0.05)
    assert line.startswith(
        "empty vs original: equivalent within ±5 points (the design's margin; the whole 95% CI, [-4.0, +4.5]"
    )
    assert "equivalent" not in arm_line(cmp("empty", paired(0.01, -0.04, 0.055, 0.6), 0.6), margin=0.05)


def test_most_of_the_gain_survives_needs_the_whole_ci_above_the_threshold():
    strong = arm_line(cmp("simplified", paired(0.02, -0.03, 0.07, 0.4), 0.4, kept(0.95, 0.85, 1.05)))
    assert (
        "It keeps 95% [85%, 105%] of the gain over untuned: most of the gain survives without the definition "
        "beyond its output space." in strong
    )
    # same point estimate, but the interval reaches down to 40%: no such claim
    weak = arm_line(cmp("simplified", paired(0.02, -0.03, 0.07, 0.4), 0.4, kept(0.95, 0.40, 1.3)))
    assert "most of the gain survives" not in weak
    assert weak.startswith("simplified vs original: no difference detected")


def test_a_significant_loss_is_said_even_when_most_of_the_gain_survives():
    # issue 13.3: p = 0.001 with a 6-point loss, gain kept [85%, 100%]
    line = arm_line(cmp("simplified", paired(0.06, 0.03, 0.09, 0.001), 0.001, kept(0.92, 0.85, 1.0)))
    assert line.startswith("simplified: removing the definition beyond its output space costs 6.0 points")
    assert "most of the gain survives, but the definition beyond its output space still matters" in line
    assert "(removing it costs 6.0 points)" in line
    assert "learned the output format" not in line


def test_significant_loss_and_gain_lost():
    line = arm_line(cmp("simplified", paired(0.3, 0.2, 0.4, 1e-6), 2e-6, kept(0.2, 0.05, 0.35)))
    assert line.startswith("simplified: removing the definition beyond its output space costs 30.0 points")
    assert line.endswith("most of the gain is lost without it.")
    middle = arm_line(cmp("empty", paired(0.1, 0.05, 0.15, 0.001), 0.002, kept(0.6, 0.4, 0.8)))
    assert middle.startswith("empty: removing the definition costs 10.0 points (")
    assert "It keeps 60% [40%, 80%] of the gain over untuned." in middle


def test_holm_adjusted_p_decides_not_the_raw_one():
    line = arm_line(cmp("delusive", paired(0.06, 0.01, 0.11, 0.02), 0.06))
    assert line.startswith(
        "delusive vs original: not significant after the Holm adjustment across the comparisons, although the "
        "unadjusted 95% CI excludes 0"
    )
    assert "p (Holm) = 0.06" in line and "costs" not in line


def test_arm_better_than_reference():
    line = arm_line(cmp("irrelevant", paired(-0.08, -0.12, -0.04, 0.001), 0.001))
    assert line.startswith(
        "irrelevant: scores higher than original without its own definition (replaced by another task's)"
    )


def test_unstable_ratio_is_named_not_printed():
    line = arm_line(
        cmp("simplified", paired(0.01, -0.05, 0.07, 0.7), 0.7, kept(None, None, None, "unstable"))
    )
    assert "Gain kept over untuned: withheld (unstable), because the gain's CI includes 0" in line
    assert "%" not in line


def test_follow_probes_read_as_following_in_the_study_too():
    # issue 13.1: a model that follows a label swap perfectly, one that ignores a negation
    swap = cmp("label-swap", paired(0.0, -0.01, 0.01, 1.0), 1.0)
    negated = cmp("negated", paired(0.3, 0.2, 0.4, 1e-6), 1e-6)
    trained = cmp("original@negated", paired(0.3, 0.2, 0.4, 1e-6), 1e-6)
    # the follow probes are known by their own name; any other condition is named by its producer
    comparisons = [cmp("simplified", paired(0.0, -0.02, 0.02, 1.0), 1.0), swap, negated, trained]
    verdict = make_verdict(comparisons, follow={"original@negated"}, margin=0.05)
    lines = dict(zip(("simplified", "label-swap", "negated", "original@negated"), verdict.lines, strict=True))
    assert lines["label-swap"].startswith("label-swap: when the instruction changes the task, equivalent")
    assert "learned the output format" not in " ".join(verdict.lines)
    for arm in ("negated", "original@negated"):
        assert lines[arm].startswith(
            f"{arm}: the model does not follow the changed instruction: it scores 30.0"
        )
        assert "uses" not in lines[arm]
    # a condition's name is never split: "original@negated" is a follow condition only when the producer
    # says so (a study does, from its stored test arms)
    unnamed = make_verdict([trained])
    assert unnamed.headline.startswith("original@negated: removing what the 'original@negated' arm changes")
    custom = make_verdict([cmp("my-neg", paired(0.3, 0.2, 0.4, 1e-6), 1e-6)], follow={"my-neg"})
    assert custom.headline.startswith("my-neg: the model does not follow the changed instruction")


def test_no_gain_over_the_baseline_comes_first():
    comparisons = [cmp("simplified", paired(0.01, -0.05, 0.07, 0.7), 0.7)]
    verdict = make_verdict(comparisons, gain=paired(0.02, -0.04, 0.08, 0.5), baseline="untuned")
    assert verdict.headline.startswith("original is not distinguishable from untuned")
    assert len(verdict.lines) == 2 and verdict.lines[1].startswith("simplified vs original")
    worse = gain_line("original", "random", paired(-0.1, -0.15, -0.05, 0.001))
    assert worse is not None and worse.startswith("original scores below random")
    assert gain_line("original", "untuned", paired(0.2, 0.1, 0.3, 0.001)) is None


def test_headline_is_about_the_primary_arm():
    comparisons = [
        cmp("empty", paired(0.1, 0.05, 0.15, 0.001), 0.002),
        cmp("simplified", paired(0.02, -0.03, 0.07, 0.4), 0.4),
    ]
    verdict = make_verdict(comparisons, gain=paired(0.2, 0.1, 0.3, 0.001))
    assert verdict.headline.startswith("simplified vs original: no difference detected")
    assert verdict.lines[1].startswith(
        "Tuning with original: original − untuned = +20.0 [+10.0, +30.0] points"
    )
    assert verdict.lines[2].startswith("empty: removing the definition costs")
    assert make_verdict([]).headline.startswith("No comparison")


def test_removes_phrases():
    assert removes("delusive-permuted") == removes("delusive")
    assert all("meaning" not in phrase for phrase in REMOVES.values())
    assert removes("my-arm") == "what the 'my-arm' arm changes"
    # what an arm changes comes from its parts (a study: `ArmConfig.parts`), never from splitting its name
    assert removes("simplified@original", ("simplified",)) == removes("simplified")
    assert removes("delusive-wrong-label@gold", ("delusive-wrong-label",)) == removes("delusive")
    assert removes("simplified@original") == "what the 'simplified@original' arm changes"
    assert removes("my-arm", ("simplified", "content-free")) == removes("simplified")


def test_a_custom_named_arm_is_described_by_its_parts():
    c = cmp("my-arm", paired(0.3, 0.2, 0.4, 1e-6), 1e-6)
    assert make_verdict([c]).headline.startswith("my-arm: removing what the 'my-arm' arm changes costs 30.0")
    named = make_verdict([c], parts={"my-arm": ("empty",)})
    assert named.headline.startswith("my-arm: removing the definition costs 30.0")


def test_a_study_reads_each_trained_condition_s_parts_from_its_stored_arm():

    custom = ArmConfig(definition="simplified", input="content-free", name="my-arm")
    cells = [
        CellRecord("a", "trained", "a", "my-arm", 8, 0, "", "m", {"train_arm": arm_json(custom)}),
        CellRecord("b", "untuned", "b", "", None, 0, "", "m", {}),
    ]
    conditions = [Condition("my-arm"), Condition("my-arm", "original"), Condition("untuned", "my-arm")]
    assert condition_parts(cells, conditions) == {
        "my-arm": ("simplified", "content-free"),
        "my-arm@original": ("simplified", "content-free"),
    }


# --- sentences by what was manipulated and when (issue #25; docs/design.md, "What each verdict sentence
# requires": one test per row of the condition table) ---

LOSS = paired(0.08, 0.04, 0.12, 0.001)


def test_a_condition_trained_and_tested_with_the_arm_reads_as_training_and_testing_without_it():
    line = arm_line(cmp("simplified", LOSS, 0.001), design=Design("train+test", seeds=3))
    assert line.startswith(
        "simplified: training and testing without the definition beyond its output space costs 8.0 points"
    )


def test_a_condition_trained_with_the_arm_and_tested_with_the_original_reads_as_training():
    line = arm_line(
        cmp("simplified@original", LOSS, 0.001), parts=("simplified",), design=Design("train", seeds=3)
    )
    assert line.startswith(
        "simplified@original: training without the definition beyond its output space costs 8.0 points when "
        "tested with the original instruction: an effect of training, not of removing anything at test time"
    )
    assert "removing the definition" not in line


def test_a_condition_tested_with_the_arm_on_the_same_model_reads_as_removal_at_test_time():
    line = arm_line(
        cmp("original@simplified", LOSS, 0.001), parts=("simplified",), design=Design("test", seeds=1)
    )
    assert line.startswith(
        "original@simplified: removing the definition beyond its output space at test time costs 8.0"
    )


def test_one_seed_gives_no_training_arm_finding():
    for when in ("train", "train+test"):
        line = arm_line(
            cmp("simplified@original", LOSS, 0.001, kept(0.2, 0.1, 0.3)),
            design=Design(when, seeds=1),  # type: ignore[arg-type]
        )
        assert "a training-arm effect cannot be established with one seed" in line
        assert "costs" not in line and "relies" not in line and "keeps" not in line.lower()
        assert "+8.0 [+4.0, +12.0]" in line  # the numbers are still shown


def test_no_equivalence_without_a_margin_and_the_margin_is_the_designs():
    d = paired(0.01, -0.02, 0.03, 0.6)
    assert "no difference detected" in arm_line(cmp("empty", d, 0.6), margin=None)
    assert "equivalent within ±4 points" in arm_line(cmp("empty", d, 0.6), margin=0.04)
    assert "equivalent" not in arm_line(cmp("empty", d, 0.6), margin=0.025)


def test_the_margin_is_declared_or_a_share_of_the_gain_never_fixed():
    gain = Estimate(0.029, 0.01, 0.05, 100)
    assert equivalence_margin(gain) == pytest.approx(0.25 * 0.029)
    assert equivalence_margin(gain, share=0.5) == pytest.approx(0.0145)
    assert equivalence_margin(gain, declared=0.02) == 0.02
    assert equivalence_margin(Estimate(0.03, -0.01, 0.07, 100)) is None  # no clear gain: no margin
    assert equivalence_margin(None) is None
    # issue 25: "equivalent within ±5 points" when the whole gain is +2.9 said nothing
    d = paired(0.005, -0.04, 0.045, 0.7)
    assert "equivalent" not in arm_line(cmp("empty", d, 0.7), margin=equivalence_margin(gain))


def test_exploratory_comparisons_are_marked():
    line = arm_line(cmp("empty", LOSS, 0.001), design=Design("train+test", seeds=2, exploratory=True))
    assert line.startswith("Exploratory (not a declared primary comparison): empty: training and testing")


def test_rank_mode_tuning_line_names_the_arm():
    from itprobe.report.decompose import Part, Split

    e = Estimate(0.1, 0.05, 0.15, 100)
    part = Part(e, 0.001, 0.001)
    zero = Part(Estimate(0.0, 0.0, 0.0, 100), 1.0, 1.0)
    split = Split("original", "untuned", 100, e, zero, part, False, "rank", 1.0, 1.0)
    line = tuning_line("original", "untuned", paired(0.1, 0.05, 0.15, 0.001), split, arm="original")
    assert "relies on what 'original' changes" not in line
    assert line.startswith("Tuning with original: original − untuned")
    assert line.endswith("Tuning with original taught better label choices.")
    one = tuning_line("original", "untuned", paired(0.1, 0.05, 0.15, 0.001), split, arm="original", seeds=1)
    assert "cannot be established with one seed" in one and "taught better" not in one
