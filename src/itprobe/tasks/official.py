"""An official NatInst checkout (github.com/allenai/natural-instructions): ``tasks/<name>.json`` plus
``splits/<split>/{train,test}_tasks.txt``.

Read as Tk-Instruct does: the first entry of ``Definition`` is the definition (any further ones are kept
in ``meta["definition_alternatives"]``), all positive and negative examples are kept (the prompt encoder
takes the first N), and tasks come in the order of the split file. Tk-Instruct evaluates the first
`EVAL_INSTANCES` (100) instances of each test task; `itprobe.tasks.load_tasks` reads a test split that
way unless told otherwise, so output spaces are detected on those instances and nothing scores more. The remaining keys
(``Source``, ``Domains``, ``Instance License``, ...) go into `Task.meta` under snake-case names
(``source``, ``domains``, ``instance_license``), with ``num_instances_total`` added.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from itprobe.errors import UserError
from itprobe.tasks._io import read_lines, read_text, user_error
from itprobe.tasks._schema import OfficialTaskRecord
from itprobe.tasks.compact import meta_value, to_examples, to_instances
from itprobe.tasks.types import Task

DEFAULT_SPLIT = "default/test"
EVAL_INSTANCES = 100  # Tk-Instruct's evaluation instances per test task (the first ones, in file order)


def is_checkout(path: Path) -> bool:
    return path.is_dir() and (path / "tasks").is_dir()


def is_test_split(split: str | None) -> bool:
    """Whether ``split`` (None = the default) names a test split (``"default/test"``, ``"test"``)."""
    return (split or DEFAULT_SPLIT).rpartition("/")[2] == "test"


def split_file(checkout: Path, split: str) -> Path:
    """``"default/test"`` -> ``splits/default/test_tasks.txt``; a bare ``"test"`` means ``default/test``."""
    name, _, part = split.rpartition("/")
    name = name or "default"
    if part not in ("train", "test"):
        raise UserError(f"split {split!r} must end in /train or /test, e.g. 'default/test'")
    path = checkout / "splits" / name / f"{part}_tasks.txt"
    if not path.is_file():
        found = sorted(
            p.parent.name + "/" + p.name.removesuffix("_tasks.txt")
            for p in checkout.glob("splits/*/*_tasks.txt")
        )
        hint = f"; available: {', '.join(found)}" if found else ""
        raise UserError(f"missing split file for split {split!r}{hint}", path=path)
    return path


def read_task_list(path: Path) -> list[tuple[int, str]]:
    """Task names of a split file, one per line, with their line numbers (blank lines and # comments skipped)."""
    out = [(n, text.strip()) for n, text in read_lines(path) if not text.lstrip().startswith("#")]
    if not out:
        raise UserError("the split file lists no tasks", path=path)
    return out


def _flatten(value: Any) -> Any:
    # the "Source" key is sometimes a list of lists
    if isinstance(value, list) and any(isinstance(x, list) for x in value):
        return [y for x in value for y in (x if isinstance(x, list) else [x])]
    return value


def load_official_task(path: Path, max_instances: int | None = None) -> Task:
    """One ``tasks/<name>.json`` file as a `Task` (named after the file).

    Args:
        path: the task file.
        max_instances: validate and keep only the first N instances (a task may have 6,500).
    """
    text = read_text(path)
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        raise UserError(
            f"malformed JSON ({err.msg} at column {err.colno})", path=path, line=err.lineno
        ) from None
    if not isinstance(raw, dict):
        raise UserError(f"expected a JSON object, got {type(raw).__name__}", path=path)
    total = len(raw["Instances"]) if isinstance(raw.get("Instances"), list) else 0
    if max_instances is not None and total > max_instances:
        raw = {**raw, "Instances": raw["Instances"][:max_instances]}
    try:
        rec = OfficialTaskRecord.model_validate(raw)
    except ValidationError as err:
        raise user_error(err, path, None) from None
    meta = {k.lower().replace(" ", "_"): meta_value(_flatten(v)) for k, v in (rec.model_extra or {}).items()}
    if len(rec.definition) > 1:
        meta["definition_alternatives"] = meta_value(rec.definition[1:])
    meta["num_instances_total"] = str(total)
    return Task(
        name=path.stem,
        definition=rec.definition[0],
        instances=to_instances(rec.instances, path, None, "Instances"),
        positive_examples=to_examples(rec.positive_examples),
        negative_examples=to_examples(rec.negative_examples),
        categories=tuple(rec.categories),
        meta=tuple(meta.items()),
    )


def load_checkout(
    checkout: Path, split: str | None = None, names: set[str] | None = None, max_instances: int | None = None
) -> list[Task]:
    """The tasks of one split of a checkout, in split-file order.

    Args:
        checkout: the repository root (holds ``tasks/`` and ``splits/``).
        split: ``"<split>/<train|test>"``; None means ``"default/test"``.
        names: if given, only these task names are read (the rest of the split is skipped unread).
        max_instances: keep the first N instances of each task.
    """
    listing = split_file(checkout, split or DEFAULT_SPLIT)
    tasks = []
    for line, name in read_task_list(listing):
        if names is not None and name not in names:
            continue
        task_path = checkout / "tasks" / f"{name}.json"
        if not task_path.is_file():
            raise UserError(
                f"task {name!r} is listed but {task_path} does not exist", path=listing, line=line
            )
        tasks.append(load_official_task(task_path, max_instances))
    return tasks
