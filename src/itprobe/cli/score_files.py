"""The files `itprobe score` reads: predictions of any accepted format and a leaderboard reference file.

Prediction files, one JSON object per line (gzip allowed), told apart line by line:

- Tk-Instruct ``predicted_examples.jsonl``: ``Task``, ``Instance`` (``output`` list, maybe ``id``),
  ``Prediction``, optional ``Categories``;
- itprobe's own lines (``itprobe.predict.write_predictions``): ``task``, ``id``, ``prediction``,
  ``references``, ``category``;
- leaderboard pairs ``{id, prediction}``, which need ``--references`` (``{id, references, task_id,
  task_category}``).

With ``--references`` every line is matched by id and takes its references, task, category and track
from that file. As in NatInst's official ``eval/automatic/evaluation.py``: a reference id with no
prediction is scored as the empty string (and counted in ``n_missing``); a reference's ``track``
(``default`` when absent) picks the ROUGE tokenizer, GPT-2's for ``xlingual`` (``--xlingual-tokenizer``),
and each track is reported on its own. Unlike it, a prediction id the references lack, or a repeated id,
is an error (the official script ignores the first and keeps the last of the second).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from itprobe.errors import UserError
from itprobe.predict import Prediction


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; bad JSON or encoding is a UserError naming the line."""
    if not path.is_file():
        raise UserError("no such file", path=path)
    opener = gzip.open if path.suffix == ".gz" else open
    lineno = 0
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            for lineno, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as err:
                    raise UserError(f"not valid JSON ({err.msg})", path=path, line=lineno) from None
                if not isinstance(obj, dict):
                    raise UserError("expected a JSON object", path=path, line=lineno)
                yield lineno, obj
    except UnicodeDecodeError:
        raise UserError("not UTF-8 text", path=path, line=lineno + 1) from None
    except (OSError, EOFError) as err:  # e.g. a truncated or fake .gz
        raise UserError(f"cannot read ({err})", path=path) from None


def _get(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: tuple[Path, int]) -> Any:
    if key not in obj:
        raise UserError("missing field", path=where[0], line=where[1], field=key)
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise UserError(f"wrong type {type(value).__name__}", path=where[0], line=where[1], field=key)
    return value


def _get_refs(obj: dict[str, Any], key: str, where: tuple[Path, int]) -> tuple[str, ...]:
    refs = _get(obj, key, list, where)
    if not refs or not all(isinstance(r, str) for r in refs):
        raise UserError("expected a non-empty list of strings", path=where[0], line=where[1], field=key)
    return tuple(refs)


def _parse_line(obj: dict[str, Any], where: tuple[Path, int], need_refs: bool) -> Prediction:
    """One prediction line of any accepted format; task/references may be blank when ``need_refs`` is off."""
    if "Prediction" in obj or "Instance" in obj:  # Tk-Instruct predicted_examples.jsonl
        instance = _get(obj, "Instance", dict, where)
        cats = obj.get("Categories") or [""]
        return Prediction(
            task=_get(obj, "Task", str, where),
            id=str(instance.get("id", "")),
            prediction=_get(obj, "Prediction", str, where),
            references=_get_refs(instance, "output", where) if need_refs else (),
            mode="generate",
            category=cats[0] if isinstance(cats, list) and isinstance(cats[0], str) else "",
        )
    ident = _get(obj, "id", str, where)
    prediction = _get(obj, "prediction", str, where)
    if not need_refs:
        return Prediction(task="", id=ident, prediction=prediction, references=(), mode="generate")
    if "references" not in obj:
        raise UserError(
            "missing field (leaderboard pairs {id, prediction} need --references)",
            path=where[0],
            line=where[1],
            field="references",
        )
    return Prediction(
        task=_get(obj, "task", str, where),
        id=ident,
        prediction=prediction,
        references=_get_refs(obj, "references", where),
        mode="rank" if obj.get("mode") == "rank" else "generate",
        labels=tuple(obj.get("labels") or ()),
        category=obj.get("category") or "",
    )


TRACKS = ("default", "xlingual")


@dataclass(frozen=True)
class Reference:
    """One line of a leaderboard reference file."""

    task: str
    references: tuple[str, ...]
    category: str
    track: str


@dataclass(frozen=True)
class Scorable:
    """Predictions with their references, the official track of each, and the ids scored as ""."""

    predictions: list[Prediction]
    tracks: list[str]
    missing: list[str] = field(default_factory=list)


def _load_references(path: Path) -> dict[str, Reference]:
    """id -> `Reference` from a leaderboard reference file (``track`` defaults to "default")."""
    refs: dict[str, Reference] = {}
    for lineno, obj in _read_jsonl(path):
        where = (path, lineno)
        ident = _get(obj, "id", str, where)
        if ident in refs:
            raise UserError(f"duplicate id '{ident}'", path=path, line=lineno, field="id")
        track = obj.get("track", "default")
        if track not in TRACKS:
            raise UserError(f"unknown track {track!r} (one of: {', '.join(TRACKS)})", path=path, line=lineno)
        category = obj.get("task_category") or ""
        task = _get(obj, "task_id", str, where)
        refs[ident] = Reference(task, _get_refs(obj, "references", where), str(category), track)
    if not refs:
        raise UserError("no references", path=path)
    return refs


def some_ids(ids: list[str], n: int = 5) -> str:
    return ", ".join(ids[:n]) + (", …" if len(ids) > n else "")


def load_scorable(predictions: Path, references: Path | None) -> Scorable:
    """Read a prediction file (any accepted format) into predictions that carry their references.

    With ``references``, every reference id without a prediction is scored as "" (listed in ``missing``).
    """
    parsed = [
        (ln, _parse_line(obj, (predictions, ln), references is None)) for ln, obj in _read_jsonl(predictions)
    ]
    if not parsed:
        raise UserError("no predictions", path=predictions)
    if references is None:
        return Scorable([p for _, p in parsed], ["default"] * len(parsed))
    refs = _load_references(references)
    by_id: dict[str, Prediction] = {}
    for ln, p in parsed:
        if not p.id:
            raise UserError(
                "missing id (needed to match --references)", path=predictions, line=ln, field="id"
            )
        if p.id in by_id:
            raise UserError(f"duplicate id '{p.id}'", path=predictions, line=ln, field="id")
        by_id[p.id] = p
    unknown = [p.id for _, p in parsed if p.id not in refs]
    if unknown:
        raise UserError(
            f"{len(unknown)} prediction ids are not in {references}: {some_ids(unknown)}", path=predictions
        )
    out, tracks, missing = [], [], []
    for ident, ref in refs.items():  # reference order, as the official script
        p = by_id.get(ident)
        if p is None:
            missing.append(ident)
            p = Prediction(ref.task, ident, "", (), "generate")
        out.append(replace(p, task=ref.task, references=ref.references, category=ref.category))
        tracks.append(ref.track)
    return Scorable(out, tracks, missing)
