"""The audit's own report sections: instruction reliance, label prior and calibration, label-scheme probes,
contrast consistency, and what the arms did. The generic ones (scores, comparisons, compliance, per task,
costs) come from `itprobe.report.views` / `views_risk`.

Each builder returns ``(Section, data)``; ``data`` is plain JSON for audit.json.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from itprobe.audit.catalogue import label_probes
from itprobe.audit.prior import LabelPrior
from itprobe.audit.reliance import OVERALL, Key, Reliance, Survival, reliance_by_task, survival_by_task
from itprobe.metrics import gold_label, normalize_answer
from itprobe.report import (
    Aligned,
    Cell,
    Estimate,
    Figure,
    InstanceResult,
    Section,
    SectionResult,
    Table,
    align,
    bar_chart,
    bootstrap_ci,
    ci_text,
    compliance,
    consistency_by_seed,
    jsonable,
    paired_test,
    plot_path,
)
from itprobe.tasks.types import Task

MODE_LABEL = {"rank": "rank classification", "generate": "generation"}


def pct(value: float | None) -> float | None:
    return None if value is None else 100.0 * value


def survival_text(s: Survival | None) -> str | None:
    if s is None:
        return None
    if s.status != "ok" or s.value is None or s.low is None or s.high is None:
        return "undefined"
    return f"{100 * s.value:.0f}% [{100 * s.low:.0f}%, {100 * s.high:.0f}%]"


RELIANCE_TEXT = (
    "Reliance = exact match with the original instruction − the best exact match any meaning-free "
    "instruction reaches (simplified, empty, irrelevant) on the same instances, in points with a "
    "paired 95% bootstrap CI (the best arm is re-chosen in every resample). Margin kept = (simplified "
    "− random) / (original − random), random = the expected exact match of a uniform guess over the "
    "output space; 'undefined' when the margin of original over random is not clearly positive."
)
RELIANCE_COLUMNS = [
    "task",
    "instances",
    "original EM (%)",
    "best meaning-free arm (EM %)",
    "reliance, EM points [95% CI]",
    "random, expected (%)",
    "margin kept by simplified",
]


@dataclass(frozen=True)
class RelianceRow:
    """One row of a mode's reliance table: a task (or "overall"), its reliance, the analytic random
    expectation and the margin kept by simplified. The audit report's table and ``itprobe audit``'s
    console summary are both made from these."""

    mode: str
    reliance: Reliance
    random: float | None
    kept: Survival | None

    @property
    def best(self) -> float:
        """The best meaning-free arm's mean score (0..1)."""
        return dict(self.reliance.arms)[self.reliance.best_arm]


class RelianceSection(NamedTuple):
    """`reliance_section`'s result: the section, its JSON data, the table's rows as records (per task, then
    overall) and the overall surviving margin."""

    section: Section
    data: dict[str, Any]
    rows: list[RelianceRow]
    survival: Survival | None


def reliance_section(
    rows: Sequence[InstanceResult],
    mode: str,
    random_expected: Mapping[Key, float],
    *,
    out_dir: Path,
    n_boot: int,
    seed: int,
) -> RelianceSection:
    """Per-task and overall reliance and surviving margin (table + bar chart of reliance), with the
    table's rows as records (per task, then overall) and the overall surviving margin."""
    per_task, overall = reliance_by_task(rows, mode, n_boot=n_boot, seed=seed)
    surv_tasks, surv_overall = survival_by_task(rows, mode, random_expected, n_boot=n_boot, seed=seed)
    survival = {s.scope: s for s in surv_tasks}
    if surv_overall is not None:
        survival[OVERALL] = surv_overall
    rand = _random_means(random_expected)
    typed = [
        RelianceRow(
            mode,
            rel,
            rand.get(rel.scope) if rel.scope != OVERALL else _overall_random(rows, random_expected),
            survival.get(rel.scope),
        )
        for rel in [*per_task, *([overall] if overall else [])]
    ]
    table_rows: list[list[Cell]] = [
        [
            r.reliance.scope,
            r.reliance.n,
            pct(r.reliance.original),
            f"{r.reliance.best_arm} ({100 * r.best:.1f})",
            ci_text(r.reliance.estimate, sign=True),
            pct(r.random),
            survival_text(r.kept),
        ]
        for r in typed
    ]
    label = MODE_LABEL.get(mode, mode)
    section = Section(
        title=f"Instruction reliance ({label})",
        paragraphs=[RELIANCE_TEXT],
        tables=[Table(columns=RELIANCE_COLUMNS, rows=table_rows)],
    )
    if typed:
        section.figures.append(_reliance_plot([r.reliance for r in typed], label, out_dir))
    data = {"per_task": jsonable(per_task), "overall": jsonable(overall), "margin_kept": jsonable(survival)}
    return RelianceSection(section, data, typed, surv_overall)


def _reliance_plot(shown: Sequence[Reliance], label: str, out_dir: Path) -> Figure:
    path, rel_path = plot_path(out_dir, "reliance")
    bar_chart(
        path,
        [r.scope for r in shown],
        [r.estimate for r in shown],
        title=f"Instruction reliance ({label})",
        ylabel="original − best meaning-free (EM points)",
    )
    return Figure(path=rel_path, caption=f"Instruction reliance per task and overall ({label}), 95% CIs")


def _random_means(random_expected: Mapping[Key, float]) -> dict[str, float]:
    acc: dict[str, list[float]] = {}
    for (task, _), v in random_expected.items():
        acc.setdefault(task, []).append(v)
    return {t: float(np.mean(v)) for t, v in acc.items()}


def _overall_random(rows: Sequence[InstanceResult], random_expected: Mapping[Key, float]) -> float | None:
    keys = {r.key for r in rows if r.condition == "original"} & set(random_expected)
    return float(np.mean([random_expected[k] for k in keys])) if keys else None


PRIOR_TEXT = (
    'Prior: the model\'s label distribution when the input is replaced by "N/A" (instruction and '
    "examples unchanged). Entropy in bits; normalised entropy 1 = no preference, 0 = always the "
    "favoured label. Calibrated (Zhao et al. 2021): each label probability divided by its prior "
    "probability, renormalised, argmax. A model that answers from the prior picks the favoured label "
    "far more often than the gold has it."
)
PRIOR_COLUMNS = [
    "task",
    "prior",
    "entropy (bits)",
    "normalised entropy",
    "favoured label",
    "answers = favoured (%)",
    "gold = favoured (%)",
    "rank EM [95% CI]",
    "calibrated EM [95% CI]",
    "calibrated − rank, points [95% CI]",
]
LABEL_TEXT = (
    "label-rename gives every label a new word and says so in the instruction; label-swap tells the "
    "model that two labels exchange meanings. Gold follows the new instruction, so a model that follows "
    "instructions keeps its score. Old-label leakage (label-rename): share of answers that are a label of "
    "the old scheme only (generation only; rank mode can only choose new labels). Followed old meaning "
    "(label-swap): among instances whose gold moved to the other label, the share answered with the old "
    "gold. '–' where a probe cannot show the rate: a swap keeps every old label, a rename every meaning."
)
LABEL_COLUMNS = [
    "mode",
    "probe",
    "instances",
    "EM [95% CI]",
    "original EM (%)",
    "original − probe, points [95% CI]",
    "p (McNemar)",
    "old-label leakage (%)",
    "followed old meaning (%)",
]
CONTRAST_TEXT = (
    "Tasks of one contrast group apply different rules to the same inputs. Consistency: share of items "
    "answered correctly under every rule of the group. Chance: a uniform guesser. Rule-blind ceiling: "
    "the share of items whose rules agree on the answer; any strategy that ignores the instruction "
    "(format only, constant, input-only) cannot exceed it. Input-blind ceiling: the best score of one "
    "constant answer per task (the most frequent combination of golds across the rules)."
)
CONTRAST_COLUMNS = [
    "mode",
    "probe",
    "groups",
    "items",
    "consistency (%)",
    "chance (%)",
    "rule-blind ceiling (%)",
    "input-blind ceiling (%)",
]


def prior_section(
    priors: Mapping[str, LabelPrior], rows: Sequence[InstanceResult], *, n_boot: int, seed: int
) -> SectionResult:
    """The content-free label prior per task and rank accuracy before/after calibration."""
    rank = [r for r in rows if r.mode == "rank"]
    table_rows: list[list[Cell]] = []
    data: dict[str, Any] = {}
    for task, prior in sorted(priors.items()):
        aligned = align([r for r in rank if r.task == task], ["original", "calibrated"])
        answers = [r for r in rank if r.task == task and r.condition == "original"]
        fav = normalize_answer(prior.favoured)
        chose = float(np.mean([normalize_answer(r.prediction) == fav for r in answers])) if answers else None
        gold = (
            float(np.mean([normalize_answer(gold_label(r.references, r.labels)) == fav for r in answers]))
            if answers
            else None
        )
        dist = ", ".join(f"{lab} {p:.2f}" for lab, p in zip(prior.labels, prior.probs, strict=True))
        diff = _paired(aligned, n_boot, seed)
        table_rows.append(
            [
                task,
                dist,
                f"{prior.entropy_bits:.2f}",
                f"{prior.normalized_entropy:.2f}",
                prior.favoured,
                pct(chose),
                pct(gold),
                ci_text(_est(aligned, "original", n_boot, seed)),
                ci_text(_est(aligned, "calibrated", n_boot, seed)),
                ci_text(diff, sign=True),
            ]
        )
        data[task] = {
            **jsonable(prior),
            "normalized_entropy": prior.normalized_entropy,
            "share_answered_favoured": None if chose is None else float(chose),
            "share_gold_favoured": None if gold is None else float(gold),
            "calibrated_minus_rank": jsonable(diff),
        }
    section = Section(
        title="Content-free label prior and calibration (rank classification)",
        paragraphs=[PRIOR_TEXT],
        tables=[Table(columns=PRIOR_COLUMNS, rows=table_rows)],
    )
    return SectionResult(section, data)


def _est(aligned: Aligned, condition: str, n_boot: int, seed: int) -> Estimate | None:
    if aligned.n == 0:
        return None
    return bootstrap_ci(aligned.scores[condition], n_boot=n_boot, seed=seed)


def _paired(aligned: Aligned, n_boot: int, seed: int) -> Estimate | None:
    if aligned.n == 0:
        return None
    s = aligned.scores
    return paired_test(s["calibrated"], s["original"], n_boot=n_boot, seed=seed).diff


def label_probe_section(
    rows: Sequence[InstanceResult], modes: Sequence[str], *, n_boot: int, seed: int
) -> SectionResult:
    """label-rename / label-swap: score, original score on the same instances, leakage, old meaning."""
    table_rows: list[list[Cell]] = []
    data: dict[str, Any] = {}
    for mode in modes:
        of_mode = [r for r in rows if r.mode == mode]
        for probe in label_probes():
            aligned = align(of_mode, ["original", probe])
            if aligned.n == 0:
                continue
            s = aligned.scores
            test = paired_test(s["original"], s[probe], n_boot=n_boot, seed=seed)
            comp = compliance(of_mode, probe)
            table_rows.append(
                [
                    MODE_LABEL[mode],
                    probe,
                    aligned.n,
                    ci_text(bootstrap_ci(s[probe], n_boot=n_boot, seed=seed)),
                    pct(float(np.mean(s["original"]))),
                    ci_text(test.diff, sign=True),
                    f"{test.p_value:.3g}",
                    pct(comp.leakage),
                    pct(comp.old_meaning),
                ]
            )
            data[f"{mode}/{probe}"] = {"paired": jsonable(test), "compliance": jsonable(comp)}
    section = Section(
        title="Label-scheme probes (operational risk)",
        paragraphs=[LABEL_TEXT],
        tables=[Table(columns=LABEL_COLUMNS, rows=table_rows)] if table_rows else [],
    )
    return SectionResult(section, data)


def contrast_section(
    rows: Sequence[InstanceResult], tasks: Sequence[Task], probes: Sequence[str]
) -> SectionResult | None:
    """Contrast consistency of the given probes' answers (per mode), for tasks that declare contrast
    pairs (`itprobe.report.consistency`, shared with the study)."""

    if not any(t.contrast is not None for t in tasks):
        return None
    table_rows: list[list[Cell]] = []
    data: dict[str, Any] = {}
    wanted = [r for r in rows if r.condition in probes]
    for (probe, mode), by_seed in consistency_by_seed(wanted, tasks, lambda r: (r.condition, r.mode)).items():
        (report,) = by_seed.values()  # an audit has one seed
        o = report.overall
        if o.n_items == 0:
            continue
        table_rows.append(
            [
                MODE_LABEL.get(mode, mode),
                probe,
                len(report.groups),
                o.n_items,
                pct(o.consistency),
                pct(o.chance),
                pct(o.agreement),
                pct(o.input_blind),
            ]
        )
        data[f"{mode}/{probe}"] = report.to_dict()
    section = Section(
        title="Contrast consistency",
        paragraphs=[CONTRAST_TEXT],
        tables=[Table(columns=CONTRAST_COLUMNS, rows=table_rows)] if table_rows else [],
    )
    return SectionResult(section, data)


def arm_notes_section(
    notes: Sequence[tuple[str, str, str]], prompt_notes: Sequence[tuple[str, str, str]] = ()
) -> Section | None:
    """What the arms did per task (which irrelevant definition, which new label names, ...), and what the
    prompt token budget did to a probe's prompts of a task (`itprobe.prompts.budget_notes`)."""
    rows = [*notes, *prompt_notes]
    if not rows:
        return None
    return Section(
        title="What the arms did" + (" and the prompt budget" if prompt_notes else ""),
        tables=[Table(columns=["probe", "task", "note"], rows=[list(n) for n in rows])],
    )
