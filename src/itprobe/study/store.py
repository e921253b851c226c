"""The results store: one sqlite file (``results.sqlite``) per run directory.

Every finished cell is written in ONE transaction (cell row, predictions, instance scores, timings), so a
cell is either wholly in the store or absent: a run killed at any moment loses only the cell in progress,
and a rerun finds exactly the finished ones. WAL mode plus a busy timeout lets several processes (two runs,
shards of one grid on a shared disk) write the same file; a cell finished twice is kept once. After every
write the WAL is checkpointed (passively: never waiting for readers), so ``results.sqlite`` alone holds the
finished cells even when its ``-wal`` file is lost in a copy.

A file that sqlite cannot read, or an sqlite file that is not a results store, is a `UserError` naming the
file, raised by any method (never an ``sqlite3`` traceback); a foreign file is never written to.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field, replace
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from itprobe.errors import UserError
from itprobe.fsio import touch
from itprobe.records import InstanceResult
from itprobe.study.schema import (
    CELL_COLUMNS,
    CUTS_TABLE,
    PREDICTION_COLUMNS,
    SCHEMA,
    SCORE_COLUMNS,
    TABLES,
    add_raw_column,
    dumps,
    insert_rows,
    prediction_params,
    prediction_row,
    unflag,
)

STORE_NAME = "results.sqlite"
CACHE_DIR = "cache"  # the run folder's prediction cache (`itprobe.cache.cache_file` in it)
SCHEMA_VERSION = 1
COPY_HINT = f"copy the whole run folder, {STORE_NAME} with its {STORE_NAME}-wal file"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ArmNote:
    """What a test arm said about a task: a remark, or (``skipped``) why the task was left out."""

    test_arm: str
    task: str
    note: str
    skipped: bool = False


@dataclass(frozen=True)
class CellRecord:
    """A finished cell: identity, grid coordinates, what happened (``info``), and its answers.

    ``rows`` are `InstanceResult`s (the one scored-row type) without the cell's context: the store keeps
    the answer, its scores, ``test_arm`` and ``mode`` (the columns of ``predictions`` and ``scores``),
    and the report adds condition, seed, size and train arm from the cell."""

    cell_id: str
    kind: str  # "trained" | "untuned" | "baseline"
    name: str
    train_arm: str
    size: int | None
    seed: int
    baseline: str
    model_identity: str
    resolved: dict[str, Any]
    info: dict[str, Any] = field(default_factory=dict)
    rows: tuple[InstanceResult, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)
    notes: tuple[ArmNote, ...] = ()
    started_at: float = 0.0
    finished_at: float = 0.0
    # protocol name -> the generated rows scored under that protocol, where the store holds them (a store
    # rebuilt from published predictions, whose continuations are withheld); else cut from ``rows``' raw
    cuts: dict[str, tuple[InstanceResult, ...]] = field(default_factory=dict)
    run_id: str = ""  # the run that stored the cell, as read back (`write_cell` takes it as an argument)


@dataclass(frozen=True)
class TaskInfo:
    """What a report needs to know about a test task without the task file."""

    name: str
    category: str = ""
    labels: tuple[str, ...] = ()
    contrast_group: str | None = None
    contrast_side: str | None = None
    meta: dict[str, str] = field(default_factory=dict)


def unreadable(path: Path, err: sqlite3.DatabaseError) -> UserError:
    """The one-line error for a store sqlite cannot read (corrupt, truncated, not a database, locked)."""
    if isinstance(err, sqlite3.OperationalError) and "disk is full" in str(err):
        return UserError(
            "no space left on the device; finished cells are kept: free space and rerun", path=path
        )
    if isinstance(err, sqlite3.OperationalError) and "locked" in str(err):
        return UserError(f"results store is locked by another process for too long ({err})", path=path)
    return UserError(
        f"not a readable results store ({err}); if it is a copy, {COPY_HINT}; otherwise move it away and "
        "rerun the cells",
        path=path,
    )


def _guarded(method: F) -> F:
    """Turn sqlite errors inside a store method into `unreadable`'s one-line `UserError`."""

    @wraps(method)
    def wrapper(self: ResultsStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as err:
            raise unreadable(self.path, err) from None

    return wrapper  # type: ignore[return-value]


class ResultsStore:
    """A handle on ``results.sqlite``; safe to open from several processes at once."""

    def __init__(self, path: str | Path, *, timeout_s: float = 120.0) -> None:
        self.path = Path(path)
        touch(self.path)  # created with the permission rule; sqlite gives -wal and -shm the same mode
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so a writer takes the lock up front
        self._conn = sqlite3.connect(self.path, timeout=timeout_s, isolation_level=None)
        try:
            self._open(timeout_s)
        except BaseException:
            self._conn.close()
            raise

    @_guarded
    def _open(self, timeout_s: float) -> None:
        self._conn.row_factory = sqlite3.Row
        self._conn.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
        tables = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables and "cells" not in tables:
            found = ", ".join(sorted(tables)[:5])
            raise UserError(f"not an itprobe results store (its tables: {found})", path=self.path)
        if "meta" in tables:
            self._check_version()
        self._enter_wal(timeout_s)
        self._conn.execute("PRAGMA synchronous = NORMAL")
        if tables >= TABLES:
            return
        with self._transaction() as conn:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    def _check_version(self) -> None:
        """A store of another schema would be misread (or written in a shape its reader cannot use)."""
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is not None and row[0] != str(SCHEMA_VERSION):
            raise UserError(
                f"results store of schema version {row[0]!r}; this itprobe reads version {SCHEMA_VERSION} "
                "(use the itprobe that wrote it)",
                path=self.path,
            )

    def _enter_wal(self, timeout_s: float) -> None:
        # sqlite does not call the busy handler when switching a store to WAL, so two processes opening a new
        # store at once can get an immediate "database is locked": retry until the timeout instead
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self._conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @classmethod
    def in_dir(cls, run_dir: str | Path) -> ResultsStore:
        return cls(Path(run_dir) / STORE_NAME)

    def close(self) -> None:
        # fold the WAL into the main file, so the store is one self-contained file again; when busy (another
        # process uses the store) or unreadable, sqlite finishes it later
        with suppress(sqlite3.Error):
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._conn.close()

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")
        self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    # -- writing -------------------------------------------------------------------------------------

    @_guarded
    def record_run(
        self,
        run_id: str,
        *,
        config_hash: str,
        config_json: str,
        model_identity: str,
        host: str,
        shard: str,
        started_at: float | None = None,
    ) -> None:
        row = {
            "run_id": run_id,
            "started_at": time.time() if started_at is None else started_at,
            "config_hash": config_hash,
            "config_json": config_json,
            "model_identity": model_identity,
            "host": host,
            "shard": shard,
        }
        with self._transaction() as conn:
            insert_rows(conn, "runs", [row], verb="INSERT OR REPLACE")

    @_guarded
    def record_tasks(self, tasks: Sequence[TaskInfo]) -> None:
        rows = [{**asdict(t), "labels": dumps(list(t.labels)), "meta": dumps(t.meta)} for t in tasks]
        with self._transaction() as conn:
            insert_rows(conn, "tasks", rows, verb="INSERT OR IGNORE")

    @_guarded
    def write_cell(self, record: CellRecord, *, run_id: str) -> bool:
        """Store a finished cell atomically; False (and nothing written) if the cell is already stored."""
        _check_finite(record)
        cell = {name: getattr(record, name) for name in CELL_COLUMNS}
        cell.update(resolved=dumps(record.resolved), info=dumps(record.info), run_id=run_id)
        with self._transaction() as conn:
            if conn.execute("SELECT 1 FROM cells WHERE cell_id = ?", (record.cell_id,)).fetchone():
                return False
            insert_rows(conn, "cells", [cell])
            add_raw_column(conn)
            params = [prediction_params(record.cell_id, r) for r in record.rows]
            insert_rows(conn, "predictions", [{k: p[k] for k in PREDICTION_COLUMNS} for p in params])
            insert_rows(conn, "scores", [{k: p[k] for k in SCORE_COLUMNS} for p in params])
            timings = [
                {"cell_id": record.cell_id, "stage": k, "seconds": v} for k, v in record.timings.items()
            ]
            insert_rows(conn, "timings", timings)
            insert_rows(conn, "notes", [{"cell_id": record.cell_id, **asdict(n)} for n in record.notes])
            if record.cuts:
                conn.execute(CUTS_TABLE)
                insert_rows(conn, "cuts", [
                    {"protocol": protocol, **{k: p[k] for k in SCORE_COLUMNS}, "prediction": r.prediction}
                    for protocol, rows in record.cuts.items()
                    for r in rows
                    for p in [prediction_params(record.cell_id, r)]
                ])  # fmt: skip
        return True

    # -- reading -------------------------------------------------------------------------------------

    @_guarded
    def done_cells(self) -> set[str]:
        return {row[0] for row in self._conn.execute("SELECT cell_id FROM cells")}

    @_guarded
    def cell_runs(self) -> dict[str, str]:
        """The run that stored each cell."""
        return {row[0]: row[1] for row in self._conn.execute("SELECT cell_id, run_id FROM cells")}

    @_guarded
    def runs(self) -> list[dict[str, Any]]:
        return [dict(row) for row in self._conn.execute("SELECT * FROM runs ORDER BY started_at, run_id")]

    @_guarded
    def tasks(self) -> dict[str, TaskInfo]:
        out = {}
        for row in self._conn.execute("SELECT * FROM tasks ORDER BY name"):
            values = dict(row)
            values.update(labels=tuple(json.loads(values["labels"])), meta=json.loads(values["meta"]))
            out[row["name"]] = TaskInfo(**values)
        return out

    @_guarded
    def cells(self, *, with_rows: bool = True) -> list[CellRecord]:
        """Every stored cell (ordered by id), with its answers unless ``with_rows`` is False."""
        out = []
        for row in self._conn.execute("SELECT * FROM cells ORDER BY cell_id").fetchall():
            cell_id = row["cell_id"]
            values = {name: row[name] for name in CELL_COLUMNS}
            values.update(resolved=json.loads(row["resolved"]), info=json.loads(row["info"]))
            timings = self._conn.execute("SELECT stage, seconds FROM timings WHERE cell_id = ?", (cell_id,))
            notes = self._conn.execute(
                "SELECT test_arm, task, note, skipped FROM notes WHERE cell_id = ? ORDER BY rowid", (cell_id,)
            )
            out.append(
                CellRecord(
                    **values,
                    rows=self._rows(cell_id) if with_rows else (),
                    cuts=self._cuts(cell_id) if with_rows else {},
                    timings={stage: seconds for stage, seconds in timings},
                    run_id=row["run_id"],
                    notes=tuple(
                        ArmNote(r["test_arm"], r["task"], r["note"], bool(r["skipped"])) for r in notes
                    ),
                )
            )
        return out

    def _rows(self, cell_id: str) -> tuple[InstanceResult, ...]:
        cur = self._conn.execute(
            "SELECT * FROM predictions JOIN scores USING (cell_id, test_arm, mode, task, id)"
            " WHERE cell_id = ? ORDER BY predictions.rowid",
            (cell_id,),
        )
        return tuple(prediction_row(row) for row in cur)

    def _cuts(self, cell_id: str) -> dict[str, tuple[InstanceResult, ...]]:
        tables = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "cuts" not in tables:
            return {}
        stored = {(r.test_arm, r.mode, r.task, r.id): r for r in self._rows(cell_id)}
        out: dict[str, list[InstanceResult]] = {}
        for row in self._conn.execute("SELECT * FROM cuts WHERE cell_id = ? ORDER BY rowid", (cell_id,)):
            base = stored[(row["test_arm"], row["mode"], row["task"], row["id"])]
            scores = {k: row[k] for k in ("exact_match", "rouge1", "rougeL", "prediction")}
            out.setdefault(row["protocol"], []).append(
                replace(base, **scores, raw="", in_space_strict=unflag(row["in_space_strict"]),
                        in_space_loose=unflag(row["in_space_loose"]))
            )  # fmt: skip
        return {k: tuple(v) for k, v in out.items()}

    @_guarded
    def integrity_ok(self, *, quick: bool = False) -> bool:
        """sqlite's ``integrity_check`` (or the faster ``quick_check``, which skips index contents)."""
        check = "quick_check" if quick else "integrity_check"
        return self._conn.execute(f"PRAGMA {check}").fetchone()[0] == "ok"


def _check_finite(record: CellRecord) -> None:
    """A NaN score would read as NULL (or 0 in a mean) later: such a cell is refused, not stored.

    Raises:
        UserError: naming the cell and what is not finite.
    """
    for row in record.rows:
        values = (row.exact_match, row.rouge1, row.rougeL, *row.label_logprobs)
        if not all(math.isfinite(v) for v in values if v is not None):
            raise UserError(
                f"cell {record.name}: refusing to store a score that is not finite (task {row.task})"
            )
    try:
        json.dumps([record.info, record.timings], allow_nan=False)
    except ValueError:
        raise UserError(f"cell {record.name}: refusing to store a number that is not finite") from None
