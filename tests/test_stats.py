"""Statistics against known values: exact tests by hand, bootstrap intervals against normal theory."""

from __future__ import annotations

import numpy as np
import pytest

from itprobe.report.stats import (
    MIN_CLUSTERS,
    boot_means,
    bootstrap_ci,
    choose_cluster,
    holm,
    mcnemar_exact,
    paired_test,
    ratio_ci,
    sign_flip_p,
    statistic_ci,
)


def test_bootstrap_of_a_constant_is_degenerate():
    est = bootstrap_ci([0.7] * 25, seed=3)
    assert (est.mean, est.low, est.high, est.n) == (
        pytest.approx(0.7),
        pytest.approx(0.7),
        pytest.approx(0.7),
        25,
    )
    assert est.method == "instance"


def test_bootstrap_matches_normal_theory_for_a_coin():
    values = np.array([1.0, 0.0] * 200)  # p = 0.5, n = 400: se = 0.025, 95% CI ≈ 0.5 ± 0.049
    est = bootstrap_ci(values, n_boot=4000, seed=1)
    assert est.mean == pytest.approx(0.5)
    assert est.low == pytest.approx(0.451, abs=0.008)
    assert est.high == pytest.approx(0.549, abs=0.008)


def test_bootstrap_is_deterministic_per_seed_and_varies_across_seeds():
    rng = np.random.default_rng(0)
    values = rng.random(50)
    assert bootstrap_ci(values, seed=7) == bootstrap_ci(values, seed=7)
    assert bootstrap_ci(values, seed=7) != bootstrap_ci(values, seed=8)


def test_cluster_bootstrap_accounts_for_correlated_instances():
    # 10 tasks of 20 instances, every instance of a task scored alike: the effective n is 10, not 200
    values = np.repeat([0.0, 1.0] * 5, 20)
    tasks = np.repeat([f"t{i}" for i in range(10)], 20)
    flat = bootstrap_ci(values, seed=0)
    clustered = bootstrap_ci(values, seed=0, cluster=tasks)
    assert clustered.method == "task-cluster"
    # cluster-level se = 0.5 / sqrt(10) ≈ 0.158 → half-width ≈ 0.31; instance-level ≈ 0.069
    assert clustered.high - clustered.low == pytest.approx(0.62, abs=0.08)
    assert clustered.high - clustered.low > 3 * (flat.high - flat.low)


def test_cluster_bootstrap_keeps_the_instance_mean():
    # unequal cluster sizes: the statistic is the mean over instances, not over task means
    values = np.array([1.0] * 9 + [0.0])
    tasks = np.array(["a"] * 9 + ["b"])
    reps = boot_means(values, seed=0, cluster=tasks, n_boot=500)[:, 0]
    assert set(np.round(reps, 6)) <= {0.0, 0.9, 1.0}


def test_choose_cluster_policy():
    assert choose_cluster(["a", "b", "a"]) is None
    names = [f"t{i}" for i in range(MIN_CLUSTERS)]
    assert choose_cluster(names) is not None


@pytest.mark.parametrize(
    ("b", "c", "p"),
    [(0, 6, 0.03125), (6, 0, 0.03125), (1, 5, 14 / 64), (3, 3, 1.0), (0, 0, 1.0), (0, 10, 2 / 1024)],
)
def test_mcnemar_exact_by_hand(b, c, p):
    assert mcnemar_exact(b, c) == pytest.approx(p)


def test_mcnemar_exact_survives_large_counts():
    assert 0 < mcnemar_exact(2000, 2200) < 0.01
    assert mcnemar_exact(2000, 2000) == 1.0


def test_sign_flip_exact_by_hand():
    # ±1±2±3 takes the values ±6, ±4, ±2, 0, 0: |T| >= 6 in 2 of 8 flips
    assert sign_flip_p([1, 2, 3]) == (0.25, True)
    assert sign_flip_p([1, 1, 1, 1, 1]) == (2 / 32, True)
    assert sign_flip_p([0, 0]) == (1.0, True)


def test_sign_flip_monte_carlo_for_many_units():
    p, exact = sign_flip_p(np.ones(30), n_perm=5000, seed=0)
    assert not exact
    assert p == pytest.approx(1 / 5001)  # no random flip reaches |sum| = 30
    p_null, _ = sign_flip_p(np.tile([1.0, -1.0], 15), n_perm=5000, seed=0)
    assert p_null > 0.9


def test_paired_test_binary_uses_mcnemar():
    a = [1] * 6 + [0] * 4
    b = [0] * 10
    res = paired_test(a, b, seed=0)
    assert res.test == "mcnemar-exact"
    assert res.discordant == (6, 0)
    assert res.p_value == pytest.approx(0.03125)
    assert res.diff.mean == pytest.approx(0.6)
    assert (res.mean_a, res.mean_b, res.n) == (pytest.approx(0.6), 0.0, 10)
    assert res.significant()


def test_paired_test_continuous_and_clustered():
    a = np.array([0.5, 0.7, 0.9, 0.4])
    b = np.array([0.4, 0.7, 0.6, 0.5])
    res = paired_test(a, b)
    assert res.test == "sign-flip-exact"
    # non-zero diffs 0.1, 0.3, -0.1: |±0.1±0.3±0.1| >= 0.3 in 6 of 8 flips
    assert res.p_value == pytest.approx(0.75)
    clustered = paired_test(np.ones(12), np.zeros(12), cluster=np.repeat(list("abcdef"), 2))
    assert clustered.test == "cluster-sign-flip-exact"
    assert clustered.p_value == pytest.approx(2 / 64)


def test_paired_test_rejects_unaligned_inputs():
    with pytest.raises(ValueError, match="differ in length"):
        paired_test([1, 0], [1])


def test_ratio_known_value_and_identity():
    orig = np.array([1.0] * 8 + [0.0] * 2)
    alt = np.array([1.0] * 4 + [0.0] * 6)
    base = np.zeros(10)
    res = ratio_ci(alt, orig, base, seed=0)
    assert res.status == "ok"
    assert res.value == pytest.approx(0.5)
    assert res.low <= 0.5 <= res.high
    same = ratio_ci(orig, orig, base)
    assert (same.value, same.low, same.high) == (pytest.approx(1.0), pytest.approx(1.0), pytest.approx(1.0))


def test_ratio_unstable_when_the_gain_is_not_significant():
    orig = np.array([1.0, 0.0] * 10)
    base = np.array([0.0, 1.0] * 9 + [0.0, 0.0])  # gain 0.05 with a CI far across 0
    res = ratio_ci(orig * 0, orig, base)
    assert res.status == "unstable"
    assert res.value is None and res.low is None
    assert res.denominator.includes(0.0)


def test_ratio_undefined_without_gain():
    orig = np.zeros(10)
    res = ratio_ci(orig, orig, np.full(10, 0.5))
    assert res.status == "undefined"
    assert "no gain" in res.reason
    assert ratio_ci(orig, orig, orig).status == "undefined"


def test_statistic_ci_of_a_slope():
    # column means 0.2, 0.4, 0.6 at log2 sizes 1, 2, 3: slope 0.2 exactly, in every replicate
    cols = np.tile([0.2, 0.4, 0.6], (20, 1))
    x = np.array([1.0, 2.0, 3.0])

    def slope(means: np.ndarray) -> np.ndarray:
        xc = x - x.mean()
        return (means - means.mean(axis=1, keepdims=True)) @ xc / (xc @ xc)

    est = statistic_ci(cols, slope)
    assert (est.mean, est.low, est.high) == (pytest.approx(0.2), pytest.approx(0.2), pytest.approx(0.2))


def test_holm_by_hand():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([]) == []


def test_ratio_ci_never_nan_when_a_resample_has_no_gain() -> None:
    """A few resamples with a zero denominator once produced NaN percentiles ("nan%" in reports)."""
    orig = np.ones(50)
    base = np.ones(50)
    base[:4] = 0.0  # gain on 4 of 50 instances: ~1.5% of resamples have none, so the CI stays above 0
    res = ratio_ci(orig, orig, base, seed=0, n_boot=2000)
    assert res.status == "unstable"
    assert res.value is None


def test_ratio_unstable_with_a_significant_but_small_gain_says_so():
    # a gain of 5 of 100 instances: the 95% CI excludes 0, yet a few resamples show no gain
    orig = np.array([1.0] * 5 + [0.0] * 95)
    res = ratio_ci(orig * 0.5, orig, np.zeros(100), seed=0)
    assert res.status == "unstable" and res.denominator.low > 0
    assert "CI excludes 0" in res.reason and "includes 0" not in res.reason
