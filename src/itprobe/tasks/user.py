"""The simple user format: JSON Lines or CSV (gzip allowed), one row per instance.

Required columns: ``task``, ``input``, ``output``; ``definition`` is required once per task (the first
non-empty value; rows may leave it empty, but a different non-empty value is an error). Optional columns:

- ``id``: instance id, default ``"<task>-<n>"`` (n counts the task's instances from 1);
- ``labels``: the task's label set, ``"yes|no"``, or a JSON list when a label holds a ``|``:
  ``["a|b", "c"]`` (in JSON Lines a list); gives a declared output space, which must contain the (normalised)
  answer of every instance with a single reference;
- ``categories``: ``"Sentiment Analysis"`` or ``"a|b"`` (in JSON also a list);
- ``role``: ``instance`` (default), ``positive`` or ``negative``: a ``positive``/``negative`` row is a
  demonstration (`Example`) for the task's prompt instead of an instance; ``explanation`` goes with it.

In JSON Lines ``output`` may be a list of several acceptable references; in CSV a cell is one reference.
Empty CSV cells count as absent (except ``input``); other columns are ignored. Tasks keep the order of first appearance.
Neither reader limits the size of a field (csv's default 128 KiB limit is lifted): long inputs are cut by the
prompt's token budget (`itprobe.prompts`), not by the reader.

Example CSV::

    task,definition,input,output,labels,role
    sentiment,Is the review positive or negative?,I loved it,positive,positive|negative,
    sentiment,,Great film,positive,,positive
    sentiment,,Dull and long,negative,,
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from itprobe.errors import UserError
from itprobe.tasks._io import Line, decode_utf8, parse_json_line, read_bytes, user_error
from itprobe.tasks._schema import UserRowRecord
from itprobe.tasks.spaces import normalize_label
from itprobe.tasks.types import Example, Instance, OutputSpace, Task

REQUIRED_COLUMNS = ("task", "input", "output")
FIELD_LIMIT = 2**31 - 1  # csv's field_size_limit (a C long): no practical limit, as for JSON Lines


@dataclass
class _TaskDraft:
    name: str
    line: int
    definition: str = ""
    labels: tuple[str, ...] | None = None
    categories: tuple[str, ...] = ()
    instances: list[Instance] = field(default_factory=list)
    instance_lines: list[int] = field(default_factory=list)
    labels_line: int = 0
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
    draft.labels_line = draft.labels_line or (line if labels else 0)
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
    draft.instance_lines.append(line)


def _check_coverage(draft: _TaskDraft, path: Path) -> None:
    """A declared label set must contain every single-reference answer (else the rank mode and the random
    baseline would use a wrong label set, e.g. one a ``|`` inside a label has split)."""
    assert draft.labels is not None
    known = {normalize_label(label) for label in draft.labels}
    for instance, line in zip(draft.instances, draft.instance_lines, strict=True):
        if len(instance.outputs) == 1 and normalize_label(instance.outputs[0]) not in known:
            raise UserError(
                f"answer {instance.outputs[0]!r} is not in the task's labels {list(draft.labels)} (declared on "
                f"line {draft.labels_line}); a label holding '|' is written as a JSON list: "
                '["a|b", "c"]',
                path=path,
                line=line,
                field="labels",
            )


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
    space = None
    if draft.labels:
        _check_coverage(draft, path)
        space = OutputSpace(draft.labels, "declared", "labels column")
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


def _labels_cell(value: str, path: Path, line: int) -> Any:
    """A CSV ``labels`` cell: ``a|b`` (split later) or a JSON list of strings, for labels holding ``|``."""
    if not value.strip().startswith("["):
        return value
    try:
        labels = json.loads(value)
    except json.JSONDecodeError as err:
        raise UserError(
            f"not a JSON list of labels ({err.msg})", path=path, line=line, field="labels"
        ) from None
    if not labels or not all(isinstance(x, str) and x.strip() for x in labels):
        raise UserError(
            "expected a non-empty JSON list of label strings", path=path, line=line, field="labels"
        )
    return labels


def _csv_rows(path: Path, text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    # strict: a quote left open is an error at the row it opens on, not a cell swallowing the rest of the file
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    header = reader.fieldnames or []
    twice = sorted({c for c in header if header.count(c) > 1})
    if twice:  # DictReader would keep the last of the two silently
        raise UserError(f"column {twice[0]!r} appears twice in the header", path=path, line=1, field=twice[0])
    for column in REQUIRED_COLUMNS:
        if column not in header:
            raise UserError(
                f"missing column (header has: {', '.join(header)})", path=path, line=1, field=column
            )
    start = reader.line_num + 1
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as err:
            raise _csv_error(err, path, start) from None
        if None in row:
            raise UserError("more cells than header columns", path=path, line=start)
        # an empty cell is an absent value, except for input (an empty input is legitimate)
        values = {k: v for k, v in row.items() if k and v is not None and (v != "" or k == "input")}
        if "labels" in values:
            values["labels"] = _labels_cell(values["labels"], path, start)
        yield start, values
        start = reader.line_num + 1


def _csv_error(err: csv.Error, path: Path, line: int) -> UserError:
    if "unexpected end of data" in str(err):
        return UserError(
            'a quoted cell opened on this line is never closed (a missing closing ")', path=path, line=line
        )
    return UserError(f"malformed CSV ({err})", path=path, line=line)


def parse_user_csv(path: Path) -> list[Task]:
    """Tasks from a user CSV file (one instance or example per row)."""
    text = decode_utf8(path, read_bytes(path))
    if not text.strip():
        raise UserError("the file is empty", path=path)
    previous = csv.field_size_limit(FIELD_LIMIT)
    try:
        return _build(_csv_rows(path, text), path)
    finally:
        csv.field_size_limit(previous)
