"""Seeds as a unit (issue #25): per-seed results, their spread, intervals that include training variance."""

from __future__ import annotations

import json

import numpy as np
from test_report_study import P, make_results

from itprobe.report import compare_arms, condition_estimate
from itprobe.report.seeds import two_level_ci
from itprobe.study.views import write_study_report


def test_two_level_interval_grows_with_the_variance_between_seeds() -> None:
    rng = np.random.default_rng(1)
    base = rng.random((200, 1)) < 0.6
    same = np.repeat(base, 3, axis=1).astype(float)  # three seeds that agree on every instance
    shifted = same.copy()
    shifted[:, 0] = np.clip(shifted[:, 0] + (rng.random(200) < 0.4), 0, 1)  # one seed much better
    shifted[:, 2] = shifted[:, 2] * (rng.random(200) < 0.5)  # one seed much worse
    agree = two_level_ci(same, n_boot=500)
    disagree = two_level_ci(shifted, n_boot=500)
    assert agree.method.endswith("(two-level)")
    assert (disagree.high - disagree.low) > 1.5 * (agree.high - agree.low)


def test_comparisons_with_seeds_use_the_two_level_interval() -> None:
    # two seeds that disagree: seed 1's simplified model is much worse than seed 0's
    results = make_results(seeds=(0, 1))
    cmp = compare_arms(results, "original", ["simplified"], size=32, n_boot=300)[0]
    assert "two-level" in cmp.test.diff.method
    est = condition_estimate(results, "original", size=32, n_boot=300)
    assert est is not None and "two-level" in est.method
    one = compare_arms(make_results(seeds=(0,)), "original", ["simplified"], size=32, n_boot=300)[0]
    assert "two-level" not in one.test.diff.method


def test_the_report_shows_each_seed_and_the_spread(tmp_path) -> None:
    p = {**P, ("simplified", 32): 0.62}
    paths = write_study_report(make_results(seeds=(0, 1, 2), p=p), tmp_path, n_boot=200)
    doc = json.loads(paths["json"].read_text())
    seeds = doc["data"]["seeds"]
    assert set(seeds) >= {"original", "simplified"}
    assert set(seeds["original"]["seeds"]) == {"0", "1", "2"} and seeds["original"]["sd"] > 0
    assert seeds["original"]["two_level"]["low"] < seeds["original"]["two_level"]["high"]
    markdown = paths["md"].read_text()
    assert "## Seeds" in markdown and "EM per seed (%)" in markdown
    assert "two-level bootstrap CIs" in markdown


def test_the_learning_curve_intervals_include_the_variance_between_seeds() -> None:
    """Each point of the curve with several training seeds has the two-level interval of every other score
    of the report (the same as `condition_estimate`'s), not the instances' bootstrap of the seed mean,
    which leaves the variance between training runs out (found on natinst-curve: 43.1 [40.6, 45.5] in the
    curve against [40.0, 45.8] beside the paper's figure, for one condition)."""
    from itprobe.report.curves import learning_curve

    results = make_results(seeds=(0, 1))
    for point in learning_curve(results, ["original", "simplified"], n_boot=300):
        est = condition_estimate(results, point.condition, size=point.size, n_boot=300)
        assert est is not None and "two-level" in point.estimate.method
        assert (point.estimate.mean, point.estimate.low, point.estimate.high) == (est.mean, est.low, est.high)
    one = learning_curve(make_results(seeds=(0,)), ["original"], n_boot=300)
    assert one and all("two-level" not in p.estimate.method for p in one)
