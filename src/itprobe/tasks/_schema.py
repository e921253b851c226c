"""Pydantic schemas of the on-disk records (the edge); the loaders turn them into the frozen dataclasses.

Strict mode: a number where a string belongs is an error, not silently converted. A single string is
accepted wherever a list of reference outputs or categories is expected.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


def _listify(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class _Record(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class ExampleRecord(_Record):
    input: str
    output: str
    explanation: str = ""


class InstanceRecord(_Record):
    id: str
    input: str
    output: list[str]

    _wrap = field_validator("output", mode="before")(_listify)


class SpaceRecord(_Record):
    labels: list[str] = Field(min_length=1)
    rule: Literal["declared", "detected", "file"] = "declared"
    detail: str = ""


class NegationRecord(_Record):
    definition: str
    label_map: dict[str, str]


class ContrastRecord(_Record):
    group: str
    side: str


class CompactTaskRecord(_Record):
    """One line of the compact format; unknown keys are kept (`model_extra`) and end up in `Task.meta`."""

    model_config = ConfigDict(strict=True, extra="allow")

    name: str = Field(min_length=1)
    definition: str
    instances: list[InstanceRecord]
    positive_examples: list[ExampleRecord] = []
    negative_examples: list[ExampleRecord] = []
    categories: list[str] = []
    output_space: SpaceRecord | None = None
    negation: NegationRecord | None = None
    contrast: ContrastRecord | None = None
    meta: dict[str, str] = {}

    _wrap = field_validator("categories", mode="before")(_listify)

    @field_validator("output_space", mode="before")
    @classmethod
    def _declared(cls, value: Any) -> Any:
        # the documented short form: a plain list of labels is a declared space
        return {"labels": value, "rule": "declared"} if isinstance(value, list) else value


def _drop_non_examples(value: Any) -> Any:
    # a few official task files write a placeholder such as "-" instead of an example object
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else value


class OfficialTaskRecord(_Record):
    """A ``tasks/<name>.json`` file of a NatInst checkout; other keys are kept as metadata."""

    model_config = ConfigDict(strict=True, extra="allow", populate_by_name=False)

    definition: list[str] = Field(alias="Definition", min_length=1)
    instances: list[InstanceRecord] = Field(alias="Instances")
    positive_examples: list[ExampleRecord] = Field(default=[], alias="Positive Examples")
    negative_examples: list[ExampleRecord] = Field(default=[], alias="Negative Examples")
    categories: list[str] = Field(default=[], alias="Categories")

    _wrap = field_validator("definition", "categories", mode="before")(_listify)
    _clean = field_validator("positive_examples", "negative_examples", mode="before")(_drop_non_examples)


class UserRowRecord(_Record):
    """One row of the simple user format (JSONL or CSV); see `itprobe.tasks.user`."""

    task: str = Field(min_length=1)
    input: str
    output: list[str] = Field(min_length=1)
    definition: str = ""
    id: str | None = None
    role: Literal["instance", "positive", "negative"] = "instance"
    explanation: str = ""
    labels: list[str] | None = None
    categories: list[str] = []

    _wrap = field_validator("output", mode="before")(_listify)

    @field_validator("labels", "categories", mode="before")
    @classmethod
    def _split_labels(cls, value: Any) -> Any:
        return [x.strip() for x in value.split("|") if x.strip()] if isinstance(value, str) else value


class ReferenceRecord(_Record):
    """One line of the leaderboard reference file (``test_references.jsonl``)."""

    id: str
    references: list[str]
    task_id: str = Field(min_length=1)
    task_category: str = ""
