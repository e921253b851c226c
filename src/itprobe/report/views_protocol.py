"""The evaluator's format help: how much a decoding protocol that cuts answers hands the model.

Two protocols scored on the same greedy continuations (`itprobe.decoding`: the second is a cut of the first,
so no second model pass is needed) give each instance two scores. Their paired difference, per condition
and training size, is what the cut alone adds: ``first-line − tk-instruct`` is the score a model gets for
free when the evaluator, not the model, decides where its answer ends — the "format" Kung & Peng say
instruction tuning teaches. It is reported as a format effect of its own, beside each protocol's score
and the share of answers that are a label under each.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from itprobe.records import InstanceResult
from itprobe.report.model import Section, Table
from itprobe.report.results import align
from itprobe.report.stats import holm, paired_test
from itprobe.report.views import ci_text

_HEAD, _CUT = "\x00headline", "\x00cut"  # private condition names of the paired rows


def _groups(rows: Sequence[InstanceResult]) -> list[tuple[str, int | None]]:
    return list(dict.fromkeys((r.condition, r.size) for r in rows))


def _mean(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def format_help_section(
    headline: Sequence[InstanceResult],
    cut: Sequence[InstanceResult],
    *,
    headline_name: str,
    cut_name: str,
    show: Callable[[str], str] = str,
    order: Sequence[str] = (),
    n_boot: int = 2000,
    seed: int = 0,
) -> tuple[Section, dict[str, Any]] | None:
    """One row per (condition, size) present under both protocols: exact match under each, the paired
    difference cut − headline with its CI and a Holm-adjusted p (over the rows), in-label-set shares.

    Only rows produced by decoding are passed (a baseline's answers have no protocol). Rows go in the
    order of ``order`` (conditions not in it after, as first seen), then by size. None when no condition
    has rows under both.
    """
    by_group: dict[tuple[str, int | None], list[InstanceResult]] = {}
    for tag, rows in ((_HEAD, headline), (_CUT, cut)):
        for r in rows:
            by_group.setdefault((r.condition, r.size), []).append(dataclasses.replace(r, condition=tag))
    found = []
    rank = {c: i for i, c in enumerate(order)}
    groups = _groups(headline)
    groups.sort(key=lambda g: (rank.get(g[0], len(rank)), g[1] is not None, g[1] or 0))  # stable
    for group in groups:
        rows = by_group.get(group, [])
        aligned = align(rows, [_HEAD, _CUT])
        if aligned.n == 0:
            continue
        s = aligned.scores
        test = paired_test(s[_CUT], s[_HEAD], n_boot=n_boot, seed=seed, cluster=aligned.resampling())
        in_space = {tag: _mean([r.in_format for r in rows if r.condition == tag]) for tag in (_HEAD, _CUT)}
        found.append((group, test, in_space))
    if not found:
        return None
    adjusted = holm([t.p_value for _, t, _ in found])
    table_rows: list[list[Any]] = []
    data: dict[str, Any] = {"headline": headline_name, "cut": cut_name, "rows": []}
    for ((condition, size), test, in_space), p in zip(found, adjusted, strict=True):
        pct = {k: None if v is None else 100 * v for k, v in in_space.items()}
        table_rows.append(
            [show(condition), size, 100 * test.mean_b, 100 * test.mean_a, ci_text(test.diff, sign=True), p,
             pct[_HEAD], pct[_CUT], test.n]
        )  # fmt: skip
        data["rows"].append(
            {"condition": condition, "size": size, "n": test.n, headline_name: test.mean_b,
             cut_name: test.mean_a, "help": test.diff.mean, "low": test.diff.low, "high": test.diff.high,
             "p_holm": p, f"in_space_{headline_name}": in_space[_HEAD], f"in_space_{cut_name}": in_space[_CUT]}
        )  # fmt: skip
    columns = [
        "condition", "size", f"EM {headline_name}", f"EM {cut_name}",
        f"format help: {cut_name} − {headline_name} (95% CI, unadjusted)", "p (Holm)",
        f"in label set, {headline_name} (%)", f"in label set, {cut_name} (%)", "n",
    ]  # fmt: skip
    text = (
        f"The same greedy continuations scored under two protocols: '{headline_name}' (the headline) and "
        f"'{cut_name}', a cut of them. The difference is what the cut alone adds to a model's score — the "
        "answer boundary handed to the model by the evaluator, a format effect that no training or "
        "instruction produced. Seeds averaged per instance; p-values Holm-adjusted over the rows."
    )
    table = Table(title="The evaluator's format help", columns=columns, rows=table_rows)
    return Section(title="The evaluator's format help", paragraphs=[text], tables=[table]), data
