"""The audit report: per mode scores → reliance → comparisons and verdict → compliance → per task → costs,
then the label prior, label-scheme probes, contrast consistency, what the arms did, and what was skipped.

The verdict vocabulary is the study's (`itprobe.report.verdict`): the gate against guessing comes first,
every difference is split into a format part and a meaning part, and the follow probes (negated, label
probes) read as "does the model follow the changed instruction".

Plots of one mode live under ``<out>/<mode>/plots/`` (the generic section builders name their plots
without a mode, so each mode gets its own folder and the figure paths are re-rooted).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from itprobe.audit import format_spread, format_spread_stats
from itprobe.audit.catalogue import follow_probes, meaning_free_probes, report_conditions, report_references
from itprobe.audit.data import AuditData
from itprobe.audit.decision import MAX_LINES, calibration_gain, constant_answers, decide
from itprobe.audit.gate import GateResult
from itprobe.audit.headline import headline_figures
from itprobe.audit.reliance import OVERALL, Key
from itprobe.audit.saved import task_digest
from itprobe.audit.sections import (
    MODE_LABEL,
    RelianceRow,
    arm_notes_section,
    contrast_section,
    label_probe_section,
    prior_section,
    reliance_section,
)
from itprobe.audit.wording import reliance_sentence, survival_sentence
from itprobe.baselines import expected_hit_rate
from itprobe.decoding import Decoding, protocol
from itprobe.metrics import rescored
from itprobe.report import (
    MIN_CLUSTERS,
    CostFile,
    Figure,
    InstanceResult,
    Provenance,
    ReportData,
    Section,
    Table,
    compare_arms,
    comparison_section,
    compliance_section,
    control_gate,
    cost_section,
    equivalence_margin,
    format_help_section,
    gate_line,
    jsonable,
    make_verdict,
    per_task_section,
    scores_section,
)
from itprobe.tasks.types import Task


def random_expectations(tasks: Sequence[Task]) -> dict[Key, float]:
    """(task, id) → expected exact match of a uniform guess over the task's output space."""

    out: dict[Key, float] = {}
    for task in tasks:
        if task.is_classification:
            out.update(zip(((task.name, i.id) for i in task.instances), expected_hit_rate(task), strict=True))
    return out


def _reroot(section: Section, prefix: str) -> Section:
    figures = [Figure(path=f"{prefix}/{f.path}", caption=f.caption) for f in section.figures]
    return section.model_copy(update={"figures": figures})


def _mode_report(
    rows: list[InstanceResult],
    mode: str,
    random_expected: Mapping[Key, float],
    *,
    out_dir: Path,
    costs: CostFile | None,
    n_boot: int,
    seed: int,
) -> tuple[list[Section], list[str], dict[str, Any], list[RelianceRow]]:
    """Every per-mode section, the summary lines of the mode, its JSON data and its reliance rows."""
    kw: dict[str, Any] = {"n_boot": n_boot, "seed": seed}
    sub = out_dir / mode
    label = MODE_LABEL.get(mode, mode)
    present = {r.condition for r in rows}
    conditions = [c for c in report_conditions() if c in present]
    refs = [b for b in report_references() if b in present]
    data: dict[str, Any] = {}
    sections: list[Section] = []
    scores, data["scores"] = scores_section(
        rows, conditions, out_dir=sub, references=refs, title=f"Scores per probe ({label})", **kw
    )
    reliance, data["reliance"], reliance_rows, surv = reliance_section(
        rows, mode, random_expected, out_dir=sub, **kw
    )
    rel = next((r.reliance for r in reliance_rows if r.reliance.scope == OVERALL), None)
    arms = [c for c in conditions if c not in ("original", "calibrated")]
    # no per-arm "gain kept" ratio here: the reliance section gives it for simplified against the analytic
    # random expectation, which is less noisy than the sampled random baseline
    cmp_em = compare_arms(rows, "original", arms, **kw)
    cmp_rl = compare_arms(rows, "original", arms, metric="rougeL", **kw)
    comparison, data["comparisons"] = comparison_section(
        cmp_em, cmp_rl, title=f"Original vs each probe ({label})"
    )
    gate = control_gate(rows, "original", refs, **kw)
    # the equivalence margin: a share of what original gains over the strongest input-blind control
    margin = equivalence_margin(gate.test.diff if gate is not None and gate.passed else None)
    verdict = make_verdict(cmp_em, gate=gate, primary="simplified", follow=follow_probes(), margin=margin)
    data["verdict"] = jsonable(verdict)
    data["gate_vs_guessing"] = jsonable(gate)
    comparison.paragraphs += verdict.lines
    sections += [scores, reliance, comparison]
    if mode == "generate":
        compliance, data["compliance"] = compliance_section(
            rows, [*conditions, *refs], title=f"Format compliance ({label})"
        )
        sections.append(compliance)
    per_task, data["per_task"] = per_task_section(
        rows, [*conditions, *refs], out_dir=sub, title=f"Per task ({label})"
    )
    sections.append(per_task)
    if costs is not None:
        cost, data["costs"] = cost_section(
            rows, [*conditions, *refs], costs, out_dir=sub, title=f"Cost of errors ({label})", **kw
        )
        sections.append(cost)
    scopes = {r.reliance.scope: r.reliance.estimate for r in reliance_rows}
    data["headline"] = headline_figures(rows, scopes, random_expected, costs=costs, **kw)
    if "original" in data.get("costs", {}).get("expected_cost", {}):  # one interval for one figure
        data["headline"]["overall"]["expected_cost"] = data["costs"]["expected_cost"]["original"]
    best = next((c.split for c in cmp_em if rel is not None and c.arm == rel.best_arm), None)
    gate_text = gate_line("original", gate) if gate is not None and not gate.passed else None
    summary = [
        f"{label}: {gate_text}" if gate_text else None,
        reliance_sentence(rel, mode, best, assessable=verdict.assessable, margin=margin),
        survival_sentence(surv, mode),
    ]
    # the table states the gate whether it passed or not (the summary only when it fails)
    said = [f"{label}: {gate_line('original', gate)}" if gate is not None else None, *summary[1:]]
    data["statements"] = dict(zip(STATEMENTS, said, strict=True))
    data["constant_answers"] = constant_answers(rows)
    if mode == "rank":
        data["calibration_gain"] = calibration_gain(rows, **kw)
    return [_reroot(s, mode) for s in sections], [s for s in summary if s], data, reliance_rows


STATEMENTS = ("original vs guessing", "instruction reliance", "margin over random kept by simplified")


def statements_section(modes: Mapping[str, Any]) -> Section:
    """The per-mode verdict sentences folded into one table (a row per mode, a column per statement)."""
    rows: list[list[Any]] = []
    for mode, part in modes.items():
        label = MODE_LABEL.get(mode, mode)
        said = part.get("statements", {})
        cells = [(said.get(k) or "–").replace(f"{label}: ", "", 1) for k in STATEMENTS]
        rows.append([label, *cells])
    return Section(
        title="What the statistics say, per mode",
        paragraphs=[
            "Each cell is the full sentence of the mode's analysis (the rules: docs/design.md, 'What each verdict "
            "sentence requires'); the sections below give the numbers behind them."
        ],
        tables=[Table(columns=["mode", *STATEMENTS], rows=rows)],
    )


def fold_repeats(sections: Sequence[Section]) -> list[Section]:
    """Each explanatory paragraph once: a paragraph already shown in an earlier section (the same text for
    every mode) is left out of the later ones."""
    seen: set[str] = set()
    out = []
    for section in sections:
        kept = [p for p in section.paragraphs if p not in seen]
        seen.update(section.paragraphs)
        out.append(section.model_copy(update={"paragraphs": kept}))
    return out


def _sample_note(data: AuditData, n_boot: int, seed: int = 0) -> list[str]:
    n_tasks = len(data.tasks)
    sizes = sorted(len(t.instances) for t in data.tasks)
    each = f"{sizes[0]}" if sizes[0] == sizes[-1] else f"{sizes[0]}–{sizes[-1]}"
    unit = (
        f"tasks (cluster bootstrap over {n_tasks} tasks)"
        if n_tasks >= MIN_CLUSTERS
        else f"instances: only {n_tasks} task(s), so the intervals speak for these tasks, not for tasks in general"
    )
    return [
        f"Sample: {n_tasks} task(s), {each} instances each. 95% CIs: percentile bootstrap "
        f"({n_boot} resamples) over {unit}. All comparisons are paired on the same instances.",
        "Meaning-free arms: simplified (only the output space), empty (no definition), irrelevant (another "
        "task's definition). They keep the prompt format, the demonstrations and the input, so whatever a "
        "model gets from the format alone it still gets; negated and the label probes change the gold and are "
        "reported as 'follow' probes; delusive and no-examples change the demonstrations, not the instruction.",
        "p-values: exact McNemar for one seed of exact match, sign-flip otherwise; Holm-adjusted across probes.",
        "'random' is always the expected exact match of a uniform guess over the task's label set; 'random "
        f"draw' is one uniform draw per instance (seed {seed}), a baseline row for its answers' format and cost, "
        "which scatters around that expectation.",
    ]


@dataclasses.dataclass(frozen=True)
class AuditReport:
    """An audit's report and, per mode with results under the original instruction, its reliance rows
    (the typed data ``itprobe audit`` prints its summary table from)."""

    report: ReportData
    reliance: dict[str, tuple[RelianceRow, ...]]


def _spread(
    results: Sequence[InstanceResult],
    modes: Sequence[str],
    tmpl: Sequence[format_spread.Template],
    payload: dict[str, Any],
    n_boot: int,
    seed: int,
) -> tuple[Section, dict[str, Any]]:
    """The format-spread section; its overall figures also join each mode's headline (for a gate)."""
    labels = [t.label() for t in tmpl]
    spreads = []
    for mode in modes:
        rows = [r for r in results if r.mode == mode]
        found = format_spread_stats.spread_of(rows, mode, len(tmpl) - 1, labels, n_boot=n_boot, seed=seed)
        if found is None:
            continue
        spreads.append(found)
        overall = payload["modes"][mode]["headline"]["overall"]
        overall["format_spread"] = jsonable(found.width)
        if found.worst_reliance is not None:
            overall["reliance_across_formats"] = jsonable(found.worst_reliance)
    return format_spread_stats.spread_section(spreads, tmpl)


GATE_TITLE = "Release gate"


def with_gate(report: ReportData, result: GateResult) -> ReportData:
    """``report`` with the gate's verdict first in the summary, its section first, and ``data.gate``
    (an earlier gate's section and line are replaced: a re-gated audit shows one gate)."""
    sections = [result.section(), *(s for s in report.sections if s.title != GATE_TITLE)]
    summary = [result.headline() + ".", *(s for s in report.summary if not s.startswith(GATE_TITLE))]
    return report.model_copy(
        update={"sections": sections, "summary": summary, "data": {**report.data, "gate": result.to_json()}}
    )


def format_help(
    results: Sequence[InstanceResult], decoding: Decoding, *, n_boot: int, seed: int
) -> tuple[Section, dict[str, Any]] | None:
    """Under a protocol that keeps whole generations (``tk-instruct``), the same answers cut at the first
    newline (same cap): the evaluator's format help per probe (`report.views_protocol`). None otherwise."""
    cut = protocol("first-line", max_new_tokens=decoding.max_new_tokens)
    if decoding.stop or not decoding.derivable(cut):
        return None
    models = [
        r
        for r in results
        if r.mode == "generate"
        and r.condition not in report_references()
        and not format_spread.is_condition(r.condition)  # the probes' own format, not its rewrites
    ]
    recut = [rescored(r, cut.recut(r.raw)) for r in models]
    return format_help_section(
        models, recut, headline_name=decoding.protocol, cut_name=cut.protocol, n_boot=n_boot, seed=seed
    )


def _first_screen(decision: Sequence[str], protocol_line: Sequence[str]) -> list[str]:
    """The recommendation, the decoding protocol (generation), then the other findings (`decide`'s)."""
    return [*decision[:1], *protocol_line, *decision[1:]][: MAX_LINES + len(protocol_line)]


def build_audit_report(
    data: AuditData,
    *,
    out_dir: str | Path,
    costs: CostFile | None = None,
    provenance: Provenance | None = None,
    n_boot: int = 2000,
    seed: int = 0,
) -> AuditReport:
    """Compute every view of an audit, drawing plots under ``out_dir``; returns the report data and, per
    mode, the reliance rows."""
    out = Path(out_dir)
    random_expected = random_expectations(data.tasks)
    pairs = {t.name: (t.contrast.group, t.contrast.side) for t in data.tasks if t.contrast is not None}
    # tasks of one contrast pair share their inputs: the bootstrap resamples them together
    results = [dataclasses.replace(r, contrast=pairs[r.task]) if r.task in pairs else r for r in data.results]
    modes = [m for m in data.plan.modes if any(r.mode == m and r.condition == "original" for r in results)]
    summary: list[str] = []
    sections: list[Section] = []
    payload: dict[str, Any] = {"modes": {}, "meaning_free": list(meaning_free_probes())}
    reliance: dict[str, tuple[RelianceRow, ...]] = {}
    for mode in modes:
        rows = [r for r in results if r.mode == mode]
        mode_sections, lines, payload["modes"][mode], mode_reliance = _mode_report(
            rows, mode, random_expected, out_dir=out, costs=costs, n_boot=n_boot, seed=seed
        )
        reliance[mode] = tuple(mode_reliance)
        summary += lines
        sections += mode_sections
    spread = data.plan.extra.get(format_spread.NAME)
    if spread:
        section, payload["format_spread"] = _spread(
            results, modes, spread["templates"], payload, n_boot, seed
        )
        sections.append(section)
    if data.priors:
        prior, payload["prior"] = prior_section(data.priors, results, n_boot=n_boot, seed=seed)
        sections.append(prior)
    labels, payload["label_probes"] = label_probe_section(results, modes, n_boot=n_boot, seed=seed)
    if labels.tables:
        sections.append(labels)
    contrast = contrast_section(results, data.tasks, ["original", *meaning_free_probes(), "calibrated"])
    if contrast is not None:
        sections.append(contrast[0])
        payload["contrast"] = contrast[1]
    notes = arm_notes_section(data.plan.arm_notes, data.prompt_notes)
    sections += [notes] if notes is not None else []
    payload["statements"] = summary  # the per-mode sentences, in order (also folded into a table below)
    protocol_line = []
    if "generate" in modes:
        # what decides the generated answers, on the first screen right after the recommendation
        protocol_line = [f"Answers in generation mode: the decoding protocol {data.decoding.describe()}."]
        helped = format_help(results, data.decoding, n_boot=n_boot, seed=seed)
        if helped is not None:
            sections.append(helped[0])
            payload["format_help"] = helped[1]
    payload["tasks"] = {t.name: len(t.instances) for t in data.tasks}
    payload["task_digests"] = {t.name: task_digest(t) for t in data.tasks}  # what `itprobe compare` checks
    skipped = list(data.plan.skipped)
    first = [statements_section(payload["modes"])] if payload["modes"] else []
    report = ReportData(
        title="itprobe audit: does the model follow the instruction, or only the output format?",
        summary=_first_screen(decide(payload, [s.model_dump() for s in skipped]), protocol_line),
        sections=fold_repeats([*first, *sections]),
        notes=_sample_note(data, n_boot, seed),
        skipped=skipped,
        provenance=provenance or Provenance(),
        data=payload,
    )
    return AuditReport(report, reliance)
