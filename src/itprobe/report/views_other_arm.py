"""What each model reads at test time: a model tested with another arm than its usual one, paired with itself.

A study may test a trained model (and the untuned one) under further test arms, e.g. the original
instruction for a model trained on a simplified one, or the shuffled-input probe. Such a score alone says
little; paired with the same model (training arm, size, the seeds both have) under its usual arm, the
difference says what the changed part of the prompt is worth to that model: a model whose score does not
fall when each instance gets another instance's input has not shown that it reads the input. Which
condition is the usual one is the caller's (`itprobe.study.conditions.other_arm_pairs`); the arithmetic is
`compare_arms`', so the seed rule, the two-level interval and the format/meaning split are the comparisons'.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from itprobe.records import InstanceResult
from itprobe.report.analysis import ArmComparison, compare_arms
from itprobe.report.decompose import holm_splits
from itprobe.report.model import Section, Table
from itprobe.report.stats import holm
from itprobe.report.views import UNADJUSTED, comparison_cells, jsonable, seeds_note

TITLE = "What each model reads at test time"


def other_arm_section(
    results: Sequence[InstanceResult],
    pairs: Sequence[tuple[str, str]],
    *,
    show: Callable[[str], str] = str,
    n_boot: int = 2000,
    seed: int = 0,
) -> tuple[Section, dict[str, Any]] | None:
    """One row per (usual, other) pair and training size of ``other``: usual − other in exact match, paired
    per instance, with its CI, p-values Holm-adjusted over the rows, and the format/meaning split. None
    when no pair has rows on both sides."""
    found: list[tuple[int | None, ArmComparison]] = []
    for usual, other in pairs:
        sizes = sorted(
            {r.size for r in results if r.condition == other}, key=lambda s: (s is not None, s or 0)
        )
        for size in sizes:
            compared = compare_arms(results, usual, [other], size=size, n_boot=n_boot, seed=seed)
            found.extend((size, c) for c in compared)
    if not found:
        return None
    # one family: every row is a question about the same study
    adjusted = holm([c.test.p_value for _, c in found])
    splits = holm_splits([c.split for _, c in found])
    found = [
        (size, dataclasses.replace(c, p_adjusted=p, split=s))
        for (size, c), p, s in zip(found, adjusted, splits, strict=True)
    ]
    rows = [
        [f"{show(c.reference)} − {show(c.arm)}", size, 100 * c.test.mean_a, 100 * c.test.mean_b,
         *comparison_cells(c), c.test.n]
        for size, c in found
    ]  # fmt: skip
    columns = [
        "usual − other test arm", "size", "EM usual", "EM other", f"difference, EM points [{UNADJUSTED}]",
        "test", "p", "p (Holm)", f"format part [{UNADJUSTED}]", f"meaning part [{UNADJUSTED}]", "n",
    ]  # fmt: skip
    text = (
        "Each model tested with another arm than its usual one, paired per instance with the same model "
        "(training arm and size; the seeds both sides have) under its usual arm: the original instruction, "
        "or, for a model tested with the original instruction, the arm it was trained with. A score that does "
        "not fall when each instance gets another instance's input (shuffled-input) is a model that has not "
        "shown it reads the input; a difference between a model's own training arm and the original "
        "instruction is how much it depends on the instruction it was trained with. The p-values hold the "
        "trained models fixed (the variance between training seeds is in the intervals only) and are "
        "Holm-adjusted over the rows."
    )
    note = seeds_note(results, list(dict.fromkeys(n for p in pairs for n in p)))
    table = Table(title=TITLE, columns=columns, rows=rows, note=note)
    data = [
        {"usual": c.reference, "other": c.arm, "size": size, "difference": jsonable(c.test),
         "p_holm": c.p_adjusted, "split": jsonable(c.split)}
        for size, c in found
    ]  # fmt: skip
    return Section(title=TITLE, paragraphs=[text], tables=[table]), {"pairs": data}
