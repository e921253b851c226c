"""`ArmSpec` names one combination of arms; `apply_arms` applies it to a task.

Order of application: the label arm first (it changes the label scheme, so the definition and examples
arms then see the renamed space: ``simplified`` lists the new labels, ``delusive-wrong-label`` draws
from them), then definition, examples, input.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, get_args

from pydantic import field_validator, model_validator
from pydantic.dataclasses import dataclass as settings

from itprobe.arms.definition import DEFAULT_SIMPLIFIED_TEMPLATE, check_template
from itprobe.arms.labels import RenameScheme
from itprobe.arms.registry import ArmKind, Noted, Skip, get_arm, run_arm
from itprobe.errors import UserError
from itprobe.schema import STRICT, user_errors
from itprobe.tasks.types import Task

APPLY_ORDER: tuple[ArmKind, ...] = ("label", "definition", "examples", "input")


def arm_parts(definition: str, examples: str, input: str, label: str) -> tuple[str, ...]:
    """The arms of a combination that are not original, in name order (examples ``none`` reads
    ``no-examples``, which says what is missing)."""
    parts = [definition] if definition != "original" else []
    if examples != "gold":
        parts.append("no-examples" if examples == "none" else examples)
    return (*parts, *(value for value in (input, label) if value != "original"))


def arm_name(parts: Sequence[str], options: Sequence[str] = ()) -> str:
    """The one name of an arm combination: its parts joined by ``+`` (``original`` when there are none),
    then the options in use in brackets (``simplified[tpl-1a2b3c]``, ``label-rename[semantic]``)."""
    return "+".join(parts or ["original"]) + (f"[{','.join(options)}]" if options else "")


def template_tag(template: str) -> str:
    """A short tag naming a custom `simplified` template by its hash."""
    return f"tpl-{hashlib.sha256(template.encode()).hexdigest()[:6]}"


@user_errors("arm spec key")
@settings(frozen=True, config=STRICT)
class ArmSpec:
    """One arm per kind, the seed, and the options some arms read (recorded with every result).

    Attributes:
        definition: definition arm (original, simplified, empty, irrelevant, negated).
        examples: examples arm (gold, delusive, delusive-negatives, delusive-permuted,
            delusive-wrong-label, none).
        input: input arm (original, content-free).
        label: label arm (original, label-rename, label-swap).
        seed: seeds every random draw; each arm gets its own generator per task (`registry.arm_rng`).
        simplified_template: the classification template of ``simplified``; ``{labels}`` becomes the
            quoted labels joined by ", ".
        rename_scheme: the new words of ``label-rename``: "neutral" (Greek letter names) or "semantic"
            (synonyms where known, else neutral).
    """

    definition: str = "original"
    examples: str = "gold"
    input: str = "original"
    label: str = "original"
    seed: int = 0
    simplified_template: str = DEFAULT_SIMPLIFIED_TEMPLATE
    rename_scheme: RenameScheme = "neutral"

    @field_validator("rename_scheme", mode="before")
    @classmethod
    def _known_scheme(cls, value: object) -> object:
        if value not in get_args(RenameScheme):
            raise ValueError(f"unknown rename scheme {value!r}; known: {', '.join(get_args(RenameScheme))}")
        return value

    @model_validator(mode="after")
    def _known_arms(self) -> ArmSpec:
        try:
            for kind in APPLY_ORDER:
                get_arm(kind, getattr(self, kind))
            check_template(self.simplified_template)
        except UserError as err:  # a ValueError, so that a config embedding the spec names the key
            raise ValueError(str(err)) from None
        return self

    @property
    def parts(self) -> tuple[str, ...]:
        """What the spec changes: its arms that are not original, in name order."""
        return arm_parts(self.definition, self.examples, self.input, self.label)

    @property
    def name(self) -> str:
        """The arm's one name, as studies, audits and reports show it (`arm_name`): ``original``,
        ``simplified``, ``delusive``, ``content-free+label-rename[semantic]``. The seed is not part of it."""
        options = []
        if self.definition == "simplified" and self.simplified_template != DEFAULT_SIMPLIFIED_TEMPLATE:
            options.append(template_tag(self.simplified_template))
        if self.label == "label-rename" and self.rename_scheme != "neutral":
            options.append(self.rename_scheme)
        return arm_name(self.parts, options)

    def as_dict(self) -> dict[str, Any]:
        """Every field, for configs and result stores; `from_dict` rebuilds the spec."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ArmSpec:
        """The spec from `as_dict` output (or a config section); unknown keys are a `UserError`."""
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - fields)
        if unknown:
            raise UserError(
                f"unknown arm spec key(s) {', '.join(unknown)}; known: {', '.join(sorted(fields))}"
            )
        return cls(**data)

    @classmethod
    def from_options(
        cls, definition: str, examples: str, input_arm: str, label: str, seed: int
    ) -> ArmSpec | None:
        """The spec of command-line arm options (unknown names are a `UserError`), or None when every arm
        is the original."""
        if (definition, examples, input_arm, label) == ("original", "gold", "original", "original"):
            return None
        return cls(definition=definition, examples=examples, input=input_arm, label=label, seed=seed)


@dataclass(frozen=True)
class ArmResult:
    """The transformed task (None when an arm does not apply) and notes on what the arms did or why not."""

    task: Task | None
    notes: tuple[str, ...] = ()


def apply_arms(task: Task, spec: ArmSpec, *, pool: Sequence[Task] = ()) -> ArmResult:
    """Apply ``spec`` to ``task`` (label, definition, examples, input arms in that order).

    Args:
        task: the task; never modified.
        spec: the arms and seed.
        pool: other tasks, from which ``irrelevant`` draws a definition (``task`` itself is never drawn).

    Returns:
        `ArmResult` with the new task, or ``task=None`` and the skip reason in ``notes``.
    """
    options = {"simplified_template": spec.simplified_template, "rename_scheme": spec.rename_scheme}
    notes: list[str] = []
    current = task
    for kind in APPLY_ORDER:
        outcome = run_arm(get_arm(kind, getattr(spec, kind)), current, spec.seed, pool, options)
        if isinstance(outcome, Skip):
            return ArmResult(None, (*notes, outcome.reason))
        if isinstance(outcome, Noted):
            notes.append(outcome.note)
            outcome = outcome.task
        current = outcome
    return ArmResult(current, tuple(notes))


def apply_arms_to_tasks(
    tasks: Sequence[Task], spec: ArmSpec, *, pool: Sequence[Task] | None = None
) -> tuple[list[Task], dict[str, tuple[str, ...]]]:
    """`apply_arms` over ``tasks`` (``pool`` defaults to ``tasks``).

    Returns:
        The transformed tasks that the arms apply to, and the notes of every task by name (the skipped
        ones included, so a report can say what was left out and why).
    """
    pool = tasks if pool is None else pool
    kept: list[Task] = []
    notes: dict[str, tuple[str, ...]] = {}
    for task in tasks:
        result = apply_arms(task, spec, pool=pool)
        notes[task.name] = result.notes
        if result.task is not None:
            kept.append(result.task)
    return kept, notes
