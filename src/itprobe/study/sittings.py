"""Where and when a study's cells ran: one row per run (an `itprobe run` process) that finished cells.

A long study is spread over sittings, restarts and machines; its timings mean something only beside the
machine and its load. Every finished cell records the run that stored it (``run_id``), when it started and
finished, and (since `itprobe.models.precision.machine_stamp` was added) where it ran: the CPU line with
its flags, torch's threads and the load average when it finished. This section groups them by run, so
"which cells ran in which sitting, on what" is read from the store rather than kept by hand.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from itprobe.study.store import CellRecord

TITLE = "Where and when the cells ran"

COLUMNS = ["run started (UTC)", "host", "CPU, torch threads", "load average (1 min) at cell ends",
           "cells finished", "cell time (h)"]  # fmt: skip


def _utc(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%d %H:%M")


def _where(cells: Sequence[CellRecord]) -> str:
    stamps = [c.info["ran_on"] for c in cells if isinstance(c.info.get("ran_on"), dict)]
    seen = dict.fromkeys(f"{s.get('cpu', '?')}, {s.get('threads', '?')} threads" for s in stamps)
    return "; ".join(seen) or "not recorded"


def _load(cells: Sequence[CellRecord]) -> str:
    loads = [c.info["ran_on"]["load_average"][0] for c in cells
             if isinstance(c.info.get("ran_on"), dict) and c.info["ran_on"].get("load_average")]  # fmt: skip
    if not loads:
        return "not recorded"
    low, high = min(loads), max(loads)
    return f"{low:.1f}" if low == high else f"{low:.1f}–{high:.1f}"


@dataclass(frozen=True)
class RunsTable:
    """The section's content as data (the report package, which renders it, loads numpy: the caller
    builds the `itprobe.report.Section`)."""

    text: str
    rows: list[list[Any]]
    data: list[dict[str, Any]] = field(default_factory=list)
    columns: tuple[str, ...] = tuple(COLUMNS)


def runs_table(cells: Sequence[CellRecord], runs: Sequence[dict[str, Any]]) -> RunsTable | None:
    """The runs that finished ``cells``, oldest first (runs that finished none are counted in a line).
    None when no cell names its run (a store rebuilt from files without it)."""

    by_run: dict[str, list[CellRecord]] = {}
    for cell in sorted(cells, key=lambda c: c.finished_at):
        if cell.run_id:
            by_run.setdefault(cell.run_id, []).append(cell)
    if not by_run:
        return None
    known = {r["run_id"]: r for r in runs}
    order = sorted(by_run, key=lambda run: known.get(run, {}).get("started_at", by_run[run][0].started_at))
    rows: list[list[Any]] = []
    data: list[dict[str, Any]] = []
    for run in order:
        done, record = by_run[run], known.get(run, {})
        started = record.get("started_at", done[0].started_at)
        hours = sum(c.finished_at - c.started_at for c in done) / 3600
        rows.append([_utc(started), record.get("host", "?"), _where(done), _load(done),
                     f"{len(done)}: " + ", ".join(c.name for c in done), hours])  # fmt: skip
        data.append({"run_id": run, "started_at": started, "host": record.get("host", ""),
                     "cells": [c.name for c in done], "hours": hours, "where": _where(done),
                     "load": _load(done)})  # fmt: skip
    idle = len(runs) - len([r for r in runs if r["run_id"] in by_run])
    text = (
        "Each finished cell with the run (one `itprobe run` process) that stored it, when that run started, "
        "and where its cells ran (recorded with each cell since cells record it). A cell interrupted in one "
        "run and finished in the next is counted in the next; its time there includes only that run's part."
        + (f" {idle} run(s) finished no cell." if idle > 0 else "")
    )
    return RunsTable(text, rows, data)
