"""The simple user format: JSON Lines or CSV (gzip allowed), one row per instance.

Required columns: ``task``, ``input``, ``output``; ``definition`` is required once per task (the first
non-empty value; rows may leave it empty, but a different non-empty value is an error). Optional columns:

- ``id``: instance id, default ``"<task>-<n>"`` (n counts the task's instances from 1);
- ``labels``: the task's label set, ``"yes|no"`` (in JSON also a list); gives a declared output space;
- ``categories``: ``"Sentiment Analysis"`` or ``"a|b"`` (in JSON also a list);
- ``role``: ``instance`` (default), ``positive`` or ``negative``: a ``positive``/``negative`` row is a
  demonstration (`Example`) for the task's prompt instead of an instance; ``explanation`` goes with it.

In JSON Lines ``output`` may be a list of several acceptable references; in CSV a cell is one reference.
Empty CSV cells count as absent (except ``input``); other columns are ignored. Tasks keep the order of first appearance.

Example CSV::

    task,definition,input,output,labels,role
    sentiment,Is the review positive or negative?,I loved it,positive,positive|negative,
    sentiment,,Great film,positive,,positive
    sentiment,,Dull and long,negative,,
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from itprobe.errors import UserError
from itprobe.tasks._io import Line, decode_utf8, parse_json_line, read_bytes, user_error
from itprobe.tasks._schema import UserRowRecord
from itprobe.tasks.types import Example, Instance, OutputSpace, Task

REQUIRED_COLUMNS = ("task", "input", "output")


@dataclass
class _TaskDraft:
    name: str
    line: int
    definition: str = ""
    labels: tuple[str, ...] | None = None
    categories: tuple[str, ...] = ()
    instances: list[Instance] = field(default_factory=list)
    positive: list[Example] = field(default_factory=list)
    negative: list[Example] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)


def _same_or_error(old: Any, new: Any, what: str, path: Path, line: int) -> Any:
    if new and old and new != old:
        raise UserError(f"{what} differs from the task's earlier rows", path=path, line=line, field=what)
    return old or new


def _add_row(drafts: dict[str, _TaskDraft], row: UserRowRecord, path: Path, line: int) -> None:
    draft = drafts.setdefault(row.task, _TaskDraft(row.task, line))
    draft.definition = _same_or_error(draft.definition, row.definition, "definition", path, line)
    labels = tuple(row.labels) if row.labels else None
    draft.labels = _same_or_error(draft.labels, labels, "labels", path, line)
    draft.categories = _same_or_error(draft.categories, tuple(row.categories), "categories", path, line)
    if row.role != "instance":
        target = draft.positive if row.role == "positive" else draft.negative
        target.append(Example(row.input, row.output[0], row.explanation))
        return
    instance_id = row.id or f"{row.task}-{len(draft.instances) + 1}"
    if instance_id in draft.ids:
        raise UserError(f"duplicate instance id {instance_id!r}", path=path, line=line, field="id")
    draft.ids.add(instance_id)
    draft.instances.append(Instance(instance_id, row.input, tuple(row.output)))


def _finish(draft: _TaskDraft, path: Path) -> Task:
    if not draft.instances:
        raise UserError(
            f"task {draft.name!r} has no instances (only examples)", path=path, line=draft.line, field="role"
        )
    if not draft.definition:
        raise UserError(
            f"task {draft.name!r} has no definition in any row",
            path=path,
            line=draft.line,
            field="definition",
        )
    space = OutputSpace(draft.labels, "declared", "labels column") if draft.labels else None
    return Task(
        name=draft.name,
        definition=draft.definition,
        instances=tuple(draft.instances),
        positive_examples=tuple(draft.positive),
        negative_examples=tuple(draft.negative),
        categories=draft.categories,
        output_space=space,
    )


def _build(rows: Iterator[tuple[int, dict[str, Any]]], path: Path) -> list[Task]:
    drafts: dict[str, _TaskDraft] = {}
    for line, raw in rows:
        try:
            row = UserRowRecord.model_validate(raw)
        except ValidationError as err:
            raise user_error(err, path, line) from None
        _add_row(drafts, row, path, line)
    return [_finish(d, path) for d in drafts.values()]


def parse_user_jsonl(path: Path, lines: list[Line]) -> list[Task]:
    """Tasks from user JSON Lines (one instance or example per line)."""
    return _build(((line[0], parse_json_line(path, line)) for line in lines), path)


def _csv_rows(path: Path, text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    for column in REQUIRED_COLUMNS:
        if column not in header:
            raise UserError(
                f"missing column (header has: {', '.join(header)})", path=path, line=1, field=column
            )
    start = reader.line_num + 1
    for row in reader:
        if None in row:
            raise UserError("more cells than header columns", path=path, line=start)
        # an empty cell is an absent value, except for input (an empty input is legitimate)
        yield start, {k: v for k, v in row.items() if k and v is not None and (v != "" or k == "input")}
        start = reader.line_num + 1


def parse_user_csv(path: Path) -> list[Task]:
    """Tasks from a user CSV file (one instance or example per row)."""
    text = decode_utf8(path, read_bytes(path))
    if not text.strip():
        raise UserError("the file is empty", path=path)
    try:
        return _build(_csv_rows(path, text), path)
    except csv.Error as err:
        raise UserError(f"malformed CSV ({err})", path=path) from None
