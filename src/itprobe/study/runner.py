"""`run_study`: the whole experiment, read top to bottom.

load tasks → expand the grid → for every cell not yet in the store: arms → train → predict → score → store
→ (after the grid) report. A cell is stored in one transaction once it is complete, so a killed run loses
only the cell in progress and a rerun continues where it stopped (see `itprobe.study.store`).
"""

from __future__ import annotations

import contextlib
import platform
import shutil
import time
import uuid
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from itprobe.arms import apply_arms_to_tasks, arms_relabel
from itprobe.arms.labels import original_schemes
from itprobe.baselines import ControlData, run_baseline
from itprobe.errors import UserError
from itprobe.fsio import exclusive
from itprobe.metrics import instance_scores
from itprobe.models.base import LanguageModel, rank_unavailable
from itprobe.models.precision import machine_stamp
from itprobe.models.served import TOKENIZER_HINT
from itprobe.predict import predict_tasks
from itprobe.prompts import noting_budget
from itprobe.records import InstanceResult, Prediction
from itprobe.study.config import ArmConfig, StudyConfig
from itprobe.study.data import StudyData, load_study_data
from itprobe.study.engine import Engine, HFEngine, Trained, TrainJob, barrier, is_main_process
from itprobe.study.grid import Cell, expand_grid, select_shard
from itprobe.study.progress import GridProgress, WorkRates, cell_work
from itprobe.study.report import build_report
from itprobe.study.store import CACHE_DIR, COPY_HINT, STORE_NAME, ArmNote, CellRecord, ResultsStore, TaskInfo
from itprobe.tasks.types import Task


@dataclass(frozen=True)
class RunOptions:
    """How to run (not what): resume, shard, progress display, report at the end."""

    resume: bool = True
    shard: tuple[int, int] | None = None
    progress: bool = True
    report: bool = True
    # run the untuned cell after the trained ones: a study spread over sittings carries trained cells'
    # answers in its committed prediction cache, while an untuned base model's long generations often copy
    # the data's text and cannot be committed, so it is best computed in the sitting that finishes the grid
    untuned_last: bool = False


@dataclass(frozen=True)
class StudyOutcome:
    run_dir: Path
    cells_in_shard: int
    cells_run: int
    cells_already_done: int
    reports: dict[str, Path] = field(default_factory=dict)
    report_problem: str = ""  # why no report was written although one was asked for


@dataclass
class _Context:
    """What every cell needs; test tasks under each (arm, seed) are built once and reused."""

    config: StudyConfig
    data: StudyData
    engine: Engine
    run_dir: Path
    resume: bool
    progress: GridProgress
    base: LanguageModel | None = None
    _arm_cache: dict[tuple[ArmConfig, int], tuple[list[Task], list[ArmNote]]] = field(default_factory=dict)

    def test_tasks(self, arm: ArmConfig, seed: int) -> tuple[list[Task], list[ArmNote]]:
        """The test tasks under ``arm`` (tasks it skips left out) and what the arm said about each task."""
        key = (arm, seed)
        if key not in self._arm_cache:
            tasks, notes = apply_arms_to_tasks(list(self.data.test), arm.to_spec(seed))
            kept = {t.name for t in tasks}
            flat = [
                ArmNote(arm.name, task, note, skipped=task not in kept)
                for task, items in notes.items()
                for note in items
            ]
            self._arm_cache[key] = (tasks, flat)
        return self._arm_cache[key]


def run_study(
    config: StudyConfig,
    run_dir: str | Path,
    *,
    options: RunOptions = RunOptions(),
    engine: Engine | None = None,
) -> StudyOutcome:
    """Run every cell of ``config`` (or of one shard) not yet in ``run_dir``'s store, then write the report.

    Args:
        config: the validated study.
        run_dir: where the store, trained models (while in use), the prediction cache and the report go.
        options: resume / shard / progress / report.
        engine: the model side; `HFEngine` unless a test passes a fake.

    Raises:
        UserError: bad data or model spec, or ``resume=False`` on a run directory that already has results.
    """
    run_dir = Path(run_dir)
    data = load_study_data(config)  # 1. tasks
    run_dir.mkdir(parents=True, exist_ok=True)
    shard = f"-shard-{options.shard[0]}-of-{options.shard[1]}" if options.shard else ""
    lock = exclusive(run_dir / f".itprobe-run{shard}.lock", f"this run folder ({run_dir})")
    with lock if is_main_process() else contextlib.nullcontext():  # one run (of a shard) at a time
        store = _open_store(run_dir, options.resume)
        return _run_locked(config, run_dir, store, options, engine, data)


def _run_locked(
    config: StudyConfig,
    run_dir: Path,
    store: ResultsStore,
    options: RunOptions,
    engine: Engine | None,
    data: StudyData,
) -> StudyOutcome:
    engine = engine if engine is not None else HFEngine(config)
    base = engine.load(config.model)  # 2. the model's identity names every cell
    untuned = _untuned_model(config, engine, base)
    cells = expand_grid(
        config,
        model_identity=base.identity,
        train_digest=data.train_digest,
        test_digest=data.test_digest,
        untuned_identity=untuned.identity,
        held_out_digest=data.held_out_digest,
    )
    mine = select_shard(cells, options.shard)
    if options.untuned_last:
        mine = sorted(mine, key=lambda cell: cell.kind == "untuned")  # stable: the order is otherwise kept
    todo = [cell for cell in mine if cell.id not in store.done_cells()]
    run_id = uuid.uuid4().hex[:12]
    if is_main_process():
        shard = f"{options.shard[0]}/{options.shard[1]}" if options.shard else ""
        store.record_run(run_id, config_hash=config.hash, config_json=config.to_json(),
                         model_identity=base.identity, host=platform.node(), shard=shard)  # fmt: skip
        store.record_tasks([task_info(t) for t in data.test])
    rates = WorkRates.measured(store.cells(with_rows=False), config, data)  # the ETA's weights
    weights = [cell_work(cell, config, data, rates) for cell in todo]
    with GridProgress(
        len(mine), len(mine) - len(todo), weights, enabled=options.progress, seconds=rates.seconds
    ) as bar:
        ctx = _Context(config, data, engine, run_dir, options.resume, bar, base=untuned)
        del base, untuned
        _run_cells(todo, ctx, store, run_id)  # 3. the grid
    store.close()
    reports: dict[str, Path] = {}
    problem = ""
    # 4. the report, from the store alone; a shard holds part of the grid: merge the shards first
    if options.report and options.shard is None and is_main_process():
        try:
            reports = build_report(run_dir)
        except UserError as err:  # e.g. no 'original' arm to compare with: the results are still stored
            problem = str(err)
    return StudyOutcome(run_dir, len(mine), len(todo), len(mine) - len(todo), reports, problem)


def _run_cells(todo: list[Cell], ctx: _Context, store: ResultsStore, run_id: str) -> None:
    last_untuned = max((i for i, cell in enumerate(todo) if cell.kind == "untuned"), default=-1)
    for i, cell in enumerate(todo):
        if i > last_untuned:
            ctx.base = None  # free the base model once no untuned cell needs it
        ctx.progress.start_cell(cell.name)
        record = run_cell(cell, ctx)
        if is_main_process():
            store.write_cell(record, run_id=run_id)
        _drop_model(cell, ctx)
        ctx.progress.finish_cell(cell.name, record.finished_at - record.started_at)


def _untuned_model(config: StudyConfig, engine: Engine, base: LanguageModel) -> LanguageModel:
    """The untuned row's model: ``eval.untuned_model`` (e.g. a served model) or the base model itself.

    Raises:
        UserError: rank mode is asked for and the untuned model cannot rank (a server without log-probs).
    """
    spec = config.eval.untuned_model
    if spec is None or "untuned" not in config.baselines:
        return base
    untuned = engine.load(spec)
    why = rank_unavailable(untuned) if "rank" in config.eval.modes else None
    if (
        why is not None
    ):  # `run` has no --api-tokenizer: the tokenizer loads from a served name that is a folder
        why = why.replace(
            TOKENIZER_HINT, "serve the model under its local folder's path (openai:URL#/path/to/model)"
        )
        raise UserError(f"eval.untuned_model: rank classification is not possible: {why} (eval.modes)")
    return untuned


def _open_store(run_dir: Path, resume: bool) -> ResultsStore:
    if not resume and (run_dir / STORE_NAME).exists():
        with ResultsStore(run_dir / STORE_NAME) as existing:
            if existing.done_cells():
                raise UserError(
                    "already holds results; rerun with --resume to continue it, or choose another --out",
                    path=run_dir / STORE_NAME,
                )
    store = ResultsStore(run_dir / STORE_NAME)
    if store.done_cells() and not store.integrity_ok(quick=True):  # "all done" must not mean "unreadable"
        store.close()
        raise UserError(
            f"damaged results store (sqlite quick_check failed); {COPY_HINT}", path=run_dir / STORE_NAME
        )
    return store


def task_info(task: Task) -> TaskInfo:
    labels = task.output_space.labels if task.output_space is not None else ()
    contrast = task.contrast
    return TaskInfo(
        task.name,
        task.category,
        tuple(labels),
        contrast.group if contrast else None,
        contrast.side if contrast else None,
        dict(task.meta),
    )


def run_cell(cell: Cell, ctx: _Context) -> CellRecord:
    """Compute one cell completely (nothing is written here)."""
    started, timings = time.time(), dict[str, float]()
    info: dict[str, Any] = {}
    if cell.kind == "baseline":
        rows, notes = _baseline(cell, ctx)
    elif cell.kind == "untuned":
        assert ctx.base is not None
        rows, notes = _evaluate(ctx.base, cell, ctx, timings)
    else:
        trained = _train(cell, ctx, timings)
        tick = time.perf_counter()
        model = ctx.engine.load(trained.model_spec)
        timings["load"] = time.perf_counter() - tick
        rows, notes = _evaluate(model, cell, ctx, timings)
        info = trained.result.stored()
    finished = time.time()
    timings["total"] = finished - started
    info = {**info, "ran_on": machine_stamp()}  # CPU, threads, load: beside the cell's timings
    train_arm = cell.train_arm.name if cell.train_arm is not None else ""
    identity = str(cell.resolved.get("model", ""))
    return CellRecord(
        cell.id,
        cell.kind,
        cell.name,
        train_arm,
        cell.size,
        cell.seed,
        cell.baseline,
        identity,
        cell.resolved,
        info,
        tuple(rows),
        timings,
        tuple(notes),
        started,
        finished,
    )


def _model_dir(cell: Cell, ctx: _Context) -> Path:
    return ctx.run_dir / "models" / cell.id


def _train(cell: Cell, ctx: _Context, timings: dict[str, float]) -> Trained:
    assert cell.train_arm is not None and cell.size is not None
    job = TrainJob(
        tasks=ctx.data.train,
        arm=cell.train_arm.to_spec(cell.seed),
        size=cell.size,
        seed=cell.seed,
        out_dir=_model_dir(cell, ctx),
        resume=ctx.resume,
        on_step=ctx.progress.train_step,
    )
    tick = time.perf_counter()
    try:
        trained = ctx.engine.train(job)
    except UserError as err:  # e.g. diverged: the cell is not stored, and the user learns which one
        raise UserError(f"cell {cell.name}: {err}") from None
    timings["train"] = time.perf_counter() - tick
    return trained


def _drop_model(cell: Cell, ctx: _Context) -> None:
    """Trained weights are deleted once the cell is stored, unless ``keep_models``."""
    if cell.kind == "trained" and not ctx.config.keep_models:
        barrier()  # every process has loaded (and evaluated) the model before the main one deletes it
        if is_main_process():
            shutil.rmtree(_model_dir(cell, ctx), ignore_errors=True)


def _baseline(cell: Cell, ctx: _Context) -> tuple[list[InstanceResult], list[ArmNote]]:
    rows: list[InstanceResult] = []
    notes: list[ArmNote] = []
    for arm in cell.test_arms:
        tasks, arm_notes = ctx.test_tasks(arm, cell.seed)
        notes += arm_notes
        # the held-out instances carry the original labels: a label arm's answers are not learnt from them
        held = {} if arms_relabel(arm) else ctx.data.held_out
        preds = run_baseline(cell.baseline, tasks, seed=cell.seed, data=ControlData(held_out=held))
        rows += prediction_rows(preds, arm, "generate", ctx.data.test)
    ctx.progress.advance()
    return rows, notes


def _evaluate(
    model: LanguageModel, cell: Cell, ctx: _Context, timings: dict[str, float]
) -> tuple[list[InstanceResult], list[ArmNote]]:

    prompt = ctx.config.prompt
    rows: list[InstanceResult] = []
    notes: list[ArmNote] = []
    for arm in cell.test_arms:
        tasks, arm_notes = ctx.test_tasks(arm, cell.seed)
        notes += arm_notes
        budget: dict[ArmNote, None] = {}  # what the prompt budget did, per task (the modes share prompts)
        for mode in cell.modes:
            tick = time.perf_counter()
            preds = predict_tasks(
                model,  # its tokenizer (`itprobe.models.tokenizer_of`) sizes the prompts
                tasks,
                prompt,
                mode=mode,
                cache_dir=ctx.run_dir / CACHE_DIR if ctx.config.eval.cache else None,
                progress=False,
                length_normalized=ctx.config.eval.length_normalized,
                decoding=ctx.config.eval.protocol(),
                on_prompts=noting_budget(partial(ArmNote, arm.name), budget),
            )
            timings[f"predict/{arm.name}/{mode}"] = time.perf_counter() - tick
            rows += prediction_rows(preds, arm, mode, ctx.data.test)
            ctx.progress.advance()
        notes += budget
    return rows, notes


def prediction_rows(
    preds: list[Prediction], arm: ArmConfig, mode: str, originals: tuple[Task, ...]
) -> list[InstanceResult]:
    """Score predictions (`itprobe.metrics.instance_scores`) into store rows of one (arm, mode) pass.

    ``mode`` is the pass's mode (in a rank pass, tasks without an output space are answered by generation).
    For a label arm the output space and gold of the original scheme are kept too (old-label leakage).
    """
    before = original_schemes(originals) if arms_relabel(arm) else None
    return instance_scores(preds, test_arm=arm.name, mode=mode, originals=before)
