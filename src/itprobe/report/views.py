"""Report sections built from `InstanceResult`s: tables + figures + the numbers for report.json.

Shared by study reports and audits. Each builder returns ``(Section, data)`` where ``data`` is plain JSON.
``size`` selects one training size for sized rows (rows without a size always take part).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from itprobe.baselines import oracles
from itprobe.report import plots
from itprobe.report.analysis import ArmComparison, compliance, condition_estimate
from itprobe.report.curves import SizeComparison
from itprobe.report.decompose import Part, Split
from itprobe.report.model import Cell, Figure, Section, SectionResult, Table
from itprobe.report.results import InstanceResult, Metric, align
from itprobe.report.stats import Estimate, RatioEstimate

ORACLES = tuple(oracles())  # baselines that read the test labels (declared in itprobe.baselines)
UNADJUSTED = "95% CI, unadjusted"
CI_RULE = (
    "Intervals are 95% percentile bootstraps for each comparison on its own (unadjusted); multiplicity "
    "is handled by the Holm-adjusted p-values, and a verdict claims a difference only when the Holm-"
    "adjusted p is below 0.05 (a format or meaning part: also when its interval excludes 0)."
)
SPLIT_RULE = (
    "Format part: points won or lost on instances where one side answered outside the label set; meaning "
    "part: points won or lost among answers in the label set under both (format + meaning = the EM "
    "difference on the instances with a label set). Rank classification has no format part by "
    "construction: every answer is a label."
)


def display(condition: str) -> str:
    """A condition's name as reports show it when its producer names nothing else: an oracle baseline by
    its own name says so. A producer whose conditions are `itprobe.records.Condition` records passes
    their `Condition.display` as ``show`` to the section builders (a name is never split)."""
    return f"{condition} (oracle)" if condition in ORACLES else condition


def seeds_note(results: Sequence[InstanceResult], conditions: Sequence[str]) -> str:
    """The table note for conditions trained with several seeds ("" when every one has a single seed)."""
    counts = {c: len({r.seed for r in results if r.condition == c}) for c in conditions}
    many = {c: k for c, k in counts.items() if k > 1}
    if not many:
        return ""
    k = max(many.values())
    return (
        f"Seeds: {', '.join(sorted(many))} average up to {k} training seeds per instance for the tests; "
        "the intervals of their scores and differences are two-level bootstraps (seeds, then tasks or "
        "instances) and include the variance between training runs; those of the format and meaning parts "
        "and of the gain kept resample tasks or instances only."
    )


def part_text(part: Part | None, split: Split | None) -> str | None:
    """A part of a split for a table cell; says when there is no format part by construction."""
    if split is None or part is None:
        return None
    if part is split.format and not split.has_format:
        return "none (rank)" if split.mode == "rank" else "0 (all in label set)"
    return ci_text(part.estimate, sign=True)


def ci_text(est: Estimate | None, scale: float = 100.0, digits: int = 1, sign: bool = False) -> str | None:
    """ "52.3 [48.1, 56.0]" (×``scale``); None for a missing estimate."""
    if est is None:
        return None
    f = f"{{:{'+' if sign else ''}.{digits}f}}"
    return f"{f.format(est.mean * scale)} [{f.format(est.low * scale)}, {f.format(est.high * scale)}]"


def kept_text(kept: RatioEstimate | None) -> str | None:
    if kept is None:
        return None
    if kept.status != "ok" or kept.value is None or kept.low is None or kept.high is None:
        return kept.status
    return f"{100 * kept.value:.0f}% [{100 * kept.low:.0f}%, {100 * kept.high:.0f}%]"


def jsonable(obj: Any) -> Any:
    """Dataclasses, tuples and numpy scalars → plain JSON values."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _rows(results: Sequence[InstanceResult], condition: str, size: int | None) -> list[InstanceResult]:
    return [r for r in results if r.condition == condition and (r.size is None or r.size == size)]


def scores_section(
    results: Sequence[InstanceResult],
    conditions: Sequence[str],
    *,
    out_dir: str | Path,
    size: int | None = None,
    references: Sequence[str] = (),
    lines: Sequence[str] | None = None,
    title: str = "Scores per arm",
    name: str = "scores",
    n_boot: int = 2000,
    seed: int = 0,
    show: Callable[[str], str] = display,
) -> SectionResult:
    """Exact match and ROUGE-L per condition with 95% CIs; a bar chart of the conditions with the
    ``lines`` among the ``references`` drawn as lines (None: every reference; a study draws only the
    baselines under the original instruction, their other test arms are in the table)."""
    rows: list[list[Cell]] = []
    data: dict[str, Any] = {}
    em: dict[str, Estimate] = {}
    for cond in [*conditions, *[r for r in references if r not in conditions]]:
        cr = _rows(results, cond, size)
        est_em = condition_estimate(results, cond, metric="exact_match", size=size, n_boot=n_boot, seed=seed)
        est_rl = condition_estimate(results, cond, metric="rougeL", size=size, n_boot=n_boot, seed=seed)
        if est_em is None:
            continue
        em[cond] = est_em
        n_tasks = len({r.task for r in cr})
        n_seeds = len({r.seed for r in cr})
        how = est_em.method + (f"; {n_seeds} seeds, seed variance in the CI" if n_seeds > 1 else "")
        rows.append([show(cond), est_em.n, n_tasks, ci_text(est_em), ci_text(est_rl), how])
        data[cond] = {"exact_match": jsonable(est_em), "rougeL": jsonable(est_rl), "n_tasks": n_tasks}
    table = Table(
        columns=["arm", "instances", "tasks", "exact match [95% CI]", "ROUGE-L [95% CI]", "resampling"],
        rows=rows,
        note=seeds_note(results, list(em)),
    )
    section = Section(title=title, tables=[table])
    bars = [c for c in conditions if c in em and c not in references]
    drawn = [r for r in references if r in em and (lines is None or r in lines)]
    if bars:
        path, rel = plots.plot_path(out_dir, name)
        plots.bar_chart(
            path,
            [show(c) for c in bars],
            [em[c] for c in bars],
            title=title,
            ylabel="exact match (%)",
            references={show(r): em[r].mean for r in drawn},
        )
        section.figures.append(
            Figure(
                path=rel,
                caption=f"{title}: exact match with 95% CIs; lines: "
                + (", ".join(show(r) for r in drawn) or "none"),
            )
        )
    return SectionResult(section, data)


def comparison_cells(c: ArmComparison | SizeComparison) -> list[Cell]:
    """A paired comparison's cells: difference with CI, the test, raw and Holm p, format and meaning parts."""
    return [
        ci_text(c.test.diff, sign=True),
        c.test.test,
        f"{c.test.p_value:.3g}",
        f"{c.p_adjusted:.3g}",
        part_text(c.split.format if c.split else None, c.split),
        part_text(c.split.meaning if c.split else None, c.split),
    ]


def comparison_section(
    em: Sequence[ArmComparison],
    rouge: Sequence[ArmComparison] = (),
    *,
    title: str = "Original vs each altered arm",
    note: str = "",
    show: Callable[[str], str] = display,
) -> SectionResult:
    """reference − arm per arm: difference with CI, test, raw and Holm p, its format and meaning parts, the
    ROUGE-L difference, and the gain kept over the baseline."""
    by_arm = {c.arm: c for c in rouge}
    ref = em[0].reference if em else "original"
    # without a baseline (the audit gives its survival ratio elsewhere) the gain-kept column would be empty
    base = next((c.baseline for c in em if c.baseline), "")
    rows: list[list[Cell]] = []
    for c in em:
        r = by_arm.get(c.arm)
        rows.append(
            [
                show(c.arm),
                *comparison_cells(c),
                ci_text(r.test.diff, sign=True) if r else None,
                *([kept_text(c.kept)] if base else []),
            ]
        )
    table = Table(
        columns=[
            "arm",
            f"{ref} − arm, EM points [{UNADJUSTED}]",
            "test",
            "p",
            "p (Holm)",
            f"format part [{UNADJUSTED}]",
            f"meaning part [{UNADJUSTED}]",
            f"{ref} − arm, ROUGE-L points",
            *([f"gain over {base} kept (EM)"] if base else []),
        ],
        rows=rows,
        note=note,
    )
    text = (
        f"Paired per instance: the same test instances under {ref} and under each arm. p (Holm) is adjusted "
        "for comparing several arms with one reference. 'unstable' / 'undefined': the gain of the reference "
        "over the baseline is not clearly positive, so a ratio would be meaningless."
    )
    data = {"exact_match": jsonable(list(em)), "rougeL": jsonable(list(rouge))}
    if not rows:
        text = f"No altered arm shares test instances with {ref}: nothing to compare."
    paragraphs = [text, SPLIT_RULE, CI_RULE] if rows else [text]
    return SectionResult(Section(title=title, paragraphs=paragraphs, tables=[table] if rows else []), data)


def compliance_section(
    results: Sequence[InstanceResult],
    conditions: Sequence[str],
    *,
    size: int | None = None,
    title: str = "Format compliance",
    show: Callable[[str], str] = display,
) -> SectionResult:
    """In-space rates, EM given in-space, and (label-scheme probes) old-label leakage per condition."""
    rows: list[list[Cell]] = []
    data = {}
    for cond in conditions:
        comp = compliance(results, cond, size=size)
        if comp.n == 0:
            continue
        pct = [
            None if v is None else 100 * v
            for v in (
                comp.in_space_strict,
                comp.in_space_loose,
                comp.em_given_in_space,
                comp.leakage,
                comp.old_meaning,
            )
        ]
        rows.append([show(cond), comp.n, *pct])
        data[cond] = jsonable(comp)
    table = Table(
        columns=[
            "arm",
            "answers with a label set (all seeds)",
            "in space, strict (%)",
            "in space, loose (%)",
            "EM given in space (%)",
            "old-label leakage (%)",
            "followed old meaning (%)",
        ],
        rows=rows,
    )
    text = (
        "Strict: the normalised answer is exactly a label; loose: a label occurs in the answer. Leakage and "
        "old meaning apply only to the label-rename and label-swap probes."
    )
    return SectionResult(Section(title=title, paragraphs=[text], tables=[table] if rows else []), data)


def per_task_section(
    results: Sequence[InstanceResult],
    conditions: Sequence[str],
    *,
    out_dir: str | Path,
    size: int | None = None,
    metric: Metric = "exact_match",
    name: str = "per-task",
    title: str = "Per task and per category",
    show: Callable[[str], str] = display,
) -> SectionResult:
    """Mean score per task × condition (table + heatmap) and per category × condition."""
    present = [c for c in conditions if _rows(results, c, size)]
    per_task: dict[str, dict[str, float]] = {}
    cats: dict[str, dict[str, list[float]]] = {}
    category_of = {r.task: r.category for r in results}
    for cond in present:
        aligned = align(_rows(results, cond, size), [cond], metric)
        by_task: dict[str, list[float]] = defaultdict(list)
        for (task, _), v in zip(aligned.keys, aligned.scores[cond], strict=True):
            by_task[task].append(float(v))
            cats.setdefault(category_of.get(task, "") or "(none)", {}).setdefault(cond, []).append(float(v))
        for task, vals in by_task.items():
            per_task.setdefault(task, {})[cond] = float(np.mean(vals))
    tasks = sorted(per_task)
    rows: list[list[Cell]] = [[t, *[_pct(per_task[t].get(c)) for c in present]] for t in tasks]
    cat_rows: list[list[Cell]] = [
        [k, *[_pct(float(np.mean(v[c])) if c in v else None) for c in present]]
        for k, v in sorted(cats.items())
    ]
    label = "exact match" if metric == "exact_match" else "ROUGE-L"
    section = Section(
        title=title,
        tables=[
            Table(title=f"{label} (%) per task", columns=["task", *map(show, present)], rows=rows),
            Table(
                title=f"{label} (%) per category (instance mean)",
                columns=["category", *map(show, present)],
                rows=cat_rows,
            ),
        ],
    )
    if tasks and present:
        grid = np.array([[per_task[t].get(c, np.nan) for c in present] for t in tasks])
        path, rel = plots.plot_path(out_dir, name)
        plots.heatmap(path, tasks, [show(c) for c in present], grid, title=f"{label} (%) per task")
        section.figures.append(Figure(path=rel, caption=f"{label} (%) per task and arm"))
    return SectionResult(section, {"per_task": per_task})


def _pct(v: float | None) -> float | None:
    return None if v is None else 100 * v
