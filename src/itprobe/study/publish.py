"""Published per-instance predictions: a study's report recomputed from published files alone.

`publish_study` writes, beside a published report, ``study.json`` (the latest run's config, every cell of
the store without its answers, the test tasks' report metadata) and ``predictions.jsonl.gz`` (one line per
scored answer: cell, condition, seed, size, test arm, mode, task and instance id, the answer and the raw
continuation, every score and the in-label-set flags, and the same under each further decoding protocol).
`load_published` rebuilds a results store from those two files, and `itprobe report` on it gives back every
figure of the study's report (tested).

**No dataset text.** A published study may run on data that must not be redistributed (NatInst). Texts —
answers, raw continuations, references, labels — are published in the official normal form
(`itprobe.metrics.normalize_answer`: lower case, no punctuation or articles) when that has at most two
words, and otherwise as ``withheld:<digest>``, a SHA-256 of the normal form. Exact match only compares normal
forms, so it survives both; every other score (ROUGE, in-label-set flags) is published as a number and read
back as published, never recomputed from withheld text.

**The prediction cache**, published beside them (`publish_cache`), lets a later sitting or another machine
resume without recomputing answers (a hit needs the same model digest, prompt, protocol and precision). It
holds whole answers, so one that copies the study's task text is left out: an answer of three or more words
that occurs in that text, or that shares `SPAN_WORDS` consecutive words with it (a base model continuing
its prompt copies an example's input, then goes on). Overlap in word n-grams is the usual test of text
contamination; 8 words is at the short end of what it uses (8 to 13), so errs towards leaving out.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import hashlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from itprobe.cache import cache_file
from itprobe.errors import UserError
from itprobe.fsio import atomic_write, file_mode, write_jsonl
from itprobe.metrics import normalize_answer
from itprobe.records import InstanceResult
from itprobe.study.conditions import condition_of, instance_results, recut_protocol_problem
from itprobe.study.config import StudyConfig
from itprobe.study.data import StudyData, load_study_data
from itprobe.study.grid import current_cells
from itprobe.study.report import stored_config
from itprobe.study.store import CACHE_DIR, STORE_NAME, ArmNote, CellRecord, ResultsStore, TaskInfo

PREDICTIONS = "predictions.jsonl.gz"
STUDY = "study.json"
CACHE = "prediction-cache.sqlite"
SPAN_WORDS = 8
PUBLISHED_SCHEMA = 1
MAX_CLEAR_WORDS = 2  # a normal form of three or more words may be dataset text: published as a digest
_SCORES = ("exact_match", "rouge1", "rougeL", "in_space_strict", "in_space_loose")


def public_text(text: str) -> str:
    """The published form of a text: its normal form (<= 2 words) or ``withheld:<digest of it>``."""
    norm = normalize_answer(text)
    if len(norm.split()) <= MAX_CLEAR_WORDS:
        return norm
    return "withheld:" + hashlib.sha256(norm.encode()).hexdigest()[:16]


def _texts(values: Sequence[str]) -> list[str]:
    return [public_text(v) for v in values]


def _row(row: InstanceResult) -> dict[str, Any]:
    return {
        "answer": public_text(row.prediction),
        **{k: getattr(row, k) for k in _SCORES},
    }


def _lines(config: StudyConfig, cells: Sequence[CellRecord]) -> Iterator[dict[str, Any]]:
    derived = [p for p in config.eval.derived_protocols() if recut_protocol_problem(cells, p) is None]

    for cell in cells:
        cuts = {p.protocol: {(r.test_arm, r.mode, r.task, r.id): r for r in instance_results([cell], "generate", None, p)}
                for p in derived} if cell.kind != "baseline" else {}  # fmt: skip
        for r in cell.rows:
            key = (r.test_arm, r.mode, r.task, r.id)
            yield {
                "cell_id": cell.cell_id, "condition": condition_of(cell, r.test_arm), "seed": cell.seed,
                "size": cell.size, "test_arm": r.test_arm, "mode": r.mode, "task": r.task, "id": r.id,
                **_row(r), "raw": public_text(r.raw) if r.raw else "",
                "references": _texts(r.references), "labels": _texts(r.labels),
                "original_labels": _texts(r.original_labels), "original_references": _texts(r.original_references),
                "label_logprobs": list(r.label_logprobs), "category": r.category, "track": r.track,
                "protocols": {name: _row(rows[key]) for name, rows in cuts.items() if key in rows},
            }  # fmt: skip


def publish_study(run_dir: str | Path, out_dir: str | Path) -> dict[str, Path]:
    """Write ``study.json`` and ``predictions.jsonl.gz`` of ``run_dir``'s current grid into ``out_dir``."""
    run_dir, out = Path(run_dir), Path(out_dir)
    with ResultsStore(run_dir / STORE_NAME) as store:
        config, stored, tasks, runs = stored_config(store), store.cells(), store.tasks(), store.runs()
    cells, _ = current_cells(config, stored)
    out.mkdir(parents=True, exist_ok=True)
    study = {
        "schema": PUBLISHED_SCHEMA,
        "config": json.loads(runs[-1]["config_json"]),
        "run": {k: runs[-1][k] for k in ("run_id", "started_at", "config_hash", "model_identity")},
        # every run that stored a published cell: where and when the cells ran (`itprobe.study.sittings`)
        "runs": [
            {k: r[k] for k in ("run_id", "started_at", "config_hash", "host")}
            for r in runs
            if r["run_id"] in {c.run_id for c in cells}
        ],  # fmt: skip
        "tasks": [{**dataclasses.asdict(t), "labels": _texts(t.labels), "meta": {}} for t in tasks.values()],
        "cells": [
            {
                **{
                    f.name: getattr(c, f.name)
                    for f in dataclasses.fields(c)
                    if f.name not in ("rows", "cuts", "notes")
                },
                "notes": [dataclasses.asdict(n) for n in c.notes],
            }
            for c in cells
        ],  # fmt: skip
    }
    atomic_write(out / STUDY, json.dumps(study, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    write_jsonl(out / PREDICTIONS, _lines(config, cells))
    return {"study": out / STUDY, "predictions": out / PREDICTIONS}


def _read(path: Path) -> Iterator[dict[str, Any]]:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                yield json.loads(line)
    except (OSError, ValueError) as err:
        raise UserError(f"not a published predictions file ({err})", path=path) from None


def _result(line: dict[str, Any], scores: dict[str, Any]) -> InstanceResult:
    return InstanceResult(
        condition="",
        task=line["task"],
        id=line["id"],
        prediction=scores["answer"],
        exact_match=scores["exact_match"],
        rougeL=scores["rougeL"],
        rouge1=scores["rouge1"],
        in_space_strict=scores["in_space_strict"],
        in_space_loose=scores["in_space_loose"],
        references=tuple(line["references"]),
        labels=tuple(line["labels"]),
        category=line["category"],
        test_arm=line["test_arm"],
        mode=line["mode"],
        original_labels=tuple(line["original_labels"]),
        original_references=tuple(line["original_references"]),
        label_logprobs=tuple(line["label_logprobs"]),
        track=line["track"],
    )  # fmt: skip (no raw: the store's other protocols come from the published cuts, never from withheld text)


def load_published(published: str | Path, run_dir: str | Path) -> Path:
    """Rebuild a results store in ``run_dir`` from a published study; returns the store's path."""
    src, out = Path(published), Path(run_dir)
    try:
        study = json.loads((src / STUDY).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise UserError(f"not a published study ({err})", path=src / STUDY) from None
    if study.get("schema") != PUBLISHED_SCHEMA:
        raise UserError(
            f"published study schema {study.get('schema')!r}, this itprobe reads {PUBLISHED_SCHEMA}",
            path=src / STUDY,
        )
    rows: dict[str, list[InstanceResult]] = {}
    cuts: dict[str, dict[str, list[InstanceResult]]] = {}
    for line in _read(src / PREDICTIONS):
        rows.setdefault(line["cell_id"], []).append(_result(line, line))
        for name, scores in line["protocols"].items():
            cuts.setdefault(line["cell_id"], {}).setdefault(name, []).append(_result(line, scores))
    out.mkdir(parents=True, exist_ok=True)
    with ResultsStore(out / STORE_NAME) as store:
        run = study["run"]
        # the runs that stored the cells (published since cells carry their run), each with the published
        # config (only the latest run's is published); then the latest, whose config the report reads
        for other in study.get("runs", []):
            if other["run_id"] != run["run_id"]:
                store.record_run(other["run_id"], config_hash=other["config_hash"], config_json=json.dumps(study["config"]),
                                 model_identity=run["model_identity"], host=other["host"], shard="", started_at=other["started_at"])  # fmt: skip
        host = next((r["host"] for r in study.get("runs", []) if r["run_id"] == run["run_id"]), "published")
        store.record_run(run["run_id"], config_hash=run["config_hash"], config_json=json.dumps(study["config"]),
                         model_identity=run["model_identity"], host=host, shard="", started_at=run["started_at"])  # fmt: skip
        store.record_tasks([TaskInfo(**{**t, "labels": tuple(t["labels"])}) for t in study["tasks"]])
        for cell in study["cells"]:
            record = CellRecord(
                **{k: v for k, v in cell.items() if k != "notes"},
                rows=tuple(rows.get(cell["cell_id"], ())),
                notes=tuple(ArmNote(**n) for n in cell["notes"]),
                cuts={k: tuple(v) for k, v in cuts.get(cell["cell_id"], {}).items()},
            )
            store.write_cell(record, run_id=record.run_id or run["run_id"])
    return out / STORE_NAME


def study_texts(data: StudyData) -> list[str]:
    """Every text of the study's tasks a model saw or is scored against: definitions, examples, instances
    (scored, held out, and the training tasks' own) and their references."""
    texts: list[str] = []
    for task in (*data.train, *data.test):
        texts.append(task.definition)
        for ex in (*task.positive_examples, *task.negative_examples):
            texts += [ex.input, ex.output]
        for inst in (*task.instances, *data.held_out.get(task.name, ())):
            texts += [inst.input, *inst.outputs]
    return texts


class TextIndex:
    """Answers that copy a body of text: whole (>= 3 words, a substring of it) or in part (a run of
    `SPAN_WORDS` words it contains, compared in lower case)."""

    def __init__(self, texts: Sequence[str]) -> None:
        self._corpus = "\n".join(texts)
        self._spans = {hash(span) for text in texts for span in _spans(text.lower().split())}

    def copies(self, answer: str) -> bool:
        text = answer.strip()
        if len(text.split()) < 3:
            return False  # labels and short answers ("Yes", "not entailment") are not dataset text
        return text in self._corpus or any(hash(s) in self._spans for s in _spans(text.lower().split()))


def _spans(words: Sequence[str]) -> Iterator[tuple[str, ...]]:
    return (tuple(words[i : i + SPAN_WORDS]) for i in range(len(words) - SPAN_WORDS + 1))


def run_cache(run_dir: str | Path) -> Path:
    """The file of ``run_dir``'s prediction cache (it may not exist: a run with ``eval.cache`` off)."""
    return cache_file(Path(run_dir) / CACHE_DIR)


def has_cache(run_dir: str | Path) -> bool:
    return run_cache(run_dir).exists()


def run_data(run_dir: str | Path, natinst: str | Path | None = None) -> StudyData:
    """The tasks of ``run_dir``'s study, from the data its stored config names (``natinst``: where that
    NatInst data is now).

    Raises:
        UserError: the data cannot be read, with what to do.
    """
    with ResultsStore(Path(run_dir) / STORE_NAME) as store:
        config = stored_config(store)
    if natinst is not None:
        moved = config.data.model_copy(update={"source": "natinst", "path": str(Path(natinst).resolve())})
        config = config.model_copy(update={"data": moved})
    try:
        return load_study_data(config)
    except UserError as err:
        raise UserError(
            f"publishing the prediction cache reads the run's task data, to leave out answers that copy it: "
            f"{err}; pass --natinst PATH where the data is now, or --no-publish-cache"
        ) from None


def publish_cache(
    run_dir: str | Path,
    out_dir: str | Path,
    data: StudyData | None = None,
    *,
    natinst: str | Path | None = None,
) -> tuple[Path, int, int] | None:
    """Copy ``run_dir``'s prediction cache into ``out_dir`` without the answers that copy the study's text.

    ``data``: the study's tasks (default: loaded from the data the run's stored config names, or from
    ``natinst``, where that NatInst data is now). Returns
    (path, answers kept, answers left out), or None when the run has no cache. The copy is written under a
    temporary name and renamed into place; the run's cache is only read.

    Raises:
        UserError: the run's task data cannot be read (it is needed to know what to leave out).
    """
    if not has_cache(run_dir):
        return None
    source = run_cache(run_dir)
    data = data if data is not None else run_data(run_dir, natinst)
    index = TextIndex(study_texts(data))
    target = Path(out_dir) / CACHE
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{CACHE}.partial")
    partial.unlink(missing_ok=True)
    # sqlite's own copy (a consistent snapshot even while a run writes), then the deletions in the copy
    with contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as conn:
        conn.execute("VACUUM INTO ?", (str(partial),))
    with contextlib.closing(sqlite3.connect(partial)) as conn:
        with conn:
            drop = [key for key, value in conn.execute("SELECT key, value FROM predictions")
                    if _copies(index, json.loads(value))]  # fmt: skip
            conn.executemany("DELETE FROM predictions WHERE key = ?", [(k,) for k in drop])
        kept = conn.execute("SELECT count(*) FROM predictions").fetchone()[0]
        conn.execute("VACUUM")
    partial.chmod(file_mode())
    partial.replace(target)
    return target, kept, len(drop)


def _copies(index: TextIndex, value: Any) -> bool:
    text = value.get("text") if isinstance(value, dict) else None
    return isinstance(text, str) and index.copies(text)
