"""The leaderboard reference file (``test_references.jsonl[.gz]``, written by NatInst's
``eval/leaderboard/create_reference_file.py``): one line per instance with ``id``, ``references``,
``task_id``, ``task_category`` (and ``track``).

Read as `Task`s whose instances have empty inputs and empty definitions: enough for output-space
detection, scoring and the random/majority baselines, not for prompting.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from itprobe.errors import UserError
from itprobe.tasks._io import Line, parse_json_line, user_error
from itprobe.tasks._schema import ReferenceRecord
from itprobe.tasks.types import Instance, Task


def parse_references(path: Path, lines: list[Line]) -> list[Task]:
    """Group reference lines by ``task_id`` (first-appearance order)."""
    grouped: dict[str, list[Instance]] = {}
    categories: dict[str, str] = {}
    ids: set[str] = set()
    for line in lines:
        try:
            rec = ReferenceRecord.model_validate(parse_json_line(path, line))
        except ValidationError as err:
            raise user_error(err, path, line[0]) from None
        if not rec.references:
            raise UserError("no reference output", path=path, line=line[0], field="references")
        if rec.id in ids:
            raise UserError(f"duplicate id {rec.id!r}", path=path, line=line[0], field="id")
        ids.add(rec.id)
        grouped.setdefault(rec.task_id, []).append(Instance(rec.id, "", tuple(rec.references)))
        categories.setdefault(rec.task_id, rec.task_category)
    return [
        Task(
            name=name,
            definition="",
            instances=tuple(instances),
            categories=(categories[name],) if categories[name] else (),
        )
        for name, instances in grouped.items()
    ]
