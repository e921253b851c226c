"""Official NatInst metrics: normalisation, exact match, ROUGE-1/L, grouping, and output-format checks.

Reference: Tk-Instruct ``src/compute_metrics.py`` and NatInst's ``eval/automatic/evaluation.py``.
Normalisation lower-cases, strips ASCII punctuation and collapses whitespace; unlike SQuAD it KEEPS
articles (the original comments ``remove_articles`` out). ROUGE is Google's ``rouge_score``: on the
``default`` track with its own tokenizer and the Porter stemmer, on the ``xlingual`` track with a GPT-2
tokenizer whose "Ġ" space marks are stripped (`SpaceMarkStripped`; no lower-casing, no stemming), as the
official script does for cross-lingual tasks. Every metric is the maximum over the references, and
``overall`` is the mean over instances ×100 (so big tasks weigh more), reported beside the unweighted mean
over tasks and per track.
"""

from __future__ import annotations

import string
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Protocol

from itprobe.records import InstanceResult, Prediction

_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(s: str) -> str:
    """Lower-case, drop ASCII punctuation, collapse whitespace (articles are kept, as in Tk-Instruct)."""
    return " ".join("".join(ch for ch in s.lower() if ch not in _PUNCTUATION).split())


@lru_cache(maxsize=1)
def _scorer() -> Any:
    # building a RougeScorer is slow (stemmer set-up); one shared instance serves every call
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rouge1", "rougeL"], use_stemmer=True)


@lru_cache(maxsize=65536)
def _rouge_pair(prediction: str, reference: str) -> tuple[float, float]:
    """(ROUGE-1 F, ROUGE-L F) of one prediction against one reference; cached for repeated pairs."""
    scores = _scorer().score(target=reference, prediction=prediction)
    return scores["rouge1"].fmeasure, scores["rougeL"].fmeasure


class Tokenizer(Hashable, Protocol):
    """What rouge-score needs from a custom tokenizer (hashable: scorers are cached per tokenizer)."""

    def tokenize(self, text: str) -> list[str]: ...


@dataclass(frozen=True, eq=False)
class SpaceMarkStripped:
    """The official xlingual tokenizer: a Hugging Face (GPT-2) tokenizer's tokens with "Ġ" stripped."""

    hf_tokenizer: Any

    def tokenize(self, text: str) -> list[str]:
        return [token.lstrip("Ġ") for token in self.hf_tokenizer.tokenize(text)]


@lru_cache(maxsize=4)
def _custom_scorer(tokenizer: Tokenizer) -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rouge1", "rougeL"], tokenizer=tokenizer)


def _pair(prediction: str, reference: str, tokenizer: Tokenizer | None) -> tuple[float, float]:
    if tokenizer is None:
        return _rouge_pair(prediction, reference)
    scores = _custom_scorer(tokenizer).score(target=reference, prediction=prediction)
    return scores["rouge1"].fmeasure, scores["rougeL"].fmeasure


def _check_refs(references: Sequence[str]) -> None:
    if not references:
        raise ValueError("an instance needs at least one reference")


def exact_match(prediction: str, references: Sequence[str]) -> float:
    """1.0 when the normalised prediction equals any normalised reference, else 0.0."""
    _check_refs(references)
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(ref) for ref in references))


def rouge1(prediction: str, references: Sequence[str], *, tokenizer: Tokenizer | None = None) -> float:
    """ROUGE-1 F-measure, maximum over the references, in 0..1 (stemmed default tokens unless ``tokenizer``)."""
    _check_refs(references)
    return max(_pair(prediction, ref, tokenizer)[0] for ref in references)


def rouge_l(prediction: str, references: Sequence[str], *, tokenizer: Tokenizer | None = None) -> float:
    """ROUGE-L F-measure, maximum over the references, in 0..1 (stemmed default tokens unless ``tokenizer``)."""
    _check_refs(references)
    return max(_pair(prediction, ref, tokenizer)[1] for ref in references)


def in_space_strict(prediction: str, labels: Iterable[str]) -> bool:
    """Whether the normalised prediction equals one of the normalised labels (a well-formed answer)."""
    pred = normalize_answer(prediction)
    return any(pred == normalize_answer(label) for label in labels)


def in_space_loose(prediction: str, labels: Iterable[str]) -> bool:
    """Whether a normalised label occurs as a whole word or phrase inside the normalised prediction.

    "the answer is yes." contains "yes"; "yesterday" does not. Labels that normalise to "" never match.
    """
    padded = f" {normalize_answer(prediction)} "
    return any(norm and f" {norm} " in padded for norm in map(normalize_answer, labels))


@dataclass(frozen=True)
class Scores:
    """Mean exact match, ROUGE-1 and ROUGE-L ×100 over ``n`` instances."""

    exact_match: float
    rouge1: float
    rougeL: float
    n: int

    def as_dict(self, digits: int | None = 4) -> dict[str, float]:
        """The three metrics, rounded to ``digits`` decimals as the official script does (None = raw)."""
        values = {"exact_match": self.exact_match, "rouge1": self.rouge1, "rougeL": self.rougeL}
        return values if digits is None else {k: round(v, digits) for k, v in values.items()}


@dataclass(frozen=True)
class ScoreReport:
    """Overall (instance mean), per task, per category (first category), per track, the unweighted task mean."""

    overall: Scores
    per_task: dict[str, Scores] = field(default_factory=dict)
    per_category: dict[str, Scores] = field(default_factory=dict)
    task_mean: Scores | None = None
    per_track: dict[str, Scores] = field(default_factory=dict)

    def to_json(self, digits: int | None = 4) -> dict[str, Any]:
        """The ``itprobe score --json`` document (scores ×100)."""
        return {
            "overall": self.overall.as_dict(digits),
            "per_task": {k: v.as_dict(digits) for k, v in self.per_task.items()},
            "per_category": {k: v.as_dict(digits) for k, v in self.per_category.items()},
            "task_mean": self.task_mean.as_dict(digits) if self.task_mean else None,
            "per_track": {k: v.as_dict(digits) for k, v in self.per_track.items()},
            "n_instances": self.overall.n,
            "n_tasks": len(self.per_task),
        }


OriginalSchemes = Mapping[tuple[str, str], tuple[tuple[str, ...], tuple[str, ...]]]


def instance_scores(
    predictions: Sequence[Prediction],
    *,
    tracks: Sequence[str] | None = None,
    xlingual_tokenizer: Tokenizer | None = None,
    condition: str = "",
    mode: str | None = None,
    test_arm: str = "",
    originals: OriginalSchemes | None = None,
) -> list[InstanceResult]:
    """Score every prediction against its own references (0..1 per metric): the one scoring function.

    Args:
        predictions: the predictions, with their references.
        tracks: the official track of each prediction ("default" or "xlingual"); None: all default.
        xlingual_tokenizer: the ROUGE tokenizer of the xlingual track (`SpaceMarkStripped` around GPT-2's).
        condition, test_arm: the rows' report condition and test arm ("" when not yet known).
        mode: the pass's mode (in a rank pass, tasks without an output space are answered by
            generation); None: each prediction's own.
        originals: (task, id) → (output space, gold) of the original label scheme, kept beside a label
            arm's rows (`itprobe.arms.labels.original_schemes`) for old-label leakage and old meaning.

    Raises:
        ValueError: an xlingual prediction and no ``xlingual_tokenizer``.
    """
    tracks = list(tracks) if tracks is not None else ["default"] * len(predictions)
    if len(tracks) != len(predictions):
        raise ValueError("one track per prediction")
    if xlingual_tokenizer is None and "xlingual" in tracks:
        raise ValueError("xlingual predictions need the xlingual ROUGE tokenizer")
    out = []
    for p, track in zip(predictions, tracks, strict=True):
        labels = tuple(p.labels)
        tokenizer = xlingual_tokenizer if track == "xlingual" else None
        old_labels, old_refs = (originals or {}).get((p.task, p.id), ((), ()))
        out.append(
            InstanceResult(
                condition=condition,
                task=p.task,
                id=p.id,
                exact_match=exact_match(p.prediction, p.references),
                rougeL=rouge_l(p.prediction, p.references, tokenizer=tokenizer),
                prediction=p.prediction,
                references=tuple(p.references),
                labels=labels,
                category=p.category,
                in_space_strict=in_space_strict(p.prediction, labels) if labels else None,
                in_space_loose=in_space_loose(p.prediction, labels) if labels else None,
                test_arm=test_arm,
                mode=mode if mode is not None else p.mode,
                original_labels=old_labels,
                original_references=old_refs,
                rouge1=rouge1(p.prediction, p.references, tokenizer=tokenizer),
                label_logprobs=tuple(p.label_logprobs),
                track=track,
                raw=p.raw,
            )
        )
    return out


def rescored(row: InstanceResult, answer: str) -> InstanceResult:
    """``row`` with ``answer`` as its answer and every score recomputed the way `instance_scores` does: how
    a stored generation is scored under another decoding protocol cut from the same continuation
    (`itprobe.decoding.Decoding.recut`). Rows of the xlingual track need its ROUGE tokenizer: refused."""
    if row.track == "xlingual":
        raise ValueError(f"{row.task}/{row.id}: an xlingual row cannot be rescored without its tokenizer")
    labels = row.labels
    return replace(
        row,
        prediction=answer,
        exact_match=exact_match(answer, row.references),
        rougeL=rouge_l(answer, row.references),
        rouge1=rouge1(answer, row.references),
        in_space_strict=in_space_strict(answer, labels) if labels else None,
        in_space_loose=in_space_loose(answer, labels) if labels else None,
    )


def gold_label(references: Sequence[str], labels: Sequence[str]) -> str:
    """The gold label: the first reference that is in the output space, else the first reference."""
    if not references:
        return ""
    if labels:
        space = {normalize_answer(label) for label in labels}
        for ref in references:
            if normalize_answer(ref) in space:
                return ref
    return references[0]


def _rouge1(s: InstanceResult) -> float:
    if s.rouge1 is None:
        raise ValueError(f"no ROUGE-1 for {s.task}/{s.id}: score it with instance_scores")
    return s.rouge1


def _mean(scores: Sequence[InstanceResult]) -> Scores:
    n = len(scores)
    return Scores(
        exact_match=100.0 * sum(s.exact_match for s in scores) / n,
        rouge1=100.0 * sum(map(_rouge1, scores)) / n,
        rougeL=100.0 * sum(s.rougeL for s in scores) / n,
        n=n,
    )


def aggregate(scores: Sequence[InstanceResult]) -> ScoreReport:
    """Group instance scores as the official script does (groups keep first-seen order)."""
    if not scores:
        raise ValueError("no predictions to score")
    by_task: dict[str, list[InstanceResult]] = defaultdict(list)
    by_category: dict[str, list[InstanceResult]] = defaultdict(list)
    by_track: dict[str, list[InstanceResult]] = defaultdict(list)
    for s in scores:
        by_task[s.task].append(s)
        by_track[s.track].append(s)
        if s.category:
            by_category[s.category].append(s)
    per_task = {task: _mean(group) for task, group in by_task.items()}
    task_mean = Scores(
        exact_match=sum(t.exact_match for t in per_task.values()) / len(per_task),
        rouge1=sum(t.rouge1 for t in per_task.values()) / len(per_task),
        rougeL=sum(t.rougeL for t in per_task.values()) / len(per_task),
        n=len(scores),
    )
    return ScoreReport(
        overall=_mean(scores),
        per_task=per_task,
        per_category={cat: _mean(group) for cat, group in by_category.items()},
        task_mean=task_mean,
        per_track={track: _mean(group) for track, group in by_track.items()},
    )


def score_predictions(
    predictions: Sequence[Prediction],
    *,
    tracks: Sequence[str] | None = None,
    xlingual_tokenizer: Tokenizer | None = None,
) -> ScoreReport:
    """Official metrics of predictions that carry their references (see `instance_scores`)."""
    return aggregate(instance_scores(predictions, tracks=tracks, xlingual_tokenizer=xlingual_tokenizer))
