"""`merge_stores`: combine the stores of several run directories (shards of one grid) into one.

Cells are keyed by their content-derived id, so a cell present in several sources is copied once, and a
merge into a directory that already holds some of them is idempotent. Each cell is copied in its own
transaction (through `ResultsStore.write_cell`), so an interrupted merge can simply be rerun.

Every source is opened and checked (``PRAGMA quick_check``) before the target is touched; should the merge
still fail, a target store (and folder) that the merge created is removed again, so a failed merge leaves
nothing behind.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from itprobe.errors import UserError
from itprobe.fsio import check_output_dir
from itprobe.study.store import COPY_HINT, STORE_NAME, ResultsStore


@dataclass(frozen=True)
class MergeOutcome:
    cells_copied: int
    cells_present: int  # already in the target (or copied from an earlier source)
    sources: int


@dataclass(frozen=True)
class _Study:
    """What makes stores parts of one study: its name, the model it ran, its test tasks."""

    name: str
    model: str
    tasks: frozenset[str]

    def difference(self, other: _Study) -> str:
        if self.name != other.name:
            return f"study '{other.name}', not '{self.name}'"
        if self.model != other.model:
            return f"model {other.model}, not {self.model}"
        if self.tasks != other.tasks:
            odd = sorted(self.tasks ^ other.tasks)
            return f"other test tasks ({len(odd)} differ, e.g. {odd[0]})"
        return ""


def _study_of(store: ResultsStore) -> _Study | None:
    """The study of a store's latest run (None for an empty store)."""
    runs = store.runs()
    if not runs:
        return None
    last = runs[-1]
    try:
        name = str(json.loads(last["config_json"]).get("name", ""))
    except (ValueError, AttributeError):
        name = ""
    return _Study(name, str(last["model_identity"]), frozenset(store.tasks()))


def _check_source(path: Path) -> _Study | None:
    with ResultsStore(path) as source:
        if not source.integrity_ok(quick=True):
            raise UserError(f"damaged results store (sqlite quick_check failed); {COPY_HINT}", path=path)
        return _study_of(source)


def _check_same_study(studies: Sequence[tuple[Path, _Study | None]]) -> None:
    """Refuse to mix studies: the report would read another study's cells as this one's earlier config.

    Raises:
        UserError: naming the store that differs and how.
    """
    known = [(path, study) for path, study in studies if study is not None]
    for path, study in known[1:]:
        why = known[0][1].difference(study)
        if why:
            raise UserError(
                f"holds another study than {known[0][0].parent} ({why}); merge only shards of one study",
                path=path.parent,
            )


def _remove_store(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def merge_stores(out_dir: str | Path, sources: Sequence[str | Path]) -> MergeOutcome:
    """Copy every run, task and cell of ``sources`` (run directories) into ``out_dir``'s store.

    Raises:
        UserError: a source without a store, an unreadable or damaged source, a source that is the
            target itself, or stores of different studies (name, model identity, test tasks); nothing is
            created then.
    """
    out_dir = check_output_dir(out_dir)
    target_path = out_dir / STORE_NAME
    paths = [Path(src) / STORE_NAME for src in sources]
    for path in paths:
        if not path.is_file():
            raise UserError(f"no {STORE_NAME} here; is this a run directory?", path=path.parent)
        if path.resolve() == target_path.resolve():
            raise UserError("a source is the merge target itself", path=path.parent)
    studies = [(path, _check_source(path)) for path in paths]
    if target_path.is_file():
        studies.insert(0, (target_path, _check_source(target_path)))
    _check_same_study(studies)
    new_dir, new_store = not out_dir.exists(), not target_path.exists()
    try:
        return _copy(target_path, paths)
    except BaseException:
        if new_dir:
            shutil.rmtree(out_dir, ignore_errors=True)
        elif new_store:
            _remove_store(target_path)
        raise


def _copy(target_path: Path, paths: Sequence[Path]) -> MergeOutcome:
    copied = present = 0
    with ResultsStore(target_path) as target:
        for path in paths:
            with ResultsStore(path) as source:
                for run in source.runs():
                    target.record_run(**run)
                target.record_tasks(list(source.tasks().values()))
                runs_of = source.cell_runs()
                for cell in source.cells():
                    if target.write_cell(cell, run_id=runs_of[cell.cell_id]):
                        copied += 1
                    else:
                        present += 1
    return MergeOutcome(copied, present, len(paths))
