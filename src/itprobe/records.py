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


REFERENCE_MODELS = ("untuned", "random", "majority")  # what a condition's model is when nothing was trained


@dataclass(frozen=True)
class Condition:
    """One compared condition of a report, as data: the model and the arm it was tested with.

    ``trained_with`` is the arm a model was tuned with, or "untuned" / a trivial baseline ("random",
    "majority") when nothing was trained; ``tested_with`` is the test arm's name, "" when it is the model's
    own (its training arm; the original instruction for the untuned model and the baselines). ``mode``,
    ``size`` and ``seed`` locate the rows (None: not fixed); the report compares conditions across sizes and
    averages seeds, so `label` names the first two only. A label is rendered, never parsed back.
    """

    trained_with: str
    tested_with: str = ""
    mode: str | None = None
    size: int | None = None
    seed: int | None = None

    @property
    def trained(self) -> bool:
        return self.trained_with not in REFERENCE_MODELS

    @property
    def test_arm(self) -> str:
        """The arm the answers were produced under."""
        return self.tested_with or (self.trained_with if self.trained else "original")

    @property
    def label(self) -> str:
        """``simplified``, ``simplified@original``, ``untuned``, ``untuned@simplified``, ``random`` ..."""
        return f"{self.trained_with}@{self.tested_with}" if self.tested_with else self.trained_with
