"""Batched greedy generation and rank classification (owned by the evaluation-engine work)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Mode = Literal["generate", "rank"]


@dataclass(frozen=True)
class Prediction:
    """One model answer with everything needed to score it again without the model.

    ``label_logprobs`` (rank mode) follow the order of ``labels``; ``labels`` is the task's output space
    (empty for generation tasks without one).
    """

    task: str
    id: str
    prediction: str
    references: tuple[str, ...]
    mode: Mode
    labels: tuple[str, ...] = ()
    label_logprobs: tuple[float, ...] = ()
    label_ntokens: tuple[int, ...] = ()
    category: str = ""
    input: str = ""
