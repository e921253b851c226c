"""`run_audit`: inference-only probes on one model, read top to bottom.

load tasks → check the cost file → plan the probes → load the model → predict every (probe, mode, task)
→ score (+ label prior, calibration, baselines) → build the report → write it atomically.

A served model (``openai:BASE_URL#NAME``) whose server gives no prompt log-probs cannot rank: its rank
probes are then skipped with the server's reason in the report (never approximated), and the provenance says
which API was used and that the weights were not hashed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator
from pydantic.dataclasses import dataclass as settings

from itprobe.audit import format_spread
from itprobe.audit.builtin import PRIOR, score_pass
from itprobe.audit.catalogue import ProbeContext, default_probes, registered_probes
from itprobe.audit.data import AuditData
from itprobe.audit.estimate import audit_plan_lines, check_model_spec
from itprobe.audit.gate import Gate, GateResult, check_audit, check_tasks
from itprobe.audit.probes import RANK_ALL, Plan, check_probes, plan_of, rank_skip_reason, warn_skipped
from itprobe.audit.report import build_audit_report, with_gate
from itprobe.audit.sections import RelianceRow
from itprobe.decoding import DEFAULT_PROTOCOL, PROTOCOLS, Decoding
from itprobe.errors import UserError
from itprobe.fsio import apply_modes, temp_dir, write_jsonl
from itprobe.models import open_model, tokenizer_of
from itprobe.models.base import LanguageModel, rank_unavailable
from itprobe.models.loading import DEFAULT_MODEL
from itprobe.models.precision import Precision
from itprobe.models.served import ServedOptions
from itprobe.predict import predict_tasks
from itprobe.progress import counting_bar
from itprobe.prompts import PromptConfig, noting_budget
from itprobe.records import InstanceResult, Mode, Prediction
from itprobe.report import (
    CostFile,
    Provenance,
    ReportData,
    Skipped,
    load_costs,
    stamped_provenance,
    validate_costs,
    write_report,
)
from itprobe.schema import STRICT, user_errors
from itprobe.tasks import load_tasks
from itprobe.tasks.types import Task

DEFAULT_MAX_INSTANCES = 50
REPORT_STEM = "audit"
RESULTS_FILE = "results.jsonl.gz"
# the columns of RESULTS_FILE: the scored row's fields but ROUGE-1, the rank log-probs and the track
RESULT_COLUMNS = tuple(
    f for f in InstanceResult.__dataclass_fields__ if f not in ("rouge1", "label_logprobs", "track")
)


@user_errors("audit setting")
@settings(frozen=True, config=STRICT)
class AuditConfig:
    """Everything an audit needs to know (the CLI fills it from its options); validated when built
    (`itprobe.schema`): unknown keys, unknown modes, probes or precisions, bad bounds, a missing cost file.

    Attributes:
        tasks_path: any task source `itprobe.tasks.load_tasks` reads.
        model: model SPEC (packaged alias, local directory, Hugging Face id or ``openai:BASE_URL#NAME``).
        task_names: only these tasks (all when empty).
        split: which tasks of a checkout or data folder (see `load_tasks`).
        max_instances: the first N instances of each task (None = all).
        modes: "rank" and/or "generate".
        probes: the probes to run (see `itprobe.audit.catalogue.probe_names`; all but the opt-in ones by
            default).
        costs: a cost file (YAML) for the cost-of-errors section.
        cache_dir: prediction cache folder (None = no cache).
        n_boot: bootstrap resamples for every CI.
        served: how to reach a served model (ignored for local ones).
        format_templates: K, the rewrites of the prompt's format the ``format-spread`` probe runs.
    """

    tasks_path: Path
    model: str = DEFAULT_MODEL
    task_names: tuple[str, ...] = ()
    split: str | None = None
    max_instances: Annotated[int, Field(ge=1)] | None = DEFAULT_MAX_INSTANCES
    modes: Annotated[tuple[Mode, ...], Field(min_length=1)] = ("rank", "generate")
    probes: tuple[str, ...] = dataclasses.field(default_factory=default_probes)
    batch_size: Annotated[int, Field(ge=1)] = 8
    precision: Precision = "auto"
    seed: int = 0
    costs: Path | None = None
    trust_remote_code: bool = False
    cache_dir: Path | None = None
    max_labels: Annotated[int, Field(ge=0)] = 10
    label_file: Path | None = None
    labels_may_exclude_gold: bool = False  # the user's opt-out of the gold-in-label-set check (warned)
    prompt: PromptConfig = PromptConfig()
    n_boot: Annotated[int, Field(ge=1)] = 2000
    served: ServedOptions = ServedOptions()
    format_templates: Annotated[int, Field(ge=1, le=32)] = format_spread.DEFAULT_K
    decoding: Decoding = PROTOCOLS[DEFAULT_PROTOCOL]

    @field_validator("probes")
    @classmethod
    def _known_probes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        try:
            check_probes(value)
        except UserError as err:
            raise ValueError(str(err)) from None
        return value

    @model_validator(mode="after")
    def _cost_file_exists(self) -> AuditConfig:
        if self.costs is not None and not self.costs.is_file():
            raise ValueError(str(UserError("no such cost file", path=self.costs)))
        return self


@dataclass(frozen=True)
class AuditOutcome:
    out_dir: Path
    files: dict[str, Path]
    report: ReportData
    data: AuditData
    reliance: dict[str, tuple[RelianceRow, ...]] = dataclasses.field(default_factory=dict)  # per mode
    gate: GateResult | None = None


def load_audit_tasks(config: AuditConfig) -> tuple[list[Task], list[Task]]:
    """(the tasks to audit, the pool ``irrelevant`` draws from: every task of the source).

    Raises:
        UserError: bad source, unknown task name, or no task with instances.
    """

    kw: dict[str, Any] = {
        "split": config.split,
        "max_labels": config.max_labels,
        "label_file": config.label_file,
        "max_instances": config.max_instances,
        "labels_may_exclude_gold": config.labels_may_exclude_gold,
    }
    pool = load_tasks(config.tasks_path, **kw)
    tasks = load_tasks(config.tasks_path, names=list(config.task_names), **kw) if config.task_names else pool
    tasks = [t for t in tasks if t.instances]
    if not tasks:
        raise UserError("no task with instances to audit", path=config.tasks_path)
    if config.modes == ("rank",) and all(rank_skip_reason(t) for t in tasks):
        raise UserError(
            "rank mode needs tasks with an output space of 2 or more labels and none of the "
            f"{len(tasks)} task(s) has one (add --modes generate, or declare labels with --label-file)"
        )
    return tasks, pool


def load_audit_costs(config: AuditConfig, tasks: Sequence[Task]) -> CostFile | None:
    """The validated cost file, or None; a `UserError` names any label or task it gets wrong."""
    if config.costs is None:
        return None

    costs = load_costs(config.costs)
    spaces = {t.name: tuple(t.output_space.labels) if t.output_space else () for t in tasks}
    validate_costs(costs, spaces, path=config.costs)
    return costs


def _predict_passes(
    model: LanguageModel, plan: Plan, config: AuditConfig, progress: bool
) -> tuple[dict[tuple[str, str], list[Prediction]], dict[str, float], list[tuple[str, str, str]]]:
    out: dict[tuple[str, str], list[Prediction]] = {}
    timings: dict[str, float] = {}
    notes: dict[tuple[str, str, str], None] = {}  # the modes of a probe share its prompts: once each
    with counting_bar("audit", sum(p.n_instances for p in plan.passes), enabled=progress) as advance:
        spread = plan.extra.get(format_spread.NAME, {}).get("passes", {})
        for pss in plan.passes:
            start = time.perf_counter()
            preds: list[Prediction] = []
            for task in pss.tasks:
                advance(0, f"{pss.probe} ({pss.mode}) {task.name}")
                labels = task.output_space.labels if task.output_space else ()
                templated = pss.probe in spread  # format-spread: the same prompt in another format
                preds += predict_tasks(
                    format_spread.TemplatedModel(model, spread[pss.probe].template, labels)
                    if templated
                    else model,
                    [task],
                    config.prompt,
                    mode=pss.mode,
                    cache_dir=config.cache_dir,
                    progress=False,
                    tokenizer=tokenizer_of(model),  # the wrapped model's, under a format template too
                    decoding=config.decoding,
                    on_prompts=noting_budget(partial(_probe_note, pss.probe), notes),
                )
                advance(len(task.instances), f"{pss.probe} ({pss.mode}) {task.name}")
            out[(pss.probe, pss.mode)] = preds
            timings[f"{pss.probe} ({pss.mode})"] = time.perf_counter() - start
    return out, timings, list(notes)


def _probe_note(probe: str, task: str, note: str) -> tuple[str, str, str]:
    """A row of the audit's "What the arms did and the prompt budget" (`AuditData.prompt_notes`)."""
    return probe, task, note


def collect(
    model: LanguageModel,
    tasks: Sequence[Task],
    plan: Plan,
    config: AuditConfig,
    *,
    progress: bool = True,
) -> AuditData:
    """Run every pass of ``plan`` and score it, then each planned probe that is not an arm adds its rows
    (label prior and calibration, baselines: `itprobe.audit.builtin`)."""
    predictions, timings, prompt_notes = _predict_passes(model, plan, config, progress)
    arm_probes = {p.name for p in registered_probes() if p.arm is not None}
    rows: list[InstanceResult] = []
    for (probe, mode), preds in predictions.items():
        if probe in arm_probes:
            rows += score_pass(probe, mode, preds, tasks)
    priors: dict[str, Any] = {}
    ctx = ProbeContext(tuple(tasks), plan.modes, config.seed, plan.probes, predictions)
    for entry in registered_probes():
        if entry.run is not None and entry.name in plan.probes:
            added = entry.run(ctx)
            rows += added.rows
            predictions.update(added.predictions)
            priors.update(added.priors)
    return AuditData(
        tuple(tasks), plan, predictions, tuple(rows), priors, timings, config.decoding, tuple(prompt_notes)
    )


def plan_only(config: AuditConfig) -> list[str]:
    """``itprobe audit --plan``: what the audit would run and a rough time, without loading the model."""
    tasks, pool = load_audit_tasks(config)
    return audit_plan_lines(config, tasks, pool)


def _load_model(config: AuditConfig) -> LanguageModel:
    check_model_spec(config.model)  # a mistyped alias: the list of aliases, not a network error
    return open_model(
        config.model,
        precision=config.precision,
        batch_size=config.batch_size,
        trust_remote_code=config.trust_remote_code,
        served=config.served,
    )


def without_rank(tasks: Sequence[Task], pool: Sequence[Task], config: AuditConfig, why: str) -> Plan:
    """The audit's plan without rank mode, saying why rank classification (and the prior) were skipped.

    Raises:
        UserError: rank was the only mode asked for.
    """
    modes = tuple(m for m in config.modes if m != "rank")
    if not modes:
        raise UserError(f"rank classification is not possible: {why} (add --modes generate)")
    plan = plan_of(config, tasks, pool, modes)
    skipped = [Skipped(probe=RANK_ALL, reason=why)]
    for entry in plan.skipped:
        prior = entry.probe == PRIOR and not entry.task
        skipped.append(entry.model_copy(update={"reason": why}) if prior else entry)
    return dataclasses.replace(plan, skipped=tuple(skipped))


def _provenance(config: AuditConfig, model: LanguageModel, data: AuditData, command: str) -> Provenance:
    extra = {
        "tasks": str(config.tasks_path),
        "max instances per task": str(config.max_instances),
        "modes": ", ".join(data.plan.modes),
        "probes": ", ".join(config.probes),
        "seed": str(config.seed),
        "prompt": json.dumps(dataclasses.asdict(config.prompt)),
        # what decides the generated answers: `itprobe compare` refuses audits that differ in it
        "decoding": f"{config.decoding.label} {json.dumps(config.decoding.key(), sort_keys=True)}",
    }
    served = getattr(model, "provenance", None)
    if callable(served):
        extra.update(served())
    model_name = str(getattr(model, "fingerprint", None) or model.identity)
    return stamped_provenance(model=model_name, command=command, timings=data.timings, extra=extra)


def write_results(rows: Sequence[InstanceResult], path: Path) -> Path:
    """Every scored row as gzip JSON Lines (re-analysable without the model)."""
    return write_jsonl(
        path, ({k: v for k, v in dataclasses.asdict(r).items() if k in RESULT_COLUMNS} for r in rows)
    )


def _publish(tmp: Path, out: Path) -> None:
    """Move the finished files from ``tmp`` into ``out`` (replacing earlier audit files of the same name)."""
    if not out.exists():
        os.replace(tmp, out)
        return
    for entry in tmp.iterdir():
        target = out / entry.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(entry, target)
    tmp.rmdir()


def run_audit(
    config: AuditConfig,
    out_dir: str | Path,
    *,
    model: LanguageModel | None = None,
    progress: bool = True,
    command: str = "",
    gate: Gate | None = None,
) -> AuditOutcome:
    """Audit one model: every probe of ``config`` on its tasks, then audit.md/.html/.json in ``out_dir``.

    Args:
        config: what to run.
        out_dir: where the report goes; files appear only when the whole audit succeeded.
        model: a ready `LanguageModel` (tests pass a fake); None loads ``config.model``. Its tokenizer, if
            any, sizes the prompts (`itprobe.models.tokenizer_of`).
        progress: show a progress bar on stderr.
        command: the command line, recorded in the provenance.
        gate: a release gate (`itprobe.audit.gate`): its tasks are checked before the model is loaded, its
            verdict goes first into the report.
    """

    tasks, pool = load_audit_tasks(config)  # 1. tasks
    if gate is not None:
        check_tasks(gate, [t.name for t in tasks], gate.source)
    costs = load_audit_costs(config, tasks)  # 2. cost file, checked before any model time is spent
    plan = plan_of(config, tasks, pool)  # 3. probes
    if model is None:  # 4. model
        model = _load_model(config)
    why = rank_unavailable(model) if "rank" in config.modes else None
    if why is not None:  # a served model without prompt log-probs
        plan = without_rank(tasks, pool, config, why)
    warn_skipped(plan.skipped)  # on the terminal now, not only in the report's table
    data = collect(model, tasks, plan, config, progress=progress)  # 5. predict, score
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_dir(out.parent, f".{out.name}.")
    try:
        provenance = _provenance(config, model, data, command)
        built = build_audit_report(
            data, out_dir=tmp, costs=costs, provenance=provenance, n_boot=config.n_boot, seed=config.seed
        )  # 6. report
        report = built.report
        checked = check_audit(gate, report.data) if gate is not None else None
        report = with_gate(report, checked) if checked is not None else report
        write_report(report, tmp, stem=REPORT_STEM)
        write_results(data.results, tmp / RESULTS_FILE)
        apply_modes(tmp)
        _publish(tmp, out)  # 7. all or nothing
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    names = [f"{REPORT_STEM}.md", f"{REPORT_STEM}.html", f"{REPORT_STEM}.json", RESULTS_FILE]
    return AuditOutcome(
        out,
        {n.rsplit(".", 1)[-1] if n != RESULTS_FILE else "results": out / n for n in names},
        report,
        data,
        built.reliance,
        checked,
    )
