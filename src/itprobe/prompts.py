"""Tk-Instruct prompt encoding (owned by the foundation work; see docs/design.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PromptConfig:
    """The options of Tk-Instruct's `DataCollatorForNI`, plus an optional source-token budget."""

    add_task_name: bool = False
    add_definition: bool = True
    num_pos: int = 2
    num_neg: int = 0
    add_explanation: bool = False
    max_source_tokens: int | None = None


@dataclass(frozen=True)
class Prompt:
    """One encoded instance: the text a model sees and the references it is scored against."""

    task: str
    id: str
    text: str
    targets: tuple[str, ...]
