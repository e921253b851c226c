"""The records every layer shares: a model's answer (`Prediction`), its scores (`InstanceScore`), `Mode`.

A leaf: it imports nothing from itprobe, so the engines (`predict`), the metrics, the arms, the baselines
and the reports can all use these types without importing each other. The task records (`Task`,
`Instance`, `Example`, `OutputSpace`) are the other leaf, `itprobe.tasks.types`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Mode = Literal["generate", "rank"]
MODES: tuple[Mode, ...] = ("generate", "rank")


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
    raw: str = ""  # generation: the continuation before the answer was cut from it (see itprobe.decoding)


@dataclass(frozen=True)
class InstanceScore:
    """One instance's scores in 0..1 (`itprobe.metrics.instance_scores`, the one scoring function of study,
    audit and ``itprobe score``); the in-space flags are None when the prediction carries no labels."""

    task: str
    id: str
    exact_match: float
    rouge1: float
    rougeL: float
    category: str = ""
    in_space_strict: bool | None = None
    in_space_loose: bool | None = None
    track: str = "default"
