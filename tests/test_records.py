"""`itprobe.records.Condition`: a report condition as data, its label rendered (never parsed back)."""

from __future__ import annotations

import dataclasses

import pytest

from itprobe.records import Condition


@pytest.mark.parametrize(
    ("condition", "label", "test_arm", "trained"),
    [
        (Condition("simplified"), "simplified", "simplified", True),
        (Condition("simplified", "original"), "simplified@original", "original", True),
        (Condition("untuned"), "untuned", "original", False),
        (
            Condition("untuned", "simplified+label-swap"),
            "untuned@simplified+label-swap",
            "simplified+label-swap",
            False,
        ),
        (
            Condition("majority", "empty", mode="rank", size=4, seed=1, baseline="oracle"),
            "majority@empty",
            "empty",
            False,
        ),
        (Condition("demo-majority", baseline="control"), "demo-majority", "original", False),
    ],
)
def test_condition_label_and_parts(condition: Condition, label: str, test_arm: str, trained: bool) -> None:
    assert (condition.label, condition.test_arm, condition.trained) == (label, test_arm, trained)


def test_condition_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Condition("original").tested_with = "x"  # type: ignore[misc]


def test_an_oracle_baseline_says_so_under_every_test_arm() -> None:
    assert Condition("majority", baseline="oracle").display == "majority (oracle)"
    assert Condition("majority", "simplified", baseline="oracle").display == "majority@simplified (oracle)"
    assert Condition("random", "simplified", baseline="control").display == "random@simplified"
    assert Condition("simplified", "original").display == "simplified@original"
