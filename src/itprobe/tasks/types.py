"""The data model every stage shares: a `Task` with its `Instance`s, `Example`s and `OutputSpace`.

All types are frozen dataclasses so that stages cannot mutate what they receive; an arm returns a new
`Task` (``dataclasses.replace``) instead of editing one. Sequences are tuples for the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# How a task's output space was obtained; recorded with every result so a reader knows which rule applied.
SpaceRule = Literal["declared", "detected", "file"]


@dataclass(frozen=True)
class Example:
    """A demonstration shown in the prompt (NatInst "Positive/Negative Examples")."""

    input: str
    output: str
    explanation: str = ""


@dataclass(frozen=True)
class Instance:
    """One evaluation or training item. ``outputs`` holds every acceptable reference (NatInst allows several)."""

    id: str
    input: str
    outputs: tuple[str, ...]


@dataclass(frozen=True)
class OutputSpace:
    """The finite label set of a classification task, with the rule that produced it.

    ``labels`` keep their original casing (the first spelling seen); comparisons against predictions go
    through the official normalisation in `itprobe.metrics`.
    """

    labels: tuple[str, ...]
    rule: SpaceRule
    detail: str = ""  # e.g. "max_labels=10" for detection or the label file's path


@dataclass(frozen=True)
class Negation:
    """A negated definition and the label map that flips gold labels under it (for the `negated` arm)."""

    definition: str
    label_map: tuple[tuple[str, str], ...]  # (old label, new label) pairs

    def map_label(self, label: str) -> str:
        return dict(self.label_map).get(label, label)


@dataclass(frozen=True)
class Contrast:
    """Membership in a contrast pair: tasks of one ``group`` share inputs and output space, differ in rule."""

    group: str
    side: str


@dataclass(frozen=True)
class Task:
    """A NatInst-style task: an instruction (definition + examples) and the instances it applies to."""

    name: str
    definition: str
    instances: tuple[Instance, ...] = ()
    positive_examples: tuple[Example, ...] = ()
    negative_examples: tuple[Example, ...] = ()
    categories: tuple[str, ...] = ()
    output_space: OutputSpace | None = None
    negation: Negation | None = None
    contrast: Contrast | None = None
    # free-form provenance (source, domains, licence, family, ...) carried through untouched
    meta: tuple[tuple[str, str], ...] = field(default=())

    @property
    def category(self) -> str:
        """The first category, as Tk-Instruct groups results; "" when the task declares none."""
        return self.categories[0] if self.categories else ""

    @property
    def is_classification(self) -> bool:
        return self.output_space is not None and len(self.output_space.labels) >= 2
