"""`merge_stores`: combine the stores of several run directories (shards of one grid) into one.

Cells are keyed by their content-derived id, so a cell present in several sources is copied once, and a
merge into a directory that already holds some of them is idempotent. Each cell is copied in its own
transaction (through `ResultsStore.write_cell`), so an interrupted merge can simply be rerun.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from itprobe.errors import UserError
from itprobe.study.store import STORE_NAME, ResultsStore


@dataclass(frozen=True)
class MergeOutcome:
    cells_copied: int
    cells_present: int  # already in the target (or copied from an earlier source)
    sources: int


def merge_stores(out_dir: str | Path, sources: Sequence[str | Path]) -> MergeOutcome:
    """Copy every run, task and cell of ``sources`` (run directories) into ``out_dir``'s store.

    Raises:
        UserError: a source without a store, or a source that is the target itself.
    """
    out_dir = Path(out_dir)
    paths = [Path(src) / STORE_NAME for src in sources]
    for path in paths:
        if not path.is_file():
            raise UserError(f"no {STORE_NAME} here; is this a run directory?", path=path.parent)
        if path.resolve() == (out_dir / STORE_NAME).resolve():
            raise UserError("a source is the merge target itself", path=path.parent)
    copied = present = 0
    with ResultsStore(out_dir / STORE_NAME) as target:
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
