"""The format/meaning view of a study: each arm's gain over the untuned model split into a format part and
a meaning part (`itprobe.report.decompose`), as a table and a stacked bar chart.

The paper's pattern reads off it directly: tuning with any instruction teaches the output format (a large
format part for every arm), and the original instruction adds little in the label choice (meaning parts
of similar size).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from itprobe.report import plots
from itprobe.report.decompose import Split, holm_splits, split_difference
from itprobe.report.model import Cell, Figure, Section, SectionResult, Table
from itprobe.report.results import InstanceResult
from itprobe.report.views import SPLIT_RULE, UNADJUSTED, ci_text, display, jsonable, part_text, seeds_note


def gain_splits(
    results: Sequence[InstanceResult],
    conditions: Sequence[str],
    baseline: str,
    *,
    size: int | None = None,
    n_boot: int = 2000,
    seed: int = 0,
) -> dict[str, Split]:
    """condition → (condition − baseline) split into format and meaning; parts Holm-adjusted across them."""
    at_size = [r for r in results if r.size is None or r.size == size]
    raw = {
        c: split_difference(at_size, c, baseline, n_boot=n_boot, seed=seed)
        for c in conditions
        if c != baseline
    }
    adjusted = holm_splits(list(raw.values()))
    return {c: s for c, s in zip(raw, adjusted, strict=True) if s is not None}


def gain_split_section(
    results: Sequence[InstanceResult],
    splits: dict[str, Split],
    baseline: str,
    *,
    out_dir: str | Path,
    title: str = "What tuning taught: format or meaning",
    show: Callable[[str], str] = display,
) -> SectionResult | None:
    """The gain of each condition over ``baseline`` as format + meaning (table, stacked bars) from
    `gain_splits`; None when there is none."""
    if not splits:
        return None
    rows: list[list[Cell]] = [
        [
            show(c),
            s.n,
            ci_text(s.total, sign=True),
            part_text(s.format, s),
            f"{s.format.p_adjusted:.3g}" if s.has_format else None,
            part_text(s.meaning, s),
            f"{s.meaning.p_adjusted:.3g}",
            100 * s.in_format_reference,
            100 * s.in_format_other,
        ]
        for c, s in splits.items()
    ]
    table = Table(
        columns=[
            "arm",
            "instances",
            f"arm − {baseline}, EM points [{UNADJUSTED}]",
            f"format part [{UNADJUSTED}]",
            "format p (Holm)",
            f"meaning part [{UNADJUSTED}]",
            "meaning p (Holm)",
            "arm in label set (%)",
            f"{baseline} in label set (%)",
        ],
        rows=rows,
        note=seeds_note(results, list(splits)),
    )
    text = (
        f"The gain of each arm over {baseline} (exact match, instances with a label set) split in two. "
        + SPLIT_RULE
        + " A large format part for every arm and similar meaning parts is the paper's pattern: tuning "
        "teaches the output format, the instruction's meaning adds little."
    )
    section = Section(title=title, paragraphs=[text], tables=[table])
    path, rel = plots.plot_path(out_dir, "gain-split")
    names = list(splits)
    plots.stacked_parts(
        path,
        [show(c) for c in names],
        [splits[c].format.estimate.mean for c in names],
        [splits[c].meaning.estimate.mean for c in names],
        [splits[c].total for c in names],
        title=f"Gain over {baseline}: format and meaning parts",
        ylabel=f"arm − {baseline} (EM points)",
    )
    section.figures.append(
        Figure(
            path=rel, caption=f"Gain over {baseline} per arm: format part (solid) and meaning part (hatched)"
        )
    )
    return SectionResult(section, {c: jsonable(s) for c, s in splits.items()})
