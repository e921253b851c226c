"""Label prior, calibration, instruction reliance and surviving margin against hand-computed cases."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from itprobe.audit.prior import (
    calibrate,
    calibrated_index,
    calibrated_probs,
    entropy_bits,
    label_prior,
    softmax,
)
from itprobe.audit.reliance import (
    reliance_by_task,
    reliance_estimate,
    survival_by_task,
    surviving_share,
)
from itprobe.predict import Prediction
from itprobe.report import InstanceResult, align


def _rank(task: str, ident: str, probs: list[float], gold: str, labels=("yes", "no")) -> Prediction:
    logprobs = tuple(math.log(p) for p in probs)
    best = labels[int(np.argmax(probs))]
    return Prediction(task, ident, best, (gold,), "rank", labels, logprobs, (1,) * len(labels))


def test_softmax_and_entropy() -> None:
    assert softmax([math.log(3), math.log(1)]).tolist() == pytest.approx([0.75, 0.25])
    assert entropy_bits([0.5, 0.5]) == pytest.approx(1.0)
    assert entropy_bits([1 / 3] * 3) == pytest.approx(math.log2(3))
    assert entropy_bits([1.0, 0.0]) == 0.0
    # H(0.75, 0.25) = -(0.75 log2 0.75 + 0.25 log2 0.25) = 0.811278...
    assert entropy_bits([0.75, 0.25]) == pytest.approx(0.8112781245)


def test_label_prior_from_content_free_prediction() -> None:
    prior = label_prior(_rank("t", "0", [0.25, 0.75], "yes"))
    assert prior.probs == pytest.approx((0.25, 0.75))
    assert prior.favoured == "no"
    assert prior.entropy_bits == pytest.approx(0.8112781245)
    assert prior.normalized_entropy == pytest.approx(0.8112781245)  # log2(2) = 1


def test_label_prior_needs_rank_scores() -> None:
    with pytest.raises(ValueError, match="rank mode"):
        label_prior(Prediction("t", "0", "yes", ("yes",), "generate", ("yes", "no")))


def test_calibration_hand_case() -> None:
    # p = (0.6, 0.4), prior = (0.8, 0.2): p / prior = (0.75, 2.0) -> renormalised (0.2727, 0.7273): "no"
    logprobs = [math.log(0.6), math.log(0.4)]
    assert calibrated_index(logprobs, [0.8, 0.2]) == 1
    assert calibrated_probs(logprobs, [0.8, 0.2]).tolist() == pytest.approx([0.75 / 2.75, 2.0 / 2.75])
    # a uniform prior changes nothing; ties go to the first label
    assert calibrated_index(logprobs, [0.5, 0.5]) == 0
    assert calibrated_index([math.log(0.5), math.log(0.5)], [0.5, 0.5]) == 0


def test_calibrate_predictions_accuracy() -> None:
    prior = label_prior(_rank("t", "cf", [0.8, 0.2], "yes"))
    preds = [
        _rank("t", "0", [0.6, 0.4], "no"),  # p/prior = (0.75, 2.0): calibrated "no" (right; was wrong)
        _rank("t", "1", [0.9, 0.1], "yes"),  # (1.125, 0.5): stays "yes" (right)
        _rank("t", "2", [0.7, 0.3], "yes"),  # (0.875, 1.5): becomes "no" (wrong; was right)
        _rank("u", "0", [0.7, 0.3], "yes"),  # no prior for task u: left out
    ]
    out = calibrate(preds, {"t": prior})
    assert [p.prediction for p in out] == ["no", "yes", "no"]
    assert [p.prediction for p in preds[:3]] == ["yes", "yes", "yes"]  # inputs untouched
    assert out[0].label_logprobs == preds[0].label_logprobs


def test_reliance_estimate_takes_the_best_arm() -> None:
    original = np.array([1, 1, 1, 0, 1, 1, 1, 1], dtype=float)
    arms = {
        "simplified": np.array([1, 0, 0, 0, 1, 0, 0, 1], dtype=float),  # 3/8
        "empty": np.array([1, 1, 0, 0, 1, 0, 1, 1], dtype=float),  # 5/8
        "irrelevant": np.zeros(8),
    }
    est, best, means = reliance_estimate(original, arms, n_boot=500, seed=1)
    assert best == "empty"
    assert means == {"simplified": 0.375, "empty": 0.625, "irrelevant": 0.0}
    assert est.mean == pytest.approx(7 / 8 - 5 / 8)
    assert est.low <= est.mean <= est.high
    # the max is re-taken per resample, so the interval lies below original − empty's own upper bound
    same, _, _ = reliance_estimate(original, {"empty": original.copy()}, n_boot=200)
    assert (same.mean, same.low, same.high) == (0.0, 0.0, 0.0)


def test_reliance_estimate_needs_an_arm() -> None:
    with pytest.raises(ValueError):
        reliance_estimate(np.ones(3), {})


def test_surviving_share_hand_cases() -> None:
    original, random = np.ones(8), np.full(8, 0.5)
    half = np.array([1, 1, 1, 1, 0, 0, 0, 0], dtype=float)
    s = surviving_share(half, original, random, scope="t", mode="rank", n_boot=300)
    assert s.status == "ok"
    assert s.value == pytest.approx(0.0)  # (0.5 − 0.5) / (1 − 0.5)
    assert s.margin.mean == pytest.approx(0.5)
    full = surviving_share(original, original, random, scope="t", mode="rank", n_boot=300)
    assert (full.value, full.low, full.high) == pytest.approx((1.0, 1.0, 1.0))
    # original no better than random: nothing to keep
    flat = surviving_share(half, half, random, scope="t", mode="rank", n_boot=300)
    assert flat.status == "undefined" and flat.value is None and "no gain" in flat.reason
    # a margin whose CI crosses 0 is undefined too
    noisy = np.array([1, 0, 1, 0, 1, 0, 1, 1], dtype=float)
    crossing = surviving_share(half, noisy, random, scope="t", mode="rank", n_boot=300)
    assert crossing.status == "undefined"


def _row(cond: str, task: str, ident: int, em: float) -> InstanceResult:
    return InstanceResult(cond, task, str(ident), em, em, labels=("yes", "no"), mode="rank")


def test_reliance_and_survival_by_task() -> None:
    rows = []
    a_orig, a_simp, a_empty = [1, 1, 1, 1], [1, 0, 0, 0], [1, 1, 0, 0]
    b_orig, b_simp = [1, 1, 0, 0], [1, 1, 1, 0]
    for i in range(4):
        rows += [_row("original", "a", i, a_orig[i]), _row("simplified", "a", i, a_simp[i])]
        rows += [_row("empty", "a", i, a_empty[i])]
        rows += [_row("original", "b", i, b_orig[i]), _row("simplified", "b", i, b_simp[i])]
    per_task, overall = reliance_by_task(rows, "rank", n_boot=200)
    by = {r.scope: r for r in per_task}
    assert by["a"].best_arm == "empty" and by["a"].estimate.mean == pytest.approx(0.5)
    assert by["b"].best_arm == "simplified" and by["b"].estimate.mean == pytest.approx(-0.25)
    # empty is missing on task b, so overall uses simplified alone over all 8 instances
    assert overall is not None and overall.arms == (("simplified", 0.5),)
    assert overall.n == 8 and overall.estimate.mean == pytest.approx(0.75 - 0.5)
    random = {(t, str(i)): 0.5 for t in "ab" for i in range(4)}
    per, total = survival_by_task(rows, "rank", random, n_boot=200)
    assert [s.scope for s in per] == ["a", "b"]
    assert per[0].value == pytest.approx((0.25 - 0.5) / (1 - 0.5))
    assert per[1].status == "undefined"  # original on b equals random
    # overall margin 0.75 − 0.5 = 0.25, but with 8 instances its CI includes 0: undefined, reason given
    assert total is not None and total.margin.mean == pytest.approx(0.25)
    assert total.status == "undefined" and "includes 0" in total.reason


def test_overall_reliance_and_survival_resample_contrast_pairs_as_every_other_audit_interval() -> None:
    """The two sides of a contrast pair share their inputs: the overall reliance and surviving margin
    resample them together (item clusters with fewer than 10 pairs), as `align(...).resampling()` does
    for every other interval of the audit; they used to resample the sides as independent tasks."""
    rows = []
    for group in ("p", "q"):
        for side, pattern in (("even", [1, 1, 0, 1]), ("odd", [1, 0, 1, 1])):
            task = f"{group}-{side}"
            for i in range(4):
                ident = f"{i}-{side}"
                rows += [
                    dataclasses.replace(_row("original", task, 0, 1.0), id=ident, contrast=(group, side)),
                    dataclasses.replace(
                        _row("simplified", task, 0, float(pattern[i])), id=ident, contrast=(group, side)
                    ),
                ]
    _, overall = reliance_by_task(rows, "rank", n_boot=200)
    assert overall is not None
    assert (
        overall.estimate.method == align(rows, ["original"]).resampling().unit + "-cluster" == "item-cluster"
    )
    random = {r.key: 0.5 for r in rows}
    _, total = survival_by_task(rows, "rank", random, n_boot=200)
    assert total is not None and total.margin.method == "item-cluster"
