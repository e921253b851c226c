"""The content-free label prior and contextual calibration (Zhao et al. 2021, "Calibrate Before Use").

The prior of a task is the model's distribution over the task's labels when the input is replaced by
"N/A" (the ``content-free`` input arm), instruction and demonstrations unchanged: a softmax over the
rank-mode log-likelihoods of the labels. A model whose answers follow the prior rather than the input
keeps choosing the favoured label whatever it is asked about.

Calibration divides each label's probability on a real input by its content-free probability,
renormalises and takes the argmax (Zhao et al.'s ``W = diag(p_cf)^-1, b = 0``). Scores are the same sums
of token log-probs the rank mode ranks by, so calibrated and uncalibrated accuracy are comparable.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from itprobe.records import Prediction


@dataclass(frozen=True)
class LabelPrior:
    """The label distribution of one task under the content-free input.

    Attributes:
        task: task name.
        labels: the output space, in the order of ``probs``.
        probs: probability of each label (sums to 1).
        entropy_bits: Shannon entropy of ``probs`` in bits (log2 of the label count when uniform).
        favoured: the most probable label (ties: the first).
    """

    task: str
    labels: tuple[str, ...]
    probs: tuple[float, ...]
    entropy_bits: float
    favoured: str

    @property
    def normalized_entropy(self) -> float:
        """Entropy over its maximum, log2(#labels): 1 = no preference, 0 = always the favoured label."""
        top = math.log2(len(self.labels)) if len(self.labels) > 1 else 1.0
        return self.entropy_bits / top


def softmax(logprobs: Sequence[float]) -> np.ndarray:
    """Probabilities from (unnormalised) log-likelihoods, computed stably."""
    x = np.asarray(logprobs, dtype=float)
    if x.size == 0:
        raise ValueError("softmax of an empty sequence")
    z = np.exp(x - x.max())
    return z / z.sum()


def entropy_bits(probs: Sequence[float] | np.ndarray) -> float:
    """Shannon entropy in bits; zero-probability labels contribute nothing."""
    p = np.asarray(probs, dtype=float)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum()) + 0.0  # + 0.0 turns -0.0 into 0.0


def label_prior(pred: Prediction) -> LabelPrior:
    """The prior from one rank-mode prediction on the content-free input.

    Raises:
        ValueError: the prediction carries no label scores (it was not made in rank mode).
    """
    if pred.mode != "rank" or not pred.label_logprobs:
        raise ValueError(f"{pred.task}: the content-free prediction has no label scores (rank mode needed)")
    probs = softmax(pred.label_logprobs)
    best = int(np.argmax(probs))  # argmax returns the first maximum: ties go to the first label
    return LabelPrior(
        task=pred.task,
        labels=tuple(pred.labels),
        probs=tuple(float(p) for p in probs),
        entropy_bits=entropy_bits(probs),
        favoured=pred.labels[best],
    )


def calibrated_index(logprobs: Sequence[float], prior: Sequence[float]) -> int:
    """The label chosen after dividing each probability by its content-free probability (ties: first).

    Works in log space: argmax(log p − log p_cf) equals argmax of the renormalised p / p_cf.
    """
    p = np.asarray(logprobs, dtype=float)
    q = np.log(np.clip(np.asarray(prior, dtype=float), 1e-300, None))
    if p.shape != q.shape:
        raise ValueError(f"{p.size} label scores for a prior over {q.size} labels")
    return int(np.argmax((p - p.max()) - q))


def calibrated_probs(logprobs: Sequence[float], prior: Sequence[float]) -> np.ndarray:
    """The calibrated distribution: ``p / p_cf`` renormalised (for reports and tests)."""
    p = softmax(logprobs) / np.clip(np.asarray(prior, dtype=float), 1e-300, None)
    return p / p.sum()


def calibrate(predictions: Sequence[Prediction], priors: Mapping[str, LabelPrior]) -> list[Prediction]:
    """Rank-mode predictions with the answer replaced by the calibrated label.

    Predictions of tasks without a prior, or not made in rank mode, are left out (they cannot be
    calibrated). Label scores are kept so the result is still a complete rank-mode prediction.
    """
    out = []
    for pred in predictions:
        prior = priors.get(pred.task)
        if prior is None or pred.mode != "rank" or not pred.label_logprobs:
            continue
        if tuple(pred.labels) != prior.labels:
            raise ValueError(f"{pred.task}: prediction labels {pred.labels} differ from the prior's")
        best = calibrated_index(pred.label_logprobs, prior.probs)
        out.append(dataclasses.replace(pred, prediction=pred.labels[best]))
    return out
