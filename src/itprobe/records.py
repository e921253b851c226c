"""The records every layer shares: a model's answer (`Prediction`), the scored row (`InstanceResult`),
`Mode`, a report `Condition`.

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


def alignment_key(instance_id: str, side: str) -> str:
    """The id an instance shares with its counterparts on the other sides of its contrast group."""
    suffix = f"-{side}"
    return instance_id[: -len(suffix)] if instance_id.endswith(suffix) else instance_id


@dataclass(frozen=True)
class InstanceResult:
    """One scored answer: the one scored-row type of itprobe. Scores are in 0..1 (reports show them ×100).

    `itprobe.metrics.instance_scores` makes them (the one scoring function: study, audit, ``itprobe
    score``, baselines); the study stores them (`itprobe.study.store`: the answer, its scores and
    ``test_arm``/``mode``, the cell's context added when the report reads them back) and every report is
    a pure function of a sequence of them: one row per (condition, seed, size, task, instance).

    Attributes:
        condition: what is compared in the report: an arm ("original", "simplified", "delusive"), the
            untuned model ("untuned") or a trivial baseline ("random", "majority"); the label of an
            `itprobe.records.Condition`. Rows that share a condition but differ in ``seed`` are averaged per
            instance before any statistic. "" for a row not yet placed in a report (a stored row).
        task: task name. ``id``: instance id, unique within the task; (task, id) pairs conditions.
        exact_match, rougeL: the official metrics for this instance, 0..1.
        prediction: the raw model output. ``references``: all gold outputs (first = the gold label).
        labels: the output space shown to the model (empty for tasks without one).
        category: the task's first category ("" if none).
        in_space_strict, in_space_loose: format compliance (None when the task has no output space).
        seed: training/sampling seed. ``size``: training instances per task (None = not trained on a
            size grid: untuned model, baselines, audits).
        train_arm, test_arm: the arms at training and at test time ("" when not applicable).
        mode: "generate" or "rank".
        original_labels, original_references: for label-scheme probes (label-rename, label-swap) the
            output space and gold *before* the labels were changed; empty otherwise. Used for the
            old-label leakage rate and the share of answers that followed the old meaning.
        contrast: (group, side) when the task is one side of a contrast pair (its inputs are shared with
            the other side), else empty. The bootstrap then resamples the pair, or the shared item.
        rouge1: ROUGE-1, 0..1 (None where a producer did not compute it).
        label_logprobs: rank mode: the log-probability of each label, in the order of ``labels``.
        track: the official track ("default" or "xlingual") that chose the ROUGE tokenizer.
        raw: generation: the whole continuation the answer was cut from (`itprobe.decoding`), so that a
            protocol that is a cut of the one decoded can be scored from the stored rows; "" otherwise.
    """

    condition: str
    task: str
    id: str
    exact_match: float
    rougeL: float
    prediction: str = ""
    references: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    category: str = ""
    in_space_strict: bool | None = None
    in_space_loose: bool | None = None
    seed: int = 0
    size: int | None = None
    train_arm: str = ""
    test_arm: str = ""
    mode: str = "generate"
    original_labels: tuple[str, ...] = ()
    original_references: tuple[str, ...] = ()
    contrast: tuple[str, ...] = ()
    rouge1: float | None = None
    label_logprobs: tuple[float, ...] = ()
    track: str = "default"
    raw: str = ""

    @property
    def in_format(self) -> float | None:
        """1 when the answer is a label (strict) or exactly right, 0 otherwise; None without a label set."""
        if self.in_space_strict is None:
            return None
        return 1.0 if self.in_space_strict or self.exact_match == 1.0 else 0.0

    @property
    def unit(self) -> tuple[str, str]:
        """(cluster, item) for the bootstrap: the contrast group (else the task) and the input it shares."""
        if len(self.contrast) == 2:
            group, side = self.contrast
            return f"pair:{group}", f"pair:{group}\x1f{alignment_key(self.id, side)}"
        return self.task, f"{self.task}\x1f{self.id}"

    @property
    def key(self) -> tuple[str, str]:
        return (self.task, self.id)


UNTUNED = "untuned"  # the untuned model's condition
# what a no-model baseline is (`itprobe.baselines` declares which are oracles; this leaf only carries it)
BaselineRole = Literal["", "control", "oracle"]


@dataclass(frozen=True)
class Condition:
    """One compared condition of a report, as data: the model and the arm it was tested with.

    ``trained_with`` is the arm a model was tuned with, or "untuned" / a baseline's name when nothing was
    trained (``baseline`` then says whether it is an input-blind control or an oracle that reads the test
    labels, as `itprobe.baselines` declares it); ``tested_with`` is the test arm's name, "" when it is the model's
    own (its training arm; the original instruction for the untuned model and the baselines). ``mode``,
    ``size`` and ``seed`` locate the rows (None: not fixed); the report compares conditions across sizes and
    averages seeds, so `label` names the first two only. A label is rendered, never parsed back.
    """

    trained_with: str
    tested_with: str = ""
    mode: str | None = None
    size: int | None = None
    seed: int | None = None
    baseline: BaselineRole = ""

    @property
    def trained(self) -> bool:
        return not self.baseline and self.trained_with != UNTUNED

    @property
    def test_arm(self) -> str:
        """The arm the answers were produced under."""
        return self.tested_with or (self.trained_with if self.trained else "original")

    @property
    def display(self) -> str:
        """The label as reports show it: a baseline that reads the test labels says so."""
        return f"{self.label} (oracle)" if self.baseline == "oracle" else self.label

    @property
    def label(self) -> str:
        """``simplified``, ``simplified@original``, ``untuned``, ``untuned@simplified``, ``random`` ..."""
        return f"{self.trained_with}@{self.tested_with}" if self.tested_with else self.trained_with
