"""The study report, rebuilt from ``results.sqlite`` alone (no model, no task files).

Stored rows become the report's rows and conditions in `itprobe.study.conditions`, and
`itprobe.study.views.build_study_report` computes the views; this module adds what only a study knows:
provenance (config hash, model identity, timings), coverage of the grid and the arms' notes
(`itprobe.study.notes`; the per-task detail goes to report.json), the published figures a rerun is set beside, the contrast
pairs the bootstrap keeps together, and contrast consistency for tasks that form contrast pairs (the
generated suite).
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from itprobe.decoding import Decoding
from itprobe.errors import UserError
from itprobe.records import Condition, InstanceResult
from itprobe.study.conditions import (
    condition_of,
    condition_order,
    condition_parts,
    follow_conditions,
    instance_results,
    manipulation,
    other_arm_pairs,
    recut_protocol_problem,
    study_conditions,
)
from itprobe.study.config import StudyConfig
from itprobe.study.grid import current_cells
from itprobe.study.loading import validate_config
from itprobe.study.notes import arm_notes, study_notes
from itprobe.study.sittings import TITLE as RUNS_TITLE
from itprobe.study.sittings import runs_table
from itprobe.study.store import COPY_HINT, STORE_NAME, CellRecord, ResultsStore, TaskInfo
from itprobe.tasks.types import Contrast, OutputSpace, Task

if TYPE_CHECKING:  # the report package imports numpy (and matplotlib to draw); used lazily below
    from itprobe.report import CostFile, Family, Provenance, SectionResult

COSTS_FILE = "costs.yaml"  # a copy of the config's cost file, so the report needs only the run directory


def stored_config(store: ResultsStore) -> StudyConfig:
    """The config of the latest run recorded in the store."""
    runs = store.runs()
    if not runs:
        raise UserError(
            f"no run recorded in this store (a store copied without its -wal file can lose them: {COPY_HINT})",
            path=store.path,
        )
    # a UserError naming the store, should a config stored by another itprobe version no longer validate
    return validate_config(json.loads(runs[-1]["config_json"]), source=f"{store.path} (stored config)")


def build_report(run_dir: str | Path, *, costs: str | Path | None = None) -> dict[str, Path]:
    """Write ``report.md``, ``report.html``, ``report.json`` and ``plots/*.png`` into ``run_dir``.

    The report covers the config's first evaluation mode; each further mode gets the same report in
    ``run_dir/mode-<mode>/`` (comparisons are made within a mode, never across).

    Args:
        run_dir: a run directory holding ``results.sqlite``.
        costs: a cost-of-errors YAML; default: the copy saved with the run (if the config named one).

    Returns:
        {format: path} of the main report; further modes as ``"<format>:<mode>"``.

    Raises:
        UserError: no store, or no finished cell with the original instruction.
    """
    run_dir = Path(run_dir)
    if not (run_dir / STORE_NAME).is_file():
        raise UserError(
            f"no {STORE_NAME} here; is this a run directory (itprobe run --out DIR)?", path=run_dir
        )
    with ResultsStore(run_dir / STORE_NAME) as store:
        config, stored, tasks, runs = stored_config(store), store.cells(), store.tasks(), store.runs()
    cells, left_out = current_cells(config, stored)
    cost_file = _costs(run_dir, costs)
    paths: dict[str, Path] = {}
    context = (config, cells, tasks, runs, cost_file, left_out)
    for i, mode in enumerate(config.eval.modes):
        out_dir = run_dir if i == 0 else run_dir / f"mode-{mode}"
        written = _mode_report(out_dir, mode, *context)
        paths.update(written if i == 0 else {f"{fmt}:{mode}": path for fmt, path in written.items()})
    if "generate" in config.eval.modes:
        # each further protocol: the whole generation report again, its answers cut from the same continuations
        for derived in config.eval.derived_protocols():
            if recut_protocol_problem(cells, derived) is None:
                written = _mode_report(
                    run_dir / f"decoding-{derived.protocol}", "generate", *context, derived
                )
                paths.update({f"{fmt}:{derived.protocol}": path for fmt, path in written.items()})
    return paths


def _mode_report(
    out_dir: Path,
    mode: str,
    config: StudyConfig,
    cells: Sequence[CellRecord],
    tasks: dict[str, TaskInfo],
    runs: Sequence[dict[str, Any]],
    cost_file: CostFile | None,
    left_out: Sequence[CellRecord] = (),
    protocol: Decoding | None = None,
) -> dict[str, Path]:
    from itprobe.report import (
        Section,
        Skipped,
        Table,
        primary_family,
        published_section,
        write_report,
    )  # lazy: numpy
    from itprobe.study.views import build_study_report  # lazy: numpy, matplotlib

    results = instance_results(cells, mode, tasks, protocol)
    # the headline's family spans every mode; a further protocol's report is a secondary view (no family)
    family = _family(config, cells, tasks, primary_family) if protocol is None else None
    conditions = list(dict.fromkeys(r.condition for r in results))
    if "original" not in conditions:
        raise UserError(
            "no results for the original instruction yet (no finished 'original' cell)", path=out_dir
        )
    records = study_conditions(cells)
    references = [
        c
        for c in conditions
        if not records[c].trained and (records[c].trained_with != "untuned" or records[c].tested_with)
    ]
    primary = _primary(config, [records[c] for c in conditions])
    title = f"itprobe study: {config.name}" + (f" ({mode} mode)" if mode != config.eval.modes[0] else "")
    if protocol is not None:
        title += f" (decoding {protocol.protocol})"
    report = build_study_report(
        results, out_dir=out_dir, title=title, primary=primary, baselines=references, costs=cost_file,
        lines=[c for c in conditions if not records[c].trained and not records[c].tested_with],
        provenance=_provenance(config, cells, runs), notes=study_notes(config, cells, mode, left_out), n_boot=config.report.n_boot,
        answers=answers_line(config, mode, protocol),
        skipped=[Skipped(probe=n.test_arm, task=n.task, reason=n.note) for n in arm_notes(cells) if n.skipped],
        follow=follow_conditions(cells, [records[c] for c in conditions]),
        parts=condition_parts(cells, [records[c] for c in conditions]),
        manipulated={c: m for c in conditions if (m := manipulation(records[c])) is not None},
        names={label: record.display for label, record in records.items()},
        other_arms=other_arm_pairs([records[c] for c in conditions]),
        family=family, mode=mode, margin=config.report.equivalence_margin, share=config.report.equivalence_share,
    )  # fmt: skip
    report.data["arm_notes"] = [
        {"test_arm": n.test_arm, "task": n.task, "note": n.note} for n in arm_notes(cells) if not n.skipped
    ]
    contrast = contrast_section(results, tasks, [records[c] for c in conditions])
    if contrast is not None:
        section, data = contrast
        report.sections.append(section)
        report.data["contrast_consistency"] = data
    if mode == "generate" and protocol is None:
        _add_format_help(report, config, cells, tasks, results, records)
    # published figures go beside the headline protocol's answers, in the report of their mode
    figures = [f for f in config.report.published if f.mode == mode] if protocol is None else []
    published = published_section(
        results,
        figures,
        show=lambda c: records[c].display if c in records else c,
        n_boot=config.report.n_boot,
    )
    if published is not None:
        report.sections.insert(1, published[0])
        report.data["published"] = published[1]
    ran = runs_table(cells, runs)
    if ran is not None:
        table = Table(columns=list(ran.columns), rows=ran.rows, digits=2)
        report.sections.append(Section(title=RUNS_TITLE, paragraphs=[ran.text], tables=[table]))
        report.data["runs"] = ran.data
    return write_report(report, out_dir, stem="report")


def _primary(config: StudyConfig, conditions: Sequence[Condition]) -> str:
    labels = [c.label for c in conditions]
    return config.report.primary or ("simplified" if "simplified" in labels else _first_altered(conditions))


def _family(
    config: StudyConfig,
    cells: Sequence[CellRecord],
    tasks: dict[str, TaskInfo],
    primary_family: Callable[..., Family],
) -> Family:
    """The headline's family (`itprobe.report.family.primary_family`, passed in: the report package is
    imported lazily): the declared primary comparisons (default: the primary arm) at every size and in
    every mode."""
    by_mode: dict[str, list[InstanceResult]] = {
        m: instance_results(cells, m, tasks) for m in config.eval.modes
    }
    records = study_conditions(cells)
    primaries = config.report.primary_comparisons or [_primary(config, list(records.values()))]
    present = {r.condition for rows in by_mode.values() for r in rows}
    unknown = [c for c in primaries if c not in present]
    if unknown:
        raise UserError(
            f"report.primary_comparisons: no results for {', '.join(unknown)} (conditions: "
            f"{', '.join(sorted(present))})"
        )
    return primary_family(by_mode, "original", primaries, n_boot=config.report.n_boot)


def answers_line(config: StudyConfig, mode: str, protocol: Decoding | None = None) -> str:
    """The report's first line: how the answers it scores were produced."""
    if mode == "rank":
        return (
            "Answers: rank classification (the label with the highest log-likelihood; tasks without a label "
            "set are answered by generation under " + config.eval.protocol().label + ")."
        )
    rule = protocol or config.eval.protocol()
    cut = f", cut from the continuations decoded under {config.eval.protocol().label}" if protocol else ""
    return f"Answers: generation under the decoding protocol {rule.describe()}{cut}."


def _add_format_help(
    report: Any,
    config: StudyConfig,
    cells: Sequence[CellRecord],
    tasks: dict[str, TaskInfo],
    results: Sequence[InstanceResult],
    records: dict[str, Condition],
) -> None:
    from itprobe.report import format_help_section  # lazy: numpy

    model_cells = [c for c in cells if c.kind != "baseline"]
    decoded = {condition_of(c, r.test_arm) for c in model_cells for r in c.rows}
    for derived in config.eval.derived_protocols():
        problem = recut_protocol_problem(cells, derived)
        if problem is not None:
            report.notes.append(f"No '{derived.protocol}' view: {problem}.")
            continue
        cut = instance_results(model_cells, "generate", tasks, derived)
        found = format_help_section(
            [r for r in results if r.condition in decoded], cut,
            headline_name=config.eval.protocol().protocol, cut_name=derived.protocol,
            show=lambda c: records[c].display if c in records else c, n_boot=config.report.n_boot,
            order=condition_order(config, records.values()),
        )  # fmt: skip
        if found is not None:
            report.sections.insert(2, found[0])
            report.data.setdefault("format_help", {})[derived.protocol] = found[1]


def _first_altered(conditions: Sequence[Condition]) -> str:
    return next((c.label for c in conditions if c.trained and c.trained_with != "original"), "original")


def save_costs(config: StudyConfig, run_dir: Path) -> None:
    """Copy the config's cost file into the run directory (the report is rebuilt from the run dir alone)."""
    if config.report.costs:
        source = Path(config.report.costs)
        if not source.is_file():
            raise UserError("no such cost file", path=source, field="report.costs")
        run_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, run_dir / COSTS_FILE)


def _costs(run_dir: Path, costs: str | Path | None) -> CostFile | None:
    from itprobe.report import load_costs  # lazy: numpy

    path = Path(costs) if costs is not None else run_dir / COSTS_FILE
    if costs is None and not path.is_file():
        return None
    return load_costs(path)


def _provenance(
    config: StudyConfig, cells: Sequence[CellRecord], runs: Sequence[dict[str, Any]]
) -> Provenance:
    from itprobe.report import stamped_provenance  # lazy: numpy

    seconds: dict[str, float] = defaultdict(float)
    for cell in cells:
        for stage, value in cell.timings.items():
            seconds[f"{cell.kind}/{stage.split('/')[0]}"] += value
    identities = sorted({c.model_identity for c in cells if c.model_identity})
    # packages=(): the study report has listed itprobe's version only (the audit adds torch and transformers)
    return stamped_provenance(
        config_hash=config.hash, model=", ".join(identities) or config.model, command=f"itprobe run ({config.name})",
        timings={k: round(v, 2) for k, v in sorted(seconds.items())}, packages=(),
        extra={"runs": str(len(runs)), "data": config.data.source, "cells": str(len(cells))},
    )  # fmt: skip


def contrast_section(
    results: Sequence[InstanceResult], tasks: dict[str, TaskInfo], conditions: Sequence[Condition]
) -> SectionResult | None:
    """Contrast consistency per condition (`itprobe.contrast`), for test tasks that form contrast pairs;
    ``conditions`` name the rows' conditions (`Condition.display`)."""
    from itprobe.report import Section, SectionResult, Table, consistency_by_seed  # lazy: numpy, matplotlib

    shown = {c.label: c.display for c in conditions}

    paired = [
        Task(name=t.name, definition="", contrast=Contrast(t.contrast_group, t.contrast_side or ""),
             output_space=OutputSpace(t.labels, "declared") if t.labels else None)
        for t in tasks.values()
        if t.contrast_group
    ]  # fmt: skip
    rows: list[list[str | int | float | None]] = []
    data: dict[str, Any] = {}
    for condition, by_seed in consistency_by_seed(results, paired, lambda r: r.condition).items():
        reports = list(by_seed.values())
        overall = reports[0].overall
        if overall.n_items:
            mean = sum(rep.overall.consistency for rep in reports) / len(reports)
            data[condition] = {
                "consistency": mean,
                "seeds": {s: rep.to_dict() for s, rep in zip(by_seed, reports, strict=True)},
            }
            chance = 100 * overall.chance if overall.chance is not None else None
            ceilings = [100 * overall.agreement, 100 * overall.input_blind]
            rows.append([shown.get(condition, condition), overall.n_items, 100 * mean, chance, *ceilings])
    if not rows:
        return None
    columns = ["condition", "items", "both rules correct (%)", "chance (%)"]
    columns += ["rule-blind ceiling (%)", "input-blind ceiling (%)"]
    text = (
        "Each contrast pair applies two rules with disagreeing gold labels to the same inputs; an item counts "
        "only when it is answered correctly under every rule of its pair. A model that ignores the instruction "
        "gives an input the same answer under both rules (format only, constant, input-only) and cannot "
        "exceed the rule-blind ceiling: the share of items whose golds agree across the rules. The majority "
        "baseline is not rule-blind (it peeks at each task's gold labels) and random guessing answers the two "
        "sides independently, so both can pass the ceiling. A model that ignores the input but gives each "
        "task its own constant answer reaches the input-blind ceiling: the share of items in the most "
        "frequent combination of golds across the rules. Trained conditions at their largest size; seeds "
        "averaged."
    )
    table = Table(title="Contrast consistency", columns=columns, rows=rows)
    return SectionResult(Section(title="Contrast consistency", paragraphs=[text], tables=[table]), data)
