"""Operational-risk sections: the cost of errors, and how much data a PoC needs (learning curves)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from itprobe.metrics import gold_label
from itprobe.report import plots
from itprobe.report.costs import CostFile, confusion_matrix, instance_costs
from itprobe.report.curves import gain_per_doubling, learning_curve, smallest_winning_size
from itprobe.report.model import Cell, Figure, Section, SectionResult, Table
from itprobe.report.results import InstanceResult, resampling_of, units_of
from itprobe.report.stats import Estimate, bootstrap_ci, holm, paired_test
from itprobe.report.views import (
    UNADJUSTED,
    ci_text,
    comparison_cells,
    display,
    jsonable,
    seeds_note,
)


def _rows(results: Sequence[InstanceResult], condition: str, size: int | None) -> list[InstanceResult]:
    # label-scheme probes change the labels the cost file was written for; their costs are not comparable
    return [
        r
        for r in results
        if r.condition == condition
        and (r.size is None or r.size == size)
        and r.labels
        and not r.original_labels
    ]


def _mean_cost_by_key(rows: Sequence[InstanceResult], costs: CostFile) -> dict[tuple[str, str], float]:
    acc: dict[tuple[str, str], list[float]] = {}
    for r, c in zip(rows, instance_costs(rows, costs), strict=True):
        acc.setdefault(r.key, []).append(float(c))
    return {k: sum(v) / len(v) for k, v in acc.items()}


def cost_section(
    results: Sequence[InstanceResult],
    conditions: Sequence[str],
    costs: CostFile,
    *,
    out_dir: str | Path,
    reference: str = "original",
    size: int | None = None,
    max_confusions: int = 8,
    n_boot: int = 2000,
    seed: int = 0,
    title: str = "Cost of errors",
    show: Callable[[str], str] = display,
) -> SectionResult:
    """Expected cost per decision per condition (CI), paired cost differences vs ``reference``, and
    confusion matrices of ``reference`` per task (at most ``max_confusions`` plotted)."""
    per_cond = {c: _mean_cost_by_key(_rows(results, c, size), costs) for c in conditions}
    per_cond = {c: v for c, v in per_cond.items() if v}
    units = units_of(results)
    est: dict[str, Estimate] = {}
    for cond, by_key in per_cond.items():
        keys = sorted(by_key)
        est[cond] = bootstrap_ci(
            [by_key[k] for k in keys], n_boot=n_boot, seed=seed, cluster=resampling_of(keys, units)
        )
    diffs = _cost_diffs(per_cond, reference, units, n_boot=n_boot, seed=seed)
    rows: list[list[Cell]] = [
        [show(c), e.n, ci_text(e, scale=1.0, digits=3), *diffs.get(c, (None, None))] for c, e in est.items()
    ]
    section = Section(
        title=title,
        paragraphs=[
            "Expected cost per decision under the cost file (classification instances only; label-scheme probes "
            f"excluded because their labels differ from the file's). Difference = arm − {reference}: positive "
            "means the arm costs more."
        ],
    )
    if not est:
        section.paragraphs.append("No classification instances with an output space: no costs to compute.")
        return SectionResult(section, {})
    section.tables.append(
        Table(
            columns=[
                "arm",
                "decisions",
                "expected cost [95% CI]",
                f"arm − {reference} [{UNADJUSTED}]",
                "p (Holm)",
            ],
            rows=rows,
            digits=3,
        )
    )
    if est:
        path, rel = plots.plot_path(out_dir, "cost")
        plots.bar_chart(
            path,
            [show(c) for c in est],
            list(est.values()),
            title="Expected cost per decision",
            ylabel="expected cost",
            scale=1.0,
        )
        section.figures.append(Figure(path=rel, caption="Expected cost per decision with 95% CIs"))
    _confusions(section, _rows(results, reference, size), reference, out_dir, max_confusions)
    return SectionResult(section, {"expected_cost": jsonable(est), "vs_reference": jsonable(diffs)})


def _cost_diffs(
    per_cond: dict[str, dict[tuple[str, str], float]],
    reference: str,
    units: dict[tuple[str, str], tuple[str, str]],
    *,
    n_boot: int,
    seed: int,
) -> dict[str, tuple[str | None, str]]:
    if reference not in per_cond:
        return {}
    tests = []
    for cond, by_key in per_cond.items():
        keys = sorted(set(by_key) & set(per_cond[reference]))
        if cond == reference or not keys:
            continue
        a, b = [by_key[k] for k in keys], [per_cond[reference][k] for k in keys]
        tests.append((cond, paired_test(a, b, n_boot=n_boot, seed=seed, cluster=resampling_of(keys, units))))
    adjusted = holm([t.p_value for _, t in tests])
    return {
        c: (ci_text(t.diff, scale=1.0, digits=3, sign=True), f"{p:.3g}")
        for (c, t), p in zip(tests, adjusted, strict=True)
    }


def _confusions(
    section: Section, rows: Sequence[InstanceResult], condition: str, out_dir: str | Path, limit: int
) -> None:
    tasks = sorted({r.task for r in rows})
    for i, task in enumerate(tasks):
        of_task = [r for r in rows if r.task == task]
        first_seed = min(r.seed for r in of_task)  # one seed: a confusion matrix counts decisions
        task_rows = [r for r in of_task if r.seed == first_seed]
        labels = task_rows[0].labels
        conf = confusion_matrix(
            [gold_label(r.references, r.labels) for r in task_rows], [r.prediction for r in task_rows], labels
        )
        cells: list[list[Cell]] = [[g, *row] for g, row in zip(conf.rows, conf.counts, strict=True)]
        section.tables.append(
            Table(
                title=f"Confusion matrix: {task} ({condition}, gold × predicted)",
                columns=["gold / predicted", *conf.columns],
                rows=cells,
            )
        )
        if i < limit:
            path, rel = plots.plot_path(out_dir, f"confusion-{condition}-{task}")
            plots.confusion_chart(path, conf, title=f"{task} ({condition})")
            section.figures.append(Figure(path=rel, caption=f"Confusion matrix of {task} under {condition}"))


def curve_section(
    results: Sequence[InstanceResult],
    conditions: Sequence[str],
    *,
    out_dir: str | Path,
    reference: str = "original",
    primary: str = "simplified",
    references: dict[str, float] | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    title: str = "How much data a PoC needs",
    show: Callable[[str], str] = display,
) -> SectionResult:
    """Learning curve per arm with CIs, the smallest size where ``reference`` beats ``primary``, and the
    marginal gain per doubling of training data. ``references``: name → score (0..1) drawn as lines."""
    points = learning_curve(results, conditions, n_boot=n_boot, seed=seed)
    # a partial run may not have finished any altered arm yet: comparing the reference with itself says nothing
    win = (
        smallest_winning_size(results, reference, primary, n_boot=n_boot, seed=seed)
        if primary != reference
        else None
    )
    section = Section(
        title=title,
        paragraphs=[
            win.statement,
            f"The {primary} arm is the format-only model (trained with the output space alone); random "
            "guessing over the label set is the format-only reference without any training.",
        ]
        if win is not None
        else [f"No altered arm has finished yet: only the learning curve of {reference} is shown."],
    )
    rows: list[list[Cell]] = [[p.condition, p.size, p.estimate.n, ci_text(p.estimate)] for p in points]
    section.tables.append(
        Table(
            title="Learning curve (exact match %)",
            columns=["arm", "instances per task", "test instances", "EM [95% CI]"],
            rows=rows,
            note=seeds_note(results, list(conditions)),
        )
    )
    if win is not None:
        cmp_rows: list[list[Cell]] = [[c.size, *comparison_cells(c)] for c in win.comparisons]
        section.tables.append(
            Table(
                title=f"{reference} − {primary} per size",
                columns=[
                    "instances per task",
                    f"EM points [{UNADJUSTED}]",
                    "test",
                    "p",
                    "p (Holm across sizes)",
                    f"format part [{UNADJUSTED}]",
                    f"meaning part [{UNADJUSTED}]",
                ],
                rows=cmp_rows,
            )
        )
    slopes = {c: gain_per_doubling(results, c, n_boot=n_boot, seed=seed) for c in conditions}
    slope_rows: list[list[Cell]] = [[c, ci_text(s, sign=True)] for c, s in slopes.items() if s is not None]
    if slope_rows:
        section.tables.append(
            Table(
                title="Marginal gain per doubling of training data",
                columns=["arm", "EM points per doubling [95% CI]"],
                rows=slope_rows,
                note="Least-squares slope of exact match against log2(instances per task).",
            )
        )
    if points:
        path, rel = plots.plot_path(out_dir, "learning-curve")
        plots.curve_chart(
            path,
            points,
            title="Exact match vs training data",
            ylabel="exact match (%)",
            references={show(k): v for k, v in (references or {}).items()},
        )
        section.figures.append(
            Figure(
                path=rel,
                caption="Learning curve per arm with 95% CI bands; lines: "
                + (", ".join(map(show, references or {})) or "none"),
            )
        )
    return SectionResult(
        section,
        {
            "curve": jsonable(points),
            "smallest_win": jsonable(win),
            "per_doubling": jsonable(slopes),
        },
    )
