"""The seeds view of a study: each trained condition's score per seed, the seed spread, and the two-level
interval that includes training variance (`itprobe.report.seeds`). Shown only when a condition has two or
more seeds."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from itprobe.report.model import Cell, Section, Table
from itprobe.report.results import InstanceResult, align
from itprobe.report.seeds import seed_scores, seeded_estimate
from itprobe.report.views import ci_text, display

SEEDS_TEXT = (
    "Each trained condition's exact match per training seed (the seed draws the training sample, the arm's "
    "randomness and the initialisation of the adapter), the standard deviation of the seed means, and the "
    "mean with a two-level 95% bootstrap CI (seeds, then tasks, resampled), which includes the variance "
    "between training runs. A verdict about a training arm uses these intervals; with one seed it is not "
    "made."
)


def seed_section(
    results: Sequence[InstanceResult],
    conditions: Sequence[str],
    *,
    size: int | None,
    n_boot: int = 2000,
    seed: int = 0,
    show: Callable[[str], str] = display,
) -> tuple[Section, dict[str, Any]] | None:
    """The per-seed table of the conditions with two or more seeds at ``size``; None when there are none."""
    rows: list[list[Cell]] = []
    data: dict[str, Any] = {}
    for condition in conditions:
        at = [r for r in results if r.condition == condition and (r.size is None or r.size == size)]
        aligned = align(at, [condition])
        scores = seed_scores(at, condition, aligned.keys, size=size) if aligned.n else None
        if scores is None or len(scores.seeds) < 2:
            continue
        est = seeded_estimate(results, condition, size=size, n_boot=n_boot, seed=seed)
        per_seed = scores.per_seed
        data[condition] = {
            "seeds": {str(s): 100 * v for s, v in per_seed.items()},
            "sd": 100 * scores.spread,
            "two_level": None
            if est is None
            else {"mean": 100 * est.mean, "low": 100 * est.low, "high": 100 * est.high},
        }
        each = ", ".join(f"{s}: {100 * v:.1f}" for s, v in per_seed.items())
        low, high = min(per_seed.values()), max(per_seed.values())
        rows.append(
            [
                show(condition),
                len(per_seed),
                each,
                100 * scores.spread,
                f"{100 * low:.1f}–{100 * high:.1f}",
                ci_text(est),
            ]
        )
    if not rows:
        return None
    table = Table(
        title="Exact match per training seed",
        columns=[
            "condition",
            "seeds",
            "EM per seed (%)",
            "SD of seed means",
            "range",
            "mean [two-level 95% CI]",
        ],
        rows=rows,
    )
    return Section(title="Seeds", paragraphs=[SEEDS_TEXT], tables=[table]), data
