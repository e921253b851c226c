"""The results store's sqlite schema and the conversions between its rows and `InstanceResult`s.

Apart from `itprobe.study.store` (the store: transactions, WAL, errors) so that each stays short; in
itprobe only the store imports it (tests read `STORED_FIELDS`). Tuples and dicts are stored as JSON text
with sorted keys (the same content always gives the same text), booleans that may be unknown as INTEGER
or NULL.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from itprobe.records import InstanceResult

TABLES = frozenset({"meta", "runs", "tasks", "cells", "predictions", "scores", "timings", "notes"})
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, started_at REAL NOT NULL, config_hash TEXT NOT NULL, config_json TEXT NOT NULL,
    model_identity TEXT NOT NULL, host TEXT NOT NULL, shard TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tasks (
    name TEXT PRIMARY KEY, category TEXT NOT NULL, labels TEXT NOT NULL, contrast_group TEXT,
    contrast_side TEXT, meta TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cells (
    cell_id TEXT PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, train_arm TEXT NOT NULL, size INTEGER,
    seed INTEGER NOT NULL, baseline TEXT NOT NULL, model_identity TEXT NOT NULL, resolved TEXT NOT NULL,
    info TEXT NOT NULL, run_id TEXT NOT NULL, started_at REAL NOT NULL, finished_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS predictions (
    cell_id TEXT NOT NULL, test_arm TEXT NOT NULL, mode TEXT NOT NULL, task TEXT NOT NULL, id TEXT NOT NULL,
    category TEXT NOT NULL, prediction TEXT NOT NULL, "references" TEXT NOT NULL, labels TEXT NOT NULL,
    label_logprobs TEXT NOT NULL, original_labels TEXT NOT NULL, original_references TEXT NOT NULL,
    raw TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (cell_id, test_arm, mode, task, id)
);
CREATE TABLE IF NOT EXISTS scores (
    cell_id TEXT NOT NULL, test_arm TEXT NOT NULL, mode TEXT NOT NULL, task TEXT NOT NULL, id TEXT NOT NULL,
    exact_match REAL NOT NULL, rouge1 REAL NOT NULL, rougeL REAL NOT NULL, in_space_strict INTEGER,
    in_space_loose INTEGER, PRIMARY KEY (cell_id, test_arm, mode, task, id)
);
CREATE TABLE IF NOT EXISTS timings (
    cell_id TEXT NOT NULL, stage TEXT NOT NULL, seconds REAL NOT NULL, PRIMARY KEY (cell_id, stage)
);
CREATE TABLE IF NOT EXISTS notes (
    cell_id TEXT NOT NULL, test_arm TEXT NOT NULL, task TEXT NOT NULL, note TEXT NOT NULL,
    skipped INTEGER NOT NULL
);
"""


def dumps(value: Any) -> str:
    # sorted keys and no ASCII escaping: the same content always gives the same text
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


def unflag(value: int | None) -> bool | None:
    return None if value is None else bool(value)


CELL_COLUMNS = (
    "cell_id",
    "kind",
    "name",
    "train_arm",
    "size",
    "seed",
    "baseline",
    "model_identity",
    "started_at",
    "finished_at",
)
KEY = ("cell_id", "test_arm", "mode", "task", "id")
# a generated row scored under another protocol, where its continuation is not stored (`CellRecord.cuts`)
CUTS_TABLE = """CREATE TABLE IF NOT EXISTS cuts (
    cell_id TEXT NOT NULL, protocol TEXT NOT NULL, test_arm TEXT NOT NULL, mode TEXT NOT NULL, task TEXT NOT NULL,
    id TEXT NOT NULL, prediction TEXT NOT NULL, exact_match REAL NOT NULL, rouge1 REAL NOT NULL,
    rougeL REAL NOT NULL, in_space_strict INTEGER, in_space_loose INTEGER,
    PRIMARY KEY (cell_id, protocol, test_arm, mode, task, id)
)"""
SCORE_COLUMNS = (*KEY, "exact_match", "rouge1", "rougeL", "in_space_strict", "in_space_loose")
PREDICTION_COLUMNS = (
    *KEY,
    "category",
    "prediction",
    "references",
    "labels",
    "label_logprobs",
    "original_labels",
    "original_references",
    "raw",
)
# the fields of a row (`InstanceResult`) the store keeps; the others come from the cell
STORED_FIELDS = tuple(dict.fromkeys(c for c in (*PREDICTION_COLUMNS, *SCORE_COLUMNS) if c != "cell_id"))
TUPLE_FIELDS = ("references", "labels", "label_logprobs", "original_labels", "original_references")


def insert_rows(
    conn: sqlite3.Connection, table: str, rows: Sequence[dict[str, Any]], *, verb: str = "INSERT"
) -> None:
    if not rows:
        return
    columns = list(rows[0])
    names = ", ".join(f'"{c}"' for c in columns)  # quoted: "references" is an SQL keyword
    sql = f"{verb} INTO {table} ({names}) VALUES ({', '.join(':' + c for c in columns)})"
    conn.executemany(sql, rows)


def prediction_params(cell_id: str, row: InstanceResult) -> dict[str, Any]:
    params = {"cell_id": cell_id, **asdict(row)}
    params.update({name: dumps(list(getattr(row, name))) for name in TUPLE_FIELDS})
    params.update(in_space_strict=flag(row.in_space_strict), in_space_loose=flag(row.in_space_loose))
    return params


def add_raw_column(conn: sqlite3.Connection) -> None:
    """Stores written before the raw continuation was kept get its column (their rows read as '')."""
    columns = {r[1] for r in conn.execute("PRAGMA table_info(predictions)")}
    if "raw" not in columns:
        conn.execute("ALTER TABLE predictions ADD COLUMN raw TEXT NOT NULL DEFAULT ''")


def prediction_row(row: sqlite3.Row) -> InstanceResult:
    present = set(row.keys())
    values: dict[str, Any] = {name: row[name] if name in present else "" for name in STORED_FIELDS}
    values.update({name: tuple(json.loads(row[name])) for name in TUPLE_FIELDS})
    values.update(
        in_space_strict=unflag(row["in_space_strict"]), in_space_loose=unflag(row["in_space_loose"])
    )
    return InstanceResult(condition="", **values)
