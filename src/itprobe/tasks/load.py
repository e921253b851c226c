"""`load_tasks`: one entry point for every task source, with the format detected from the path.

- a directory holding ``tasks/``: an official NatInst checkout (`itprobe.tasks.official`); ``split`` is
  ``"<split>/<train|test>"``, default ``"default/test"``. A test split is read as Tk-Instruct evaluates
  it, the first 100 instances of each task (`official.EVAL_INSTANCES`), unless ``max_instances`` says
  otherwise; a train split keeps every instance;
- a directory holding ``train_tasks.jsonl[.gz]`` / ``test_tasks.jsonl[.gz]`` (like
  ``../shared/data/natinst``): ``split`` ``"train"`` or ``"test"`` (default) picks the file;
- a ``.csv`` file: the simple user format (`itprobe.tasks.user`);
- any other file is JSON Lines (gzip when it ends in ``.gz``), told apart by its first record: ``instances``
  -> compact (`itprobe.tasks.compact`); ``references`` + ``task_id`` -> leaderboard references
  (`itprobe.tasks.references`); ``task`` -> simple user rows.

For a file, ``split`` filters the tasks by a list of names: a path to a text file (one name per line),
or ``"train"``/``"test"`` for the ``<part>_tasks.txt`` next to the file; listed tasks the file lacks are
skipped. ``names`` then selects tasks by full name or by their ``taskNNN`` prefix.

Output spaces are assigned (`itprobe.tasks.spaces.assign_output_spaces`) on a task's *evaluation
instances*, its first 100 (Tk-Instruct's evaluation set, `official.EVAL_INSTANCES`) or its first
``max_instances`` when that is larger, before ``max_instances`` cuts what is kept: asking to score the
first 8 instances must not shrink the label set to the labels those 8 happen to have. A file read without
``max_instances`` is detected on all of its instances, except a checkout's test split, which is read as
Tk-Instruct evaluates it (the first 100).
"""

from __future__ import annotations

import dataclasses
import difflib
import gzip
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from itprobe.errors import UserError
from itprobe.tasks._io import Line, decode_utf8, is_gzip, parse_json_line, read_lines
from itprobe.tasks.compact import parse_compact
from itprobe.tasks.official import (
    EVAL_INSTANCES,
    is_checkout,
    is_test_split,
    load_checkout,
    read_task_list,
    split_file,
)
from itprobe.tasks.references import parse_references
from itprobe.tasks.spaces import assign_output_spaces, check_label_names, read_label_file
from itprobe.tasks.types import Task
from itprobe.tasks.user import parse_user_csv, parse_user_jsonl

Format = Literal["official", "compact", "user-jsonl", "user-csv", "references"]


def load_tasks(
    path: str | Path,
    *,
    split: str | None = None,
    names: Sequence[str] | None = None,
    max_labels: int = 10,
    label_file: str | Path | None = None,
    max_instances: int | None = None,
    labels_may_exclude_gold: bool = False,
) -> list[Task]:
    """Load tasks from any supported source (see the module docstring for formats and ``split``).

    Args:
        path: a checkout or data folder, or a compact / user / reference file.
        split: which tasks (see above); None = the default for the source (all tasks of a file).
        names: only these tasks (full name or ``taskNNN``); an unknown name is a `UserError`.
        max_labels: output-space detection threshold (0 disables detection).
        label_file: JSON/YAML ``{task: [labels]}`` that overrides declared and detected label sets.
        max_instances: keep the first N instances of each task. None keeps all of them, except for a
            checkout's test split: its first 100, the instances Tk-Instruct evaluates.
        labels_may_exclude_gold: the user's opt-out: score against a label set that excludes some gold
            answer (each such task is named in a warning) instead of refusing it.

    Raises:
        UserError: for anything wrong with the input, naming file, line and field.
    """
    path = Path(path)
    if max_instances is not None and max_instances < 1:
        raise UserError(f"max_instances must be at least 1, got {max_instances}")
    if not path.exists():
        raise UserError("no such file or directory", path=path)
    detect_on = max(EVAL_INSTANCES, max_instances) if max_instances is not None else None
    if is_checkout(path):
        if max_instances is None and is_test_split(split):
            detect_on = max_instances = EVAL_INSTANCES
        listing = split_file(path, split or "default/test")
        available = [name for _, name in read_task_list(listing)]
        wanted = set(_resolve_names(names, available, listing)) if names else None
        tasks = load_checkout(path, split, wanted, detect_on)
        known = {p.name.removesuffix(".json") for p in (path / "tasks").glob("*.json")}
    else:
        file = _folder_file(path, split) if path.is_dir() else path
        tasks = load_file(file)
        known = {t.name for t in tasks}
        if split is not None and not path.is_dir():
            tasks = _filter_by_split(tasks, file, split)
        if names:
            keep = set(_resolve_names(names, [t.name for t in tasks], file))
            tasks = [t for t in tasks if t.name in keep]
    return _finish(
        tasks, path, max_labels, label_file, max_instances, detect_on, known, not labels_may_exclude_gold
    )


def load_references(
    path: str | Path,
    *,
    max_labels: int = 10,
    label_file: str | Path | None = None,
    labels_may_exclude_gold: bool = False,
) -> list[Task]:
    """The leaderboard reference file as tasks with empty inputs; categories from ``task_category``."""
    path = Path(path)
    tasks = parse_references(path, _non_empty_lines(path))
    return _finish(tasks, path, max_labels, label_file, None, None, None, not labels_may_exclude_gold)


def detect_format(path: str | Path) -> Format:
    """Which loader `load_tasks` would use for ``path``."""
    path = Path(path)
    if is_checkout(path):
        return "official"
    if path.is_dir():
        return "compact"
    if path.name.removesuffix(".gz").endswith(".csv"):
        return "user-csv"
    return _jsonl_format(path, _first_line(path))


def load_file(path: Path) -> list[Task]:
    """Tasks of one compact, user (JSONL/CSV) or reference file, with no selection or output spaces."""
    if path.name.removesuffix(".gz").endswith(".csv"):
        return parse_user_csv(path)
    lines = _non_empty_lines(path)
    kind = _jsonl_format(path, lines[0])
    if kind == "compact":
        return parse_compact(path, lines)
    if kind == "references":
        return parse_references(path, lines)
    return parse_user_jsonl(path, lines)


def _first_line(path: Path) -> Line:
    """The first non-blank line, read without decompressing or decoding the whole file."""
    try:
        with gzip.open(path, "rb") if is_gzip(path) else path.open("rb") as fh:
            for number, raw in enumerate(fh, start=1):
                if raw.strip():
                    return number, decode_utf8(path, raw, number).rstrip("\r\n")
    except (OSError, EOFError, zlib.error) as err:
        raise UserError(f"cannot read the file ({err})", path=path) from None
    raise UserError("the file is empty", path=path)


def _non_empty_lines(path: Path) -> list[Line]:
    lines = read_lines(path)
    if not lines:
        raise UserError("the file is empty", path=path)
    return lines


def _jsonl_format(path: Path, first: Line) -> Format:
    keys = parse_json_line(path, first).keys()
    if "instances" in keys:
        return "compact"
    if "references" in keys and "task_id" in keys:
        return "references"
    if "task" in keys:
        return "user-jsonl"
    raise UserError(
        "unknown record format: expected 'instances' (compact), 'task' (one instance per row) "
        f"or 'references' + 'task_id' (reference file); found keys: {', '.join(keys) or 'none'}",
        path=path,
        line=first[0],
    )


def _folder_file(folder: Path, split: str | None) -> Path:
    part = (split or "test").rpartition("/")[2]
    candidates = [folder / f"{part}_tasks.jsonl.gz", folder / f"{part}_tasks.jsonl"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise UserError(
        f"neither a NatInst checkout (no tasks/ folder) nor a data folder with {candidates[0].name} "
        f"or {candidates[1].name} (split {split or 'test'!r})",
        path=folder,
    )


def _filter_by_split(tasks: list[Task], file: Path, split: str) -> list[Task]:
    part = split.rpartition("/")[2]
    listing = file.parent / f"{part}_tasks.txt" if part in ("train", "test") else Path(split)
    if not listing.is_file():
        raise UserError(f"missing split file for split {split!r}", path=listing)
    listed = {name for _, name in read_task_list(listing)}
    kept = [t for t in tasks if t.name in listed]
    if not kept:
        raise UserError(f"none of the file's tasks is listed in the split file {listing}", path=file)
    return kept


def _resolve_names(names: Sequence[str], available: Sequence[str], source: Path) -> list[str]:
    """Full task names for ``names`` (full names or ``taskNNN`` prefixes); unknown -> `UserError`."""
    by_prefix: dict[str, str] = {}
    for name in available:
        by_prefix.setdefault(name.split("_")[0], name)
    known = set(available)
    resolved = []
    for name in names:
        if name in known or name in by_prefix:
            resolved.append(name if name in known else by_prefix[name])
            continue
        near = difflib.get_close_matches(name, available, n=3, cutoff=0.6)
        near += [a for a in available if name in a and a not in near][: 3 - len(near)]
        hint = f"; did you mean: {', '.join(near)}?" if near else f"; {len(available)} tasks available"
        raise UserError(f"unknown task {name!r}{hint}", path=source)
    return resolved


def _first(tasks: list[Task], n: int | None) -> list[Task]:
    return tasks if n is None else [dataclasses.replace(t, instances=t.instances[:n]) for t in tasks]


def _finish(
    tasks: list[Task],
    path: Path,
    max_labels: int,
    label_file: str | Path | None,
    max_instances: int | None,
    detect_on: int | None,
    known: set[str] | None = None,
    gold_check: bool = True,
) -> list[Task]:
    """Output spaces detected on the first ``detect_on`` instances, then the first ``max_instances`` kept.

    ``known``: every task name of the source (before a selection), which a label file may name."""
    if not tasks:
        raise UserError("no tasks found", path=path)
    labels = read_label_file(label_file) if label_file is not None else None
    if labels is not None:
        check_label_names(labels, known if known is not None else {t.name for t in tasks}, str(label_file))
    spaced = assign_output_spaces(
        _first(tasks, detect_on),
        max_labels=max_labels,
        labels=labels,
        label_source=str(label_file or ""),
        gold_check=gold_check,
    )
    return _first(spaced, max_instances)
