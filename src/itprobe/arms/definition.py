"""Definition arms: what the instruction says, with its meaning kept, removed, replaced or reversed.

``empty`` is represented by ``definition == ""``; `itprobe.prompts` then omits the whole "Definition:"
line (Tk-Instruct itself would print "Definition: ." for an empty string). See docs/arms.md.

The meaning-free arms (``simplified``, ``empty``, ``irrelevant``) also remove the meaning that other parts
of the prompt carry (`without_meaning`): the demonstrations' explanations, which restate the task, and
the task's name, which describes it. This is the one place that rule lives; every prompt built from the
arm's task (training, prediction, audit, ``itprobe prompts``) follows it whatever the prompt options say.
"""

from __future__ import annotations

import dataclasses
import random
import re
import string
from collections.abc import Sequence

from itprobe.arms._text import label_index, map_output, with_meta
from itprobe.arms.forms import FORM_TEXT, output_form
from itprobe.arms.registry import Noted, Skip, definition_arm
from itprobe.errors import UserError
from itprobe.metrics import normalize_answer
from itprobe.prompts import TASK_NAME_HIDDEN
from itprobe.tasks.types import Example, Instance, Task

DEFAULT_SIMPLIFIED_TEMPLATE = "Output one of: {labels}."


def check_template(template: str) -> str:
    """``template`` if it is a valid simplified template (one ``{labels}`` field, nothing else)."""
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError as err:
        raise UserError(f"simplified template {template!r}: {err}") from None
    if fields != {"labels"}:
        raise UserError(f"simplified template {template!r} must contain exactly the field {{labels}}")
    return template


def simplified_definition(task: Task, template: str = DEFAULT_SIMPLIFIED_TEMPLATE) -> str:
    """The definition with every semantic word removed and only the output space left.

    Classification (an output space of two or more labels): ``template`` with the labels quoted, in
    output-space order. Generation: one fixed sentence naming the output's form (`forms.output_form`).
    """
    if task.output_space is not None and task.is_classification:
        labels = ", ".join(f'"{label}"' for label in task.output_space.labels)
        return check_template(template).format(labels=labels)
    return FORM_TEXT[output_form(task)]


def without_meaning(task: Task) -> Task:
    """``task`` with every example explanation removed and its name withheld from prompts.

    Explanations ("Since the blank is someone who received the gift, ...") restate what the task asks,
    and the name (``task1155_bard_analogical_reasoning_trash_or_treasure``) describes it: under a
    meaning-free definition both would give the meaning back. The name stays the task's identifier
    (results still pair on it); only `itprobe.prompts` leaves it out (`TASK_NAME_HIDDEN`).
    """

    def bare(examples: tuple[Example, ...]) -> tuple[Example, ...]:
        return tuple(dataclasses.replace(ex, explanation="") for ex in examples)

    stripped = dataclasses.replace(
        task, positive_examples=bare(task.positive_examples), negative_examples=bare(task.negative_examples)
    )
    return with_meta(stripped, TASK_NAME_HIDDEN, "true")


@definition_arm("original", probe="original")
def original(task: Task, rng: random.Random, pool: Sequence[Task]) -> Task:
    """The task's own definition."""
    return task


@definition_arm("simplified", meaning_free=True, probe="simplified")
def simplified(
    task: Task,
    rng: random.Random,
    pool: Sequence[Task],
    *,
    simplified_template: str = DEFAULT_SIMPLIFIED_TEMPLATE,
) -> Task:
    """Kung & Peng's simplified definition: the output space only (see `simplified_definition`)."""
    return without_meaning(
        dataclasses.replace(task, definition=simplified_definition(task, simplified_template))
    )


@definition_arm("empty", meaning_free=True, probe="empty")
def empty(task: Task, rng: random.Random, pool: Sequence[Task]) -> Task:
    """No definition at all (``""``; the prompt encoder drops the definition line)."""
    return without_meaning(dataclasses.replace(task, definition=""))


# a source that names no dataset (NatInst marks 93 unrelated generated tasks "synthetic")
_GENERIC_SOURCES = frozenset({"", "synthetic"})
_NATINST_NAME = re.compile(r"task\d+_([^_]+)_")


def dataset_keys(task: Task) -> frozenset[str]:
    """What identifies the data a task is built on; tasks that share a key are siblings.

    A contrast group (the generated suite's family) when the task has one; otherwise each entry of
    ``meta["source"]`` (NatInst's ``Source``, "; "-separated) and the dataset stem of a NatInst-style name
    (``task1391_winogrande_easy_answer_generation`` -> ``winogrande``).
    """
    if task.contrast is not None:
        return frozenset({f"group:{task.contrast.group}"})
    sources = (s.strip(" ,").lower() for s in dict(task.meta).get("source", "").split(";"))
    keys = {f"source:{s}" for s in sources if s not in _GENERIC_SOURCES}
    stem = _NATINST_NAME.match(task.name)
    if stem:
        keys.add(f"stem:{stem.group(1).lower()}")
    return frozenset(keys)


def _label_set(task: Task) -> frozenset[str] | None:
    if task.output_space is None or not task.is_classification:
        return None
    return frozenset(normalize_answer(label) for label in task.output_space.labels)


def is_sibling(task: Task, other: Task) -> bool:
    """Whether ``other`` shares ``task``'s source dataset or its label set (see `dataset_keys`)."""
    labels = _label_set(task)
    return bool(dataset_keys(task) & dataset_keys(other)) or (
        labels is not None and labels == _label_set(other)
    )


@definition_arm("irrelevant", meaning_free=True, probe="irrelevant")
def irrelevant(task: Task, rng: random.Random, pool: Sequence[Task]) -> Noted | Skip:
    """The definition of an unrelated task from ``pool`` (Webson & Pavlick's irrelevant-instruction control).

    Candidates are pool tasks with another name and another, non-empty definition that are not siblings
    (`is_sibling`: same source dataset or same label set, whose definitions would describe this task or
    its output space). They are sorted by (name, definition), so the draw depends on the seed and the
    pool's content but not on its order.
    """
    own = task.definition.strip()
    candidates = sorted(
        {
            (other.name, other.definition)
            for other in pool
            if other.name != task.name
            and other.definition.strip()
            and other.definition.strip() != own
            and not is_sibling(task, other)
        }
    )
    if not candidates:
        return Skip(
            "irrelevant: no other task in the pool with another definition, source dataset and label set"
        )
    name, definition = rng.choice(candidates)
    changed = with_meta(
        without_meaning(dataclasses.replace(task, definition=definition)), "irrelevant_source", name
    )
    return Noted(changed, f"irrelevant: definition of {name}")


def _negate_examples(examples: tuple[Example, ...], mapping: dict[str, str], index: dict[str, str]):
    # explanations argue for the original label, so they would contradict the flipped one: dropped
    return tuple(Example(ex.input, map_output(ex.output, mapping, index), "") for ex in examples)


@definition_arm("negated", follows=True, probe="negated")
def negated(task: Task, rng: random.Random, pool: Sequence[Task]) -> Task | Skip:
    """The task's negated definition with gold labels flipped by its label map (where the task has one).

    Instance and example outputs are mapped; example explanations are dropped; the output space keeps
    its order when the map permutes it; ``negation`` is cleared so it cannot be applied twice.
    """
    if task.negation is None:
        return Skip("negated: the task provides no negated definition")
    mapping = dict(task.negation.label_map)
    labels = task.output_space.labels if task.output_space is not None else tuple(mapping)
    index = label_index((*labels, *mapping))
    instances = tuple(
        Instance(inst.id, inst.input, tuple(map_output(o, mapping, index) for o in inst.outputs))
        for inst in task.instances
    )
    space = task.output_space
    if space is not None:
        mapped = tuple(dict.fromkeys(mapping.get(label, label) for label in space.labels))
        if set(mapped) != set(space.labels):
            space = dataclasses.replace(space, labels=mapped)
    return dataclasses.replace(
        task,
        definition=task.negation.definition,
        instances=instances,
        positive_examples=_negate_examples(task.positive_examples, mapping, index),
        negative_examples=_negate_examples(task.negative_examples, mapping, index),
        output_space=space,
        negation=None,
    )
