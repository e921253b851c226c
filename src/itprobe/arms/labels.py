"""Label arms (operational-risk probes): change the label scheme and tell the model so.

``label-rename`` gives every label a new word; ``label-swap`` exchanges what two labels mean. Both rewrite
the gold outputs, the demonstrations and the instruction consistently, and record what they did in
``Task.meta`` (``label_map`` / ``label_swap``, JSON) so a report can measure how often a model answered
with the old scheme (`old_label_leakage`, `old_meaning_rate`). Inputs are never touched.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import random
import string
from collections.abc import Iterator, Mapping, Sequence
from typing import Literal

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


@label_arm("label-rename")
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


@label_arm("label-swap")
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
    """Share of answers that are a label of the original scheme (renamed tasks), under the official
    normalisation; None when the task was not renamed or there are no answers."""
    mapping = label_map_of(task)
    if mapping is None:
        return None
    answers = _answers(predictions, task)
    if not answers:
        return None
    old = {normalize_answer(k) for k in mapping} - {normalize_answer(v) for v in mapping.values()}
    return sum(normalize_answer(p) in old for p, _ in answers) / len(answers)


def old_meaning_rate(predictions: Sequence[str] | Sequence[Prediction], task: Task) -> float | None:
    """Among instances whose (swapped) gold is one of the two swapped labels, the share answered with the
    other one, i.e. by the rule's old meaning; None when the task was not swapped or none qualifies."""
    swap = label_swap_of(task)
    if swap is None:
        return None
    a, b = (normalize_answer(x) for x in swap)
    old_answer = {a: b, b: a}
    judged = [
        normalize_answer(p) == old_answer[gold]
        for p, refs in _answers(predictions, task)
        if refs and (gold := normalize_answer(refs[0])) in old_answer
    ]
    return sum(judged) / len(judged) if judged else None


OriginalScheme = dict[tuple[str, str], tuple[tuple[str, ...], tuple[str, ...]]]


def original_schemes(originals: Sequence[Task]) -> OriginalScheme:
    """(task, id) → (output space, gold) of the original label scheme, kept beside a label arm's rows so
    that old-label leakage and old-meaning answers can be measured (study and audit alike)."""
    return {
        (t.name, i.id): (tuple(t.output_space.labels) if t.output_space else (), tuple(i.outputs))
        for t in originals
        for i in t.instances
    }
