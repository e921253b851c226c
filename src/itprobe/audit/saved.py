"""An audit as saved on disk (``audit.json`` + ``results.jsonl.gz``), read back without the model: for a
release gate on an existing audit and for ``itprobe compare``.

`task_digest` fingerprints what a task *is* for a comparison (definition, output space, demonstrations),
so two audits are compared only when they asked the same questions.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from itprobe.errors import UserError
from itprobe.fsio import read_jsonl
from itprobe.records import InstanceResult
from itprobe.report import ReportData, read_report
from itprobe.tasks.types import Task

REPORT_FILE = "audit.json"
RESULTS_FILE = "results.jsonl.gz"
_TUPLES = ("references", "labels", "original_labels", "original_references", "contrast", "label_logprobs")


def task_digest(task: Task) -> str:
    """SHA-256 (first 16 hex digits) of the task's definition, output space and demonstrations."""
    labels = list(task.output_space.labels) if task.output_space else []
    demos = [[e.input, e.output] for e in (*task.positive_examples, *task.negative_examples)]
    text = json.dumps([task.definition, labels, demos], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class SavedAudit:
    path: Path
    report: ReportData
    rows: tuple[InstanceResult, ...]


def read_audit_report(folder: str | Path) -> ReportData:
    """``FOLDER/audit.json`` as a `ReportData`; a `UserError` when it is missing or not an audit."""
    path = Path(folder) / REPORT_FILE
    if not path.is_file():
        raise UserError(f"not an audit folder (no {REPORT_FILE})", path=folder)
    try:
        report = read_report(path)
    except ValueError as err:
        raise UserError(
            f"not a readable audit report ({' '.join(str(err).split())[:120]})", path=path
        ) from None
    if "modes" not in report.data:
        raise UserError("not an audit report (no data.modes)", path=path)
    return report


def read_audit(folder: str | Path) -> SavedAudit:
    """The report and every scored row of a saved audit."""
    report = read_audit_report(folder)
    rows = []
    for _, obj in read_jsonl(Path(folder) / RESULTS_FILE):
        fields: dict[str, Any] = {k: tuple(v) if k in _TUPLES else v for k, v in obj.items()}
        rows.append(InstanceResult(**fields))
    return SavedAudit(Path(folder), report, tuple(rows))
