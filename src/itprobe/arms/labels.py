"""Label arms (operational-risk probes): change the label scheme and tell the model so.

``label-rename`` gives every label a new word; ``label-swap`` exchanges what two labels mean. Both rewrite
the gold outputs, the demonstrations and the instruction consistently, and record what they did in
``Task.meta`` (``label_map`` / ``label_swap``, JSON) so a report can measure how often a model answered
with the old scheme (`leakage_rate`, `old_meaning_share`: the one implementation of both rates, used by
`old_label_leakage`, `old_meaning_rate` and the reports). Inputs are never touched.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import random
import string
from collections.abc import Iterator, Mapping, Sequence
from typing import Literal, Protocol

from itprobe.arms._text import label_index, map_output, meta_value, rewrite_labels, task_words, with_meta
from itprobe.arms.registry import Noted, Skip, label_arm
from itprobe.metrics import normalize_answer
from itprobe.records import Prediction
from itprobe.tasks.types import Example, Instance, Negation, Task

RenameScheme = Literal["neutral", "semantic"]

NEUTRAL_NAMES = (
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "eta",
    "theta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "omicron",
    "pi",
    "rho",
    "sigma",
    "tau",
    "upsilon",
    "phi",
    "chi",
    "psi",
    "omega",
)
# the "semantic" scheme: a synonym that keeps the label's meaning; labels not listed (or whose synonym
# collides with the task's words) fall back to the neutral names
SEMANTIC_NAMES = {
    "yes": "affirmative",
    "no": "negative",
    "true": "correct",
    "false": "incorrect",
    "positive": "favorable",
    "negative": "unfavorable",
    "entails": "follows",
    "entailment": "follows",
    "contradiction": "conflicts",
    "neutral": "undetermined",
    "correct": "right",
    "incorrect": "wrong",
}
LABEL_MAP_KEY = "label_map"
LABEL_SWAP_KEY = "label_swap"


def _neutral_names(rng: random.Random) -> Iterator[str]:
    yield from rng.sample(NEUTRAL_NAMES, len(NEUTRAL_NAMES))
    for n in itertools.count(2):  # only reached when a task uses most Greek letter names as words
        yield from (f"{name}{n}" for name in NEUTRAL_NAMES)


def new_label_names(task: Task, scheme: RenameScheme, rng: random.Random) -> dict[str, str]:
    """Old label → new word, for every label of the task's output space.

    A new word never collides (after normalisation) with an old label, another new word, or any word the
    task shows (definition, examples, instances), so a model cannot have met it in the prompt.
    """
    assert task.output_space is not None
    taken = task_words(task) | {normalize_answer(label) for label in task.output_space.labels}
    neutral = _neutral_names(rng)
    mapping: dict[str, str] = {}
    for label in task.output_space.labels:
        name = SEMANTIC_NAMES.get(normalize_answer(label)) if scheme == "semantic" else None
        while name is None or normalize_answer(name) in taken:
            name = next(neutral)
        taken.add(normalize_answer(name))
        mapping[label] = name
    return mapping


def _end_sentence(text: str) -> str:
    text = text.rstrip()
    return text if not text or text[-1] in string.punctuation else text + "."


def _with_sentence(definition: str, sentence: str) -> str:
    definition = _end_sentence(definition)
    return f"{definition} {sentence}" if definition else sentence


def _join(parts: Sequence[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def relabel(
    task: Task, mapping: Mapping[str, str], labels: Sequence[str], sentence: str, *, rewrite_definition: bool
) -> Task:
    """``task`` under a new label scheme: gold and example outputs mapped, label mentions rewritten in
    the explanations (and in the definitions when ``rewrite_definition``), the output space set to
    ``labels``, and ``sentence`` appended to the definition and to the negated definition, if any."""
    index = label_index(mapping)

    def definition(text: str) -> str:
        return _with_sentence(rewrite_labels(text, mapping) if rewrite_definition else text, sentence)

    def examples(exs: tuple[Example, ...]) -> tuple[Example, ...]:
        return tuple(
            Example(ex.input, map_output(ex.output, mapping, index), rewrite_labels(ex.explanation, mapping))
            for ex in exs
        )

    negation = task.negation
    if negation is not None:
        pairs = tuple((mapping.get(k, k), mapping.get(v, v)) for k, v in negation.label_map)
        negation = Negation(definition(negation.definition), pairs)
    assert task.output_space is not None
    return dataclasses.replace(
        task,
        definition=definition(task.definition),
        instances=tuple(
            Instance(i.id, i.input, tuple(map_output(o, mapping, index) for o in i.outputs))
            for i in task.instances
        ),
        positive_examples=examples(task.positive_examples),
        negative_examples=examples(task.negative_examples),
        output_space=dataclasses.replace(task.output_space, labels=tuple(labels)),
        negation=negation,
    )


@label_arm("original")
def original(task: Task, rng: random.Random, pool: Sequence[Task]) -> Task:
    """The task's own label scheme."""
    return task


@label_arm("label-rename", relabels=True, follows=True, probe="label-rename")
def label_rename(
    task: Task, rng: random.Random, pool: Sequence[Task], *, rename_scheme: RenameScheme = "neutral"
) -> Noted | Skip:
    """Every label renamed to a new word; instruction, gold and demonstrations follow (see module doc).

    Mentions of the old labels in the definition and explanations are rewritten, and a sentence stating
    the mapping is appended: ``Answer "alpha" instead of "yes" and "beta" instead of "no".``
    """
    if task.output_space is None or not task.is_classification:
        return Skip("label-rename: the task has no output space with 2 or more labels")
    mapping = new_label_names(task, rename_scheme, rng)
    sentence = "Answer " + _join([f'"{new}" instead of "{old}"' for old, new in mapping.items()]) + "."
    renamed = relabel(task, mapping, list(mapping.values()), sentence, rewrite_definition=True)
    pairs = ", ".join(f"{old}→{new}" for old, new in mapping.items())
    return Noted(with_meta(renamed, LABEL_MAP_KEY, json.dumps(mapping)), f"label-rename: {pairs}")


@label_arm("label-swap", relabels=True, follows=True, probe="label-swap")
def label_swap(task: Task, rng: random.Random, pool: Sequence[Task]) -> Noted | Skip:
    """What the first two labels mean is exchanged (Webson & Pavlick's reversed verbalizer).

    The definition keeps its wording and gets ``Important: answer "no" where the rule above says "yes",
    and "yes" where it says "no".``; gold and example outputs are swapped, and label mentions in the
    explanations too, so an explanation still ends in the label it now argues for. With more than two
    labels only the first two (in output-space order) are swapped.
    """
    if task.output_space is None or not task.is_classification:
        return Skip("label-swap: the task has no output space with 2 or more labels")
    a, b = task.output_space.labels[:2]
    sentence = f'Important: answer "{b}" where the rule above says "{a}", and "{a}" where it says "{b}".'
    swapped = relabel(task, {a: b, b: a}, task.output_space.labels, sentence, rewrite_definition=False)
    return Noted(with_meta(swapped, LABEL_SWAP_KEY, json.dumps([a, b])), f"label-swap: {a}↔{b}")


def label_map_of(task: Task) -> dict[str, str] | None:
    """The old → new label map recorded by ``label-rename``, or None if the task was not renamed."""
    value = meta_value(task, LABEL_MAP_KEY)
    return dict(json.loads(value)) if value is not None else None


def label_swap_of(task: Task) -> tuple[str, str] | None:
    """The two labels exchanged by ``label-swap``, or None if the task was not swapped."""
    value = meta_value(task, LABEL_SWAP_KEY)
    if value is None:
        return None
    a, b = json.loads(value)
    return a, b


class SchemeAnswer(Protocol):
    """An answer under a label arm beside the original scheme (`itprobe.report.InstanceResult` is one)."""

    @property
    def prediction(self) -> str: ...
    @property
    def references(self) -> tuple[str, ...]: ...
    @property
    def labels(self) -> tuple[str, ...]: ...
    @property
    def original_labels(self) -> tuple[str, ...]: ...
    @property
    def original_references(self) -> tuple[str, ...]: ...


@dataclasses.dataclass(frozen=True)
class _Answer:
    prediction: str
    references: tuple[str, ...]
    labels: tuple[str, ...]
    original_labels: tuple[str, ...]
    original_references: tuple[str, ...]


def _norm(values: Sequence[str]) -> set[str]:
    return {normalize_answer(v) for v in values}


def leakage_rate(answers: Sequence[SchemeAnswer]) -> float | None:
    """Share of answers that are a label of the original scheme but not of the new one.

    Counted over the answers whose original scheme has such a label (a rename); None when none has (no
    label arm, or a swap: every old label is still a label, so nothing can leak). The one implementation
    of old-label leakage: `old_label_leakage` and the reports' compliance tables both use it.
    """
    judged = [
        normalize_answer(a.prediction) in old
        for a in answers
        if (old := _norm(a.original_labels) - _norm(a.labels))
    ]
    return sum(judged) / len(judged) if judged else None


def old_meaning_share(answers: Sequence[SchemeAnswer]) -> float | None:
    """Among answers whose gold moved to another label of the same scheme (a swap), the share answered
    with the original gold, i.e. by the rule's old meaning; None when no gold moved so.

    A rename changes the words, not what they mean: its old gold is no label of the new scheme, so it is
    not judged here (answering with it is old-label leakage, `leakage_rate`). The one implementation of
    the old-meaning rate: `old_meaning_rate` and the reports' compliance tables both use it.
    """
    judged = [
        normalize_answer(a.prediction) in old_gold
        for a in answers
        if a.original_references
        and (old_gold := _norm(a.original_references)) != _norm(a.references)
        and old_gold & _norm(a.labels)
    ]
    return sum(judged) / len(judged) if judged else None


def _answers(
    predictions: Sequence[str] | Sequence[Prediction], task: Task
) -> list[tuple[str, tuple[str, ...]]]:
    """(answer, references) pairs: strings align with ``task.instances``; Predictions of the task carry
    their own references (predictions of other tasks are ignored)."""
    if all(isinstance(p, str) for p in predictions):
        if len(predictions) != len(task.instances):
            raise ValueError(
                f"{len(predictions)} predictions for {len(task.instances)} instances of {task.name}"
            )
        return [(str(p), inst.outputs) for p, inst in zip(predictions, task.instances, strict=True)]
    if all(isinstance(p, Prediction) for p in predictions):
        return [(p.prediction, p.references) for p in predictions if p.task == task.name]  # type: ignore[union-attr]
    raise TypeError("predictions must be all strings or all itprobe.predict.Prediction objects")


def old_label_leakage(predictions: Sequence[str] | Sequence[Prediction], task: Task) -> float | None:
    """`leakage_rate` of a renamed task's answers (official normalisation); None when the task was not
    renamed or there are no answers."""
    mapping = label_map_of(task)
    if mapping is None:
        return None
    old, new = tuple(mapping), tuple(mapping.values())
    return leakage_rate([_Answer(p, refs, new, old, ()) for p, refs in _answers(predictions, task)])


def old_meaning_rate(predictions: Sequence[str] | Sequence[Prediction], task: Task) -> float | None:
    """`old_meaning_share` of a swapped task's answers: among instances whose gold is one of the two
    swapped labels, the share answered with the other one; None when the task was not swapped or none
    qualifies."""
    swap = label_swap_of(task)
    if swap is None:
        return None
    a, b = swap
    before = {normalize_answer(a): b, normalize_answer(b): a}
    labels = tuple(task.output_space.labels) if task.output_space else (a, b)
    return old_meaning_share(
        [
            _Answer(p, refs[:1], labels, labels, tuple(before.get(normalize_answer(r), r) for r in refs[:1]))
            for p, refs in _answers(predictions, task)
        ]
    )


OriginalScheme = dict[tuple[str, str], tuple[tuple[str, ...], tuple[str, ...]]]


def original_schemes(originals: Sequence[Task]) -> OriginalScheme:
    """(task, id) → (output space, gold) of the original label scheme, kept beside a label arm's rows so
    that old-label leakage and old-meaning answers can be measured (study and audit alike)."""
    return {
        (t.name, i.id): (tuple(t.output_space.labels) if t.output_space else (), tuple(i.outputs))
        for t in originals
        for i in t.instances
    }
