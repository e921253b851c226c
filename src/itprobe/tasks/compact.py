"""The compact format: JSON Lines (gzip when the name ends in ``.gz``), one task per line.

Keys (see ``../shared/data/natinst/README.md``): ``name``, ``definition``, ``instances``
(``{id, input, output: [str]}``; a single string is accepted as one reference), and optionally
``positive_examples`` / ``negative_examples`` (``{input, output, explanation}``), ``categories`` and the
extension fields:

- ``output_space``: a list of labels (a declared space), or ``{labels, rule, detail}`` as `save_tasks`
  writes for spaces that came from a label file or from detection, so the recorded rule survives;
- ``negation``: ``{definition, label_map: {old: new}}``; ``contrast``: ``{group, side}``;
- ``meta``: a mapping of strings to strings.

Any other key (NatInst's ``source``, ``domains``, ``instance_license``, ``num_instances_total``, ...) is
kept in `Task.meta` under its own name: strings as they are, lists of scalars joined with ``"; "``, other
values as JSON. `save_tasks` writes all metadata under ``meta``, so ``save_tasks`` then loading gives back
equal `Task`s.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from itprobe.errors import UserError
from itprobe.tasks._io import Line, atomic_write, parse_json_line, user_error
from itprobe.tasks._schema import CompactTaskRecord, ExampleRecord, InstanceRecord
from itprobe.tasks.types import Contrast, Example, Instance, Negation, OutputSpace, Task


def meta_value(value: Any) -> str:
    """How an unknown record field is stored in `Task.meta`."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(x, (str, int, float)) for x in value):
        return "; ".join(str(x) for x in value)
    return json.dumps(value, ensure_ascii=False)


def to_examples(records: list[ExampleRecord]) -> tuple[Example, ...]:
    return tuple(Example(r.input, r.output, r.explanation) for r in records)


def to_instances(
    records: list[InstanceRecord], path: Path, line: int | None, field: str
) -> tuple[Instance, ...]:
    """Instances with the checks pydantic cannot express: not empty, references present, ids unique."""
    if not records:
        raise UserError("the task has no instances", path=path, line=line, field=field)
    seen: set[str] = set()
    for i, r in enumerate(records):
        if not r.output:
            raise UserError("no reference output", path=path, line=line, field=f"{field}[{i}].output")
        if r.id in seen:
            raise UserError(f"duplicate instance id {r.id!r}", path=path, line=line, field=f"{field}[{i}].id")
        seen.add(r.id)
    return tuple(Instance(r.id, r.input, tuple(r.output)) for r in records)


def parse_compact_line(path: Path, line: Line) -> Task:
    """One compact record as a `Task` (output space only if the record declares one)."""
    raw = parse_json_line(path, line)
    try:
        rec = CompactTaskRecord.model_validate(raw)
    except ValidationError as err:
        raise user_error(err, path, line[0]) from None
    space = rec.output_space
    extra = {k: meta_value(v) for k, v in (rec.model_extra or {}).items() if v is not None}
    return Task(
        name=rec.name,
        definition=rec.definition,
        instances=to_instances(rec.instances, path, line[0], "instances"),
        positive_examples=to_examples(rec.positive_examples),
        negative_examples=to_examples(rec.negative_examples),
        categories=tuple(rec.categories),
        output_space=OutputSpace(tuple(space.labels), space.rule, space.detail) if space else None,
        negation=Negation(rec.negation.definition, tuple(rec.negation.label_map.items()))
        if rec.negation
        else None,
        contrast=Contrast(rec.contrast.group, rec.contrast.side) if rec.contrast else None,
        meta=tuple({**extra, **rec.meta}.items()),
    )


def parse_compact(path: Path, lines: list[Line]) -> list[Task]:
    """All records of a compact file; task names must be unique."""
    tasks: list[Task] = []
    seen: set[str] = set()
    for line in lines:
        task = parse_compact_line(path, line)
        if task.name in seen:
            raise UserError(f"duplicate task name {task.name!r}", path=path, line=line[0], field="name")
        seen.add(task.name)
        tasks.append(task)
    return tasks


def _example_dict(example: Example) -> dict[str, str]:
    return {"input": example.input, "output": example.output, "explanation": example.explanation}


def task_record(task: Task) -> dict[str, Any]:
    """The compact record of a task (the inverse of `parse_compact_line`)."""
    rec: dict[str, Any] = {
        "name": task.name,
        "definition": task.definition,
        "positive_examples": [_example_dict(e) for e in task.positive_examples],
        "negative_examples": [_example_dict(e) for e in task.negative_examples],
        "categories": list(task.categories),
        "instances": [{"id": i.id, "input": i.input, "output": list(i.outputs)} for i in task.instances],
    }
    space = task.output_space
    if space is not None:
        short = space.rule == "declared" and not space.detail
        rec["output_space"] = (
            list(space.labels)
            if short
            else {"labels": list(space.labels), "rule": space.rule, "detail": space.detail}
        )
    if task.negation is not None:
        rec["negation"] = {"definition": task.negation.definition, "label_map": dict(task.negation.label_map)}
    if task.contrast is not None:
        rec["contrast"] = {"group": task.contrast.group, "side": task.contrast.side}
    if task.meta:
        rec["meta"] = dict(task.meta)
    return rec


def _check_savable(task: Task) -> None:
    """Refuse to write what the loader would reject (a programming error, hence ValueError)."""
    problems = []
    if not task.name:
        problems.append("an empty name")
    if not task.instances:
        problems.append("no instances")
    if any(not i.outputs for i in task.instances):
        problems.append("an instance without reference outputs")
    if len({i.id for i in task.instances}) != len(task.instances):
        problems.append("duplicate instance ids")
    if len(dict(task.meta)) != len(task.meta):
        problems.append("duplicate meta keys")
    if task.negation and len(dict(task.negation.label_map)) != len(task.negation.label_map):
        problems.append("duplicate keys in negation.label_map")
    if task.output_space is not None and not task.output_space.labels:
        problems.append("an output space without labels")
    if problems:
        raise ValueError(f"cannot save task {task.name!r}: " + ", ".join(problems))


def _lines(tasks: Iterable[Task]) -> Iterator[str]:
    for task in tasks:
        _check_savable(task)
        yield json.dumps(task_record(task), ensure_ascii=False) + "\n"


def save_tasks(tasks: Iterable[Task], path: str | Path) -> Path:
    """Write tasks as compact JSON Lines (gzip when the name ends in ``.gz``), atomically.

    Returns:
        The path written.
    """
    path = Path(path)
    atomic_write(path, _lines(tasks))
    return path
