"""The study report: the paper's views and the answer to "instruction or format?" from a study's results.

Reads top to bottom: pick the arms and the main size → scores → paired comparisons (each split into format
and meaning) → the gate against guessing and the verdict → what tuning taught (format or meaning) → format
compliance → each model under other test arms → learning curve → per task → cost of errors → write.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from itprobe.report import (
    EQUIVALENCE_SHARE,
    MIN_CLUSTERS,
    CostFile,
    Design,
    Family,
    InstanceResult,
    Manipulation,
    Provenance,
    ReportData,
    Skipped,
    align,
    compare_arms,
    comparison_section,
    compliance_section,
    control_gate,
    cost_section,
    curve_section,
    display,
    equivalence_margin,
    gain_split_section,
    gain_splits,
    jsonable,
    make_verdict,
    other_arm_section,
    paired_test,
    per_task_section,
    scores_section,
    seed_section,
    seeded_difference,
    seeds_note,
    sizes_of,
    write_report,
)


def build_study_report(
    results: Sequence[InstanceResult],
    *,
    out_dir: str | Path,
    title: str = "itprobe study",
    reference: str = "original",
    primary: str = "simplified",
    untuned: str = "untuned",
    baselines: Sequence[str] = ("random", "majority"),
    lines: Sequence[str] | None = None,
    costs: CostFile | None = None,
    provenance: Provenance | None = None,
    notes: Sequence[str] = (),
    skipped: Sequence[Skipped] = (),
    follow: Sequence[str] = (),
    parts: Mapping[str, Sequence[str]] | None = None,
    names: Mapping[str, str] | None = None,
    manipulated: Mapping[str, Manipulation] | None = None,
    family: Family | None = None,
    mode: str = "",
    margin: float | None = None,
    share: float | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    answers: str = "",
    other_arms: Sequence[tuple[str, str]] = (),
) -> ReportData:
    """Compute every view of a study and draw its plots under ``out_dir/plots``; returns the report data.

    Args:
        results: all rows of the study (every condition, size and seed).
        reference: the condition the others are compared with (the original instruction).
        primary: the meaning-free arm the headline and the data-size question are about.
        untuned: the untuned model's condition (the baseline of the gain-kept ratio), if present.
        baselines: trivial baselines (and the untuned model under other test arms), shown beside the arms.
        lines: the references drawn as lines in the charts (a study: those tested with the original
            instruction, `itprobe.records.Condition.tested_with` empty); None: all of them.
        costs: a cost file; adds the cost-of-errors section.
        follow: conditions whose gold follows a changed instruction (negated, relabelled), besides the
            follow probes by their own name (`itprobe.arms.follow_probes`).
        parts: what each condition's (training) arm changes, for the verdict's words (`verdict.removes`).
        names: how each condition is shown (a study: `itprobe.records.Condition.display`); others by
            `views.display`.
        answers: how the answers were produced (the decoding protocol), the summary's first line.
        manipulated: when each trained condition's arm was applied relative to the reference
            (`verdict.Manipulation`; a study: `itprobe.study.conditions.manipulation`); the verdict's words
            and its one-seed rule follow it. A condition without an entry reads as a removal.
        family: the headline's primary comparisons, Holm-adjusted across sizes and modes
            (`itprobe.report.family`); their lines use those p-values, every other line is exploratory.
            None: every line uses its table's Holm and none is marked.
        mode: this report's mode (the family's members are per mode).
        other_arms: (usual, other) conditions of one model under two test arms (a study:
            `itprobe.study.conditions.other_arm_pairs`); adds "What each model reads at test time".
        margin, share: the equivalence margin in EM points as declared, or the share of the tuning gain
            (`verdict.equivalence_margin`); with neither and no clear gain, equivalence is never said.
    """
    present = list(dict.fromkeys(r.condition for r in results))
    if reference not in present:
        raise ValueError(f"no results for the reference condition '{reference}'")
    refs = [b for b in (*baselines, untuned) if b in present]
    arms = [reference] + [c for c in present if c not in refs and c != reference]
    sizes = sizes_of(results, reference)
    main = sizes[-1] if sizes else None
    at = f" at {main} training instance{'' if main == 1 else 's'} per task" if main is not None else ""
    data: dict[str, Any] = {"reference": reference, "main_size": main, "sizes": sizes}
    kw: dict[str, Any] = {"n_boot": n_boot, "seed": seed}
    shown = dict(names or {})
    sh: dict[str, Any] = {"show": lambda c: shown[c] if c in shown else display(c)}
    ksh = {"out_dir": out_dir, **kw, **sh}

    scores, data["scores"] = scores_section(
        results, arms, size=main, references=refs, lines=lines, title=f"Scores per arm{at}", **ksh
    )
    base = untuned if untuned in present else next((b for b in baselines if b in present), None)
    cmp_em = compare_arms(results, reference, arms[1:], size=main, baseline=base, **kw)
    cmp_rl = compare_arms(results, reference, arms[1:], metric="rougeL", size=main, baseline=base, **kw)
    comparison, data["comparisons"] = comparison_section(
        cmp_em, cmp_rl, title=f"{reference} vs each altered arm{at}", note=seeds_note(results, arms), **sh
    )
    gate = control_gate(results, reference, refs, size=main, **kw)
    gain = _gain(results, reference, base, main, **kw) if base else None
    tuned = gain_splits(results, arms, base, size=main, **kw) if base else {}
    seeds = seed_counts(results, main)
    confirmed = family.at(main, mode) if family is not None else {}
    designs = {
        c.arm: Design(
            (manipulated or {}).get(c.arm),
            min(seeds.get(reference, 1), seeds.get(c.arm, 1)) if manipulated is not None else None,
            exploratory=family is not None and c.arm not in confirmed,
        )
        for c in cmp_em
    }
    equivalence = equivalence_margin(
        gain.diff if gain is not None and base == untuned else None,
        declared=None if margin is None else margin / 100,
        share=share,
    )
    verdict = make_verdict(
        [dataclasses.replace(c, p_adjusted=confirmed[c.arm]) if c.arm in confirmed else c for c in cmp_em],
        gate=gate,
        gain=gain,
        gain_split=tuned.get(reference),
        baseline=base or "baseline",
        primary=primary,
        follow=follow,
        parts=parts,
        designs=designs,
        margin=equivalence,
        tuned_with=reference if manipulated is not None else None,
        tuning_seeds=seeds.get(reference) if manipulated is not None else None,
    )
    data["verdict"] = jsonable(verdict)
    data["equivalence_margin"] = None if equivalence is None else 100 * equivalence
    data["primary_family"] = (
        None if family is None else {f"{c} n={s} {m}": p for (c, s, m), p in family.p_adjusted.items()}
    )
    design_notes = [family.note()] if family is not None else []
    design_notes.append(_margin_note(equivalence, margin, share))
    data["gate_vs_guessing"] = jsonable(gate)
    data["gain_over_baseline"] = jsonable(gain)
    sections = [scores, comparison]
    seeded = seed_section(results, arms, size=main, **kw, **sh)
    if seeded is not None:
        sections.append(seeded[0])
        data["seeds"] = seeded[1]
    if base == untuned:
        split = gain_split_section(results, tuned, untuned, out_dir=out_dir, **sh)
        if split is not None:
            sections.append(split[0])
            data["gain_split"] = split[1]
    compliance, data["compliance"] = compliance_section(results, [*arms, *refs], size=main, **sh)
    sections.append(compliance)
    reads = other_arm_section(results, other_arms, **kw, **sh)
    if reads is not None:
        sections.append(reads[0])
        data["other_arms"] = reads[1]
    if sizes:
        ref_lines = {
            b: data["scores"][b]["exact_match"]["mean"]
            for b in refs
            if b in data["scores"] and (lines is None or b in lines)
        }
        curve, data["learning_curve"] = curve_section(
            results, arms, reference=reference, primary=primary, references=ref_lines, **ksh
        )
        sections.append(curve)
    per_task, data["per_task"] = per_task_section(results, [*arms, *refs], out_dir=out_dir, size=main, **sh)
    sections.append(per_task)
    if costs is not None:
        cost, data["costs"] = cost_section(
            results, [*arms, *refs], costs, reference=reference, size=main, **ksh
        )
        sections.append(cost)
    return ReportData(
        title=title,
        summary=[*([answers] if answers else []), *(list(verdict.lines) or [verdict.headline])],
        sections=sections,
        notes=[*_method_notes(results, main, n_boot), *design_notes, *notes],
        skipped=list(skipped),
        provenance=provenance or Provenance(),
        data=data,
    )


def _margin_note(equivalence: float | None, declared: float | None, share: float | None) -> str:
    if equivalence is None:
        return (
            "Equivalence margin: none (no declared report.equivalence_margin and no clear tuning gain to take "
            "a share of), so no difference is called equivalent."
        )
    if declared is not None:
        return f"Equivalence margin: ±{declared:g} EM points, declared in the config (report.equivalence_margin)."
    return (
        f"Equivalence margin: ±{round(100 * equivalence, 1):g} EM points = {round(100 * (share or EQUIVALENCE_SHARE)):g}% "
        "of the tuning gain original − untuned (report.equivalence_share): 'equivalent' means the whole 95% CI "
        "of a difference is smaller than that share of what tuning gained."
    )


def seed_counts(results: Sequence[InstanceResult], size: int | None) -> dict[str, int]:
    """How many seeds each condition has at ``size`` (rows without a size: at any)."""
    seeds: dict[str, set[int]] = {}
    for r in results:
        if r.size is None or r.size == size:
            seeds.setdefault(r.condition, set()).add(r.seed)
    return {c: len(s) for c, s in seeds.items()}


def _gain(
    results: Sequence[InstanceResult],
    reference: str,
    baseline: str,
    size: int | None,
    *,
    n_boot: int,
    seed: int,
):
    aligned = align([r for r in results if r.size is None or r.size == size], [reference, baseline])
    if aligned.n == 0:
        return None
    s = aligned.scores
    test = paired_test(s[reference], s[baseline], n_boot=n_boot, seed=seed, cluster=aligned.resampling())
    seeded = seeded_difference(results, reference, baseline, size=size, n_boot=n_boot, seed=seed)
    return test if seeded is None else dataclasses.replace(test, diff=seeded)


def _method_notes(results: Sequence[InstanceResult], main: int | None, n_boot: int) -> list[str]:
    tasks = {r.task for r in results}
    pairs = {r.contrast[0] for r in results if len(r.contrast) == 2}
    clusters = len({r.unit[0] for r in results})
    what = (
        f"{clusters} cluster(s): {len(pairs)} contrast pair(s), each one cluster because its sides share "
        "their inputs, and any other task"
        if pairs
        else f"{len(tasks)} tasks"
    )
    if clusters >= MIN_CLUSTERS:
        unit = f"clusters (cluster bootstrap over {what}: instances of one task are correlated, and the question is about tasks)"
    elif pairs:
        unit = (
            f"items (only {what}, too few for cluster-level inference; an item is one input answered under "
            "both rules of its pair, resampled together): the conclusions are about these tasks"
        )
    else:
        unit = (
            f"instances (only {len(tasks)} task(s), too few for task-level inference: the conclusions are about "
            "these tasks, and the intervals ignore between-task variation)"
        )
    seeds = sorted({r.seed for r in results})
    notes = [
        f"95% CIs are percentile bootstraps ({n_boot} resamples) over {unit}.",
        f"Seeds {seeds} are averaged per instance for the tests; all comparisons are paired on the "
        "same test instances."
        + (
            " Scores and differences of conditions with two or more seeds have two-level bootstrap CIs "
            "(seeds, then tasks, resampled: they include the variance between training runs; see 'Seeds')."
            if len(seeds) > 1
            else " One training seed: the intervals do not include the variance between training runs, so "
            "no verdict about a training arm is made."
        ),
        "Exact match with one seed is tested with the exact McNemar test, averaged or continuous scores with "
        "a sign-flip permutation test (per cluster when clusters are resampled); p-values are Holm-adjusted "
        "across arms (and across sizes for the data-size question). Intervals are not adjusted.",
        "The verdict follows the (Holm-adjusted) exact or permutation test; with few discordant instances the "
        "bootstrap interval is approximate and can exclude 0 while the test is not significant.",
        "The majority baseline is an oracle: it reads each task's test labels (marked '(oracle)').",
    ]
    if main is not None:
        notes.append(f"Tables without a size refer to the largest training size, {main} instances per task.")
    return notes


def write_study_report(
    results: Sequence[InstanceResult], out_dir: str | Path, **kwargs: Any
) -> dict[str, Path]:
    """`build_study_report` then write ``report.md``, ``report.html``, ``report.json``; returns their paths."""
    report = build_study_report(results, out_dir=out_dir, **kwargs)
    return write_report(report, out_dir, stem="report")
