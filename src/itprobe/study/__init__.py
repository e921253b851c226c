"""The study: a whole instruction-tuning experiment from one YAML config (see docs/study.md).

Read in this order: `config` (what a study is), `data` (its tasks), `grid` (cells and their ids),
`store` (``results.sqlite``), `engine` (models: load, train), `runner` (`run_study`, top to bottom),
`report` (the report from the store alone), `merge` (shards into one store).

    from itprobe.study import load_config, run_study

    config = load_config("default", ["seeds=[0, 1]"])
    outcome = run_study(config, "runs/default")
"""

from __future__ import annotations

from itprobe.study.conditions import instance_results
from itprobe.study.config import ArmConfig, StudyConfig
from itprobe.study.data import StudyData, load_study_data
from itprobe.study.engine import Engine, HFEngine, Trained, TrainJob, backend_trainer, unregister_trainer
from itprobe.study.grid import Cell, expand_grid, parse_shard, select_shard
from itprobe.study.loading import apply_overrides, load_config, validate_config
from itprobe.study.merge import MergeOutcome, merge_stores
from itprobe.study.report import build_report
from itprobe.study.runner import RunOptions, StudyOutcome, run_study
from itprobe.study.store import STORE_NAME, CellRecord, ResultsStore

__all__ = [
    "STORE_NAME",
    "ArmConfig",
    "Cell",
    "CellRecord",
    "Engine",
    "HFEngine",
    "MergeOutcome",
    "ResultsStore",
    "RunOptions",
    "StudyConfig",
    "StudyData",
    "StudyOutcome",
    "TrainJob",
    "Trained",
    "apply_overrides",
    "backend_trainer",
    "build_report",
    "expand_grid",
    "instance_results",
    "load_config",
    "load_study_data",
    "merge_stores",
    "parse_shard",
    "run_study",
    "select_shard",
    "unregister_trainer",
    "validate_config",
]
