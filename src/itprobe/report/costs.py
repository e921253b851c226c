"""The cost of errors: a cost file, confusion matrices, and the expected cost per decision.

A cost file (YAML) says what each mistake costs, ``cost[gold][predicted]``, for all tasks (``default``)
and/or per task (``tasks``); unlisted cells cost ``correct`` (default 0) on the diagonal and ``wrong``
(default 1) elsewhere, and an answer outside the output space costs ``out_of_space`` (default: ``wrong``)::

    default:
      cost:
        urgent: {not urgent: 20}   # a missed "urgent" costs 20x a false alarm
        not urgent: {urgent: 1}
      out_of_space: 5
    tasks:
      task1_ticket_triage:
        cost: {yes: {no: 3}}

Labels are compared after the official normalisation (`itprobe.metrics.normalize_answer`), so "Yes" and
"yes." name the same label.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from itprobe.errors import UserError
from itprobe.metrics import gold_label, normalize_answer
from itprobe.report.results import InstanceResult
from itprobe.report.stats import Estimate, bootstrap_ci
from itprobe.yamlio import UniqueKeyLoader

OTHER = "(other)"
FiniteCost = Annotated[float, Field(allow_inf_nan=False)]


class _LabelLoader(UniqueKeyLoader):
    """YAML 1.1 reads yes/no/on/off as booleans; labels are often exactly those words, so only
    true/false are booleans here."""


_LabelLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_LabelLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _string_keys(node: Any) -> Any:
    # labels such as 1..5 (ratings) arrive as YAML integers; a label is always a string
    if isinstance(node, dict):
        return {str(k): _string_keys(v) for k, v in node.items()}
    return node


class MatrixSpec(BaseModel):
    """One cost specification (the ``default`` block or one task's block)."""

    model_config = ConfigDict(extra="forbid")
    cost: dict[str, dict[str, FiniteCost]] = Field(default_factory=dict)
    correct: FiniteCost | None = None
    wrong: FiniteCost | None = None
    out_of_space: FiniteCost | None = None


class CostFile(BaseModel):
    """A validated cost file; `load_costs` reads one, `CostFile()` is the 0/1 default."""

    model_config = ConfigDict(extra="forbid")
    default: MatrixSpec = Field(default_factory=MatrixSpec)
    tasks: dict[str, MatrixSpec] = Field(default_factory=dict)

    def resolve(self, task: str, labels: Sequence[str]) -> CostMatrix:
        """The cost matrix of ``task`` over ``labels``: 0/1 defaults, then ``default``, then the task's block.

        Cells naming labels outside ``labels`` are ignored here; `validate_costs` reports them as errors
        against the real output spaces.
        """
        specs = [self.default] + ([self.tasks[task]] if task in self.tasks else [])
        correct, wrong, oos = 0.0, 1.0, None
        for spec in specs:
            correct = spec.correct if spec.correct is not None else correct
            wrong = spec.wrong if spec.wrong is not None else wrong
            oos = spec.out_of_space if spec.out_of_space is not None else oos
        index = {normalize_answer(label): i for i, label in enumerate(labels)}
        cells = [[correct if i == j else wrong for j in range(len(labels))] for i in range(len(labels))]
        for spec in specs:
            for gold, row in spec.cost.items():
                for pred, value in row.items():
                    gi, pj = index.get(normalize_answer(gold)), index.get(normalize_answer(pred))
                    if gi is not None and pj is not None:
                        cells[gi][pj] = value
        return CostMatrix(
            tuple(labels), tuple(tuple(r) for r in cells), wrong if oos is None else oos, correct, wrong
        )


@dataclass(frozen=True)
class CostMatrix:
    """Costs of one task: ``cells[gold][predicted]`` over ``labels``, plus ``out_of_space``."""

    labels: tuple[str, ...]
    cells: tuple[tuple[float, ...], ...]
    out_of_space: float
    correct: float = 0.0
    wrong: float = 1.0

    def cost(self, gold: str, prediction: str) -> float:
        index = {normalize_answer(label): i for i, label in enumerate(self.labels)}
        g, p = normalize_answer(gold), normalize_answer(prediction)
        if p not in index:
            return self.out_of_space
        if g not in index:  # gold outside the space (should not happen for classification tasks)
            return self.correct if g == p else self.wrong
        return self.cells[index[g]][index[p]]


def load_costs(path: str | Path) -> CostFile:
    """Read and validate a cost file; every problem is a `UserError` naming the file and the field."""
    p = Path(path)
    try:
        raw = yaml.load(p.read_text(encoding="utf-8"), Loader=_LabelLoader)  # noqa: S506 (safe loader)
    except OSError as err:
        raise UserError(f"cannot read the cost file: {err.strerror}", path=p) from err
    except yaml.YAMLError as err:
        raise UserError(f"not valid YAML: {err}", path=p) from err
    if raw is None:
        return CostFile()
    if not isinstance(raw, dict):
        raise UserError("a cost file is a mapping with 'default' and/or 'tasks'", path=p)
    try:
        return CostFile.model_validate(_string_keys(raw))
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise UserError(
            f"{first['msg']} ({len(err.errors())} problem(s) in all)", path=p, field=field
        ) from err


def validate_costs(
    costs: CostFile, spaces: Mapping[str, Sequence[str]], *, path: str | Path | None = None
) -> None:
    """Check the cost file against the tasks' output spaces (task name → labels; empty = no space).

    Raises:
        UserError: a task block names an unknown task or a task without an output space, a label is not in
            its task's output space, or a ``default`` label is in no task's output space.
    """
    for task, spec in costs.tasks.items():
        if task not in spaces:
            known = ", ".join(sorted(spaces)[:8])
            raise UserError(
                f"unknown task '{task}' (tasks here: {known}{', ...' if len(spaces) > 8 else ''})",
                path=path,
                field=f"tasks.{task}",
            )
        if not spaces[task] and spec.cost:
            raise UserError(
                f"task '{task}' has no output space, so it has no cost matrix",
                path=path,
                field=f"tasks.{task}",
            )
        _check_labels(spec, set(map(normalize_answer, spaces[task])), spaces[task], f"tasks.{task}", path)
    every = [label for labels in spaces.values() for label in labels]
    _check_labels(costs.default, set(map(normalize_answer, every)), sorted(set(every)), "default", path)


def _check_labels(
    spec: MatrixSpec, known: set[str], shown: Sequence[str], where: str, path: str | Path | None
) -> None:
    for gold, row in spec.cost.items():
        for label in (gold, *row):
            if normalize_answer(label) not in known:
                space = ", ".join(repr(s) for s in list(shown)[:10])
                raise UserError(
                    f"label '{label}' is not in the output space ({space})", path=path, field=f"{where}.cost"
                )


@dataclass(frozen=True)
class Confusion:
    """Counts of (gold row, predicted column); the last column, `OTHER`, counts out-of-space answers.

    A final `OTHER` row appears only when some gold label is outside ``labels``.
    """

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]

    @property
    def total(self) -> int:
        return sum(map(sum, self.counts))


def confusion_matrix(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> Confusion:
    """Confusion matrix over ``labels`` (normalised comparison) with an `OTHER` column for other outputs."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels for {len(predicted)} predictions")
    index = {normalize_answer(label): i for i, label in enumerate(labels)}
    k = len(labels)
    counts = np.zeros((k + 1, k + 1), dtype=int)
    for g, p in zip(gold, predicted, strict=True):
        counts[index.get(normalize_answer(g), k), index.get(normalize_answer(p), k)] += 1
    rows = (*labels, OTHER) if counts[k].sum() else tuple(labels)
    table = counts if counts[k].sum() else counts[:k]
    return Confusion(rows, (*labels, OTHER), tuple(tuple(int(c) for c in row) for row in table))


def instance_costs(results: Sequence[InstanceResult], costs: CostFile) -> np.ndarray:
    """The cost of each result's answer under its task's matrix (over the result's own output space)."""
    matrices: dict[tuple[str, tuple[str, ...]], CostMatrix] = {}
    out = np.empty(len(results))
    for i, r in enumerate(results):
        key = (r.task, r.labels)
        if key not in matrices:
            matrices[key] = costs.resolve(r.task, r.labels)
        out[i] = matrices[key].cost(gold_label(r.references, r.labels), r.prediction)
    return out


def expected_cost(
    gold: Sequence[str],
    predicted: Sequence[str],
    matrix: CostMatrix,
    *,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
    cluster: Sequence | np.ndarray | None = None,
) -> Estimate:
    """Mean cost per decision with a bootstrap CI (optionally clustered)."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels for {len(predicted)} predictions")
    values = [matrix.cost(g, p) for g, p in zip(gold, predicted, strict=True)]
    return bootstrap_ci(values, n_boot=n_boot, level=level, seed=seed, cluster=cluster)
