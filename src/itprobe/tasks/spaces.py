"""Output spaces: detect classification tasks and their label sets, or take them from a label file.

Precedence when loading: a label file (rule ``"file"``) beats a space the task declares itself
(``"declared"``), which beats detection (``"detected"``). The rule and its parameters are recorded in
`OutputSpace.rule` / `OutputSpace.detail` so every result says which label set it used.

Detection (the rule of ``../shared/data/natinst/README.md``): a task is classification iff every instance
has exactly one reference and there are at most ``max_labels`` distinct normalised outputs
(`normalize_label`: lower-case, strip, one trailing period removed). Two guards for small tasks, which
change nothing on 100-instance NatInst tasks: a single distinct output is not a label set (at least two
are required), and when every output is distinct (5 instances, 5 different answers) nothing suggests a
closed label set, so some label must repeat. Labels keep the first-seen original spelling.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import yaml

from itprobe.errors import ItprobeWarning, UserError
from itprobe.metrics import normalize_answer
from itprobe.tasks._io import read_text
from itprobe.tasks.types import Instance, OutputSpace, Task
from itprobe.yamlio import load_yaml

DETECTION_NORMALISATION = "lower/strip/trailing-period"


def normalize_label(text: str) -> str:
    """The normalisation used to compare labels: lower-case, strip, drop one trailing period."""
    text = text.strip().lower()
    return text[:-1].rstrip() if text.endswith(".") else text


def detect_output_space(instances: Sequence[Instance], max_labels: int = 10) -> OutputSpace | None:
    """The label set of a classification task, or None when the instances do not look like one.

    Args:
        instances: the task's instances (all of those that will be evaluated).
        max_labels: most distinct normalised outputs a classification task may have; 0 disables detection.
    """
    if max_labels < 1 or not instances:
        return None
    labels: dict[str, str] = {}  # normalised -> first-seen spelling
    for instance in instances:
        if len(instance.outputs) != 1:
            return None
        labels.setdefault(normalize_label(instance.outputs[0]), instance.outputs[0])
        if len(labels) > max_labels:
            return None
    if len(labels) < 2 or len(labels) == len(instances):
        return None
    detail = (
        f"max_labels={max_labels}; single reference; a label repeats; normalised: {DETECTION_NORMALISATION}"
    )
    return OutputSpace(labels=tuple(labels.values()), rule="detected", detail=detail)


def read_label_file(path: str | Path) -> dict[str, tuple[str, ...]]:
    """A label file: JSON or YAML mapping each task name to its list of labels."""
    path = Path(path)
    text = read_text(path)
    try:
        data = json.loads(text) if path.suffix == ".json" else load_yaml(text)
    except json.JSONDecodeError as err:
        raise UserError(f"malformed JSON ({err.msg})", path=path, line=err.lineno) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise UserError(f"malformed YAML ({getattr(err, 'problem', err)})", path=path, line=line) from None
    if not isinstance(data, dict) or not data:
        raise UserError("expected a non-empty mapping {task name: [labels]}", path=path)
    spaces: dict[str, tuple[str, ...]] = {}
    for name, labels in data.items():
        if not isinstance(labels, list) or not labels or not all(isinstance(x, str) for x in labels):
            raise UserError("expected a non-empty list of label strings", path=path, field=str(name))
        spaces[str(name)] = tuple(labels)
    return spaces


def assign_output_spaces(
    tasks: Iterable[Task],
    *,
    max_labels: int = 10,
    labels: Mapping[str, Sequence[str]] | None = None,
    label_source: str = "",
    gold_check: bool = True,
) -> list[Task]:
    """Give each task its output space: ``labels`` (rule "file") > declared > detected.

    Args:
        tasks: tasks as loaded; declared spaces (and any other recorded space) are kept.
        max_labels: detection threshold; 0 disables detection.
        labels: task name -> labels, e.g. from `read_label_file`; names not among the tasks are ignored
            (`check_label_names` refuses names that no task of the source has).
        label_source: recorded as the detail of "file" spaces (the label file's path).
        gold_check: refuse a label set that excludes a single-reference gold answer (`check_space`); off
            only by the user's explicit opt-out (``--labels-may-exclude-gold``), and then each such task is
            named in a warning.

    Raises:
        UserError: a label set that cannot be scored (`check_space`).
    """
    out = []
    for task in tasks:
        space = task.output_space
        if labels is not None and task.name in labels:
            space = OutputSpace(labels=tuple(labels[task.name]), rule="file", detail=label_source)
        elif space is None:
            space = detect_output_space(task.instances, max_labels)
        task = task if space is task.output_space else dataclasses.replace(task, output_space=space)
        check_space(task, gold_check=gold_check)
        out.append(task)
    return out


def _origin(space: OutputSpace) -> str:
    if space.rule == "file":
        return f"the label file {space.detail}".rstrip()
    return f"its {space.rule} output space"


def check_space(task: Task, *, gold_check: bool = True) -> None:
    """Refuse a label set that cannot give right answers (docs/refusals.md): two labels that are one answer
    under the scoring normalisation (`itprobe.metrics.normalize_answer`), or a set without some instance's
    single reference (rank mode and the random baseline would score it wrong by construction).

    Raises:
        UserError: one line naming the task, the labels and where they come from.
    """
    space = task.output_space
    if space is None:
        return
    seen: dict[str, str] = {}
    for label in space.labels:
        other = seen.setdefault(normalize_answer(label), label)
        if other != label:
            raise UserError(
                f"task {task.name}: labels {other!r} and {label!r} (from {_origin(space)}) are the same answer "
                "once normalised; keep one"
            )
    for instance in task.instances:
        if len(instance.outputs) == 1 and normalize_answer(instance.outputs[0]) not in seen:
            where = (
                f"task {task.name}: the labels {list(space.labels)} (from {_origin(space)}) exclude the gold "
                f"answer {instance.outputs[0]!r} of instance {instance.id}"
            )
            if not gold_check:  # the user's explicit opt-out: said, never silent
                warnings.warn(
                    f"{where}; scored anyway (--labels-may-exclude-gold)", ItprobeWarning, stacklevel=2
                )
                return
            raise UserError(
                f"{where}; every single-reference answer must be one of the labels (--labels-may-exclude-gold "
                "scores against such a set anyway)"
            )


def check_label_names(labels: Mapping[str, object], known: Iterable[str], source: str) -> None:
    """Refuse a label file naming a task the source does not have (a typo would silently do nothing).

    Raises:
        UserError: naming the unknown tasks.
    """
    unknown = sorted(set(labels) - set(known))
    if unknown:
        shown = ", ".join(repr(n) for n in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        raise UserError(f"names no task of the data: {shown}", path=source)
