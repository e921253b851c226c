"""Examples arms: the demonstrations, kept, removed, or made delusive (right format, wrong mapping).

Delusive demonstrations replace ``positive_examples``, so the prompt still presents them as "Positive
Example"s, which is the point: inputs and the output space stay correct, only input→output is wrong.
Their explanations are dropped, because an explanation argues for the true mapping.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from collections.abc import Sequence

from itprobe.arms.registry import Noted, Skip, examples_arm
from itprobe.metrics import normalize_answer
from itprobe.tasks.types import Example, Task


@examples_arm("gold")
def gold(task: Task, rng: random.Random, pool: Sequence[Task]) -> Task:
    """The task's own positive examples, unchanged."""
    return task


@examples_arm("delusive-negatives")
def delusive_negatives(task: Task, rng: random.Random, pool: Sequence[Task]) -> Task | Skip:
    """The task's own negative examples shown as the positive ones (and no longer as negatives).

    For a classification task only negatives whose output is a label of the output space are used, so
    the demonstrations keep the format and carry a valid but wrong label.
    """
    negatives = task.negative_examples
    if task.output_space is not None and task.is_classification:
        labels = {normalize_answer(label) for label in task.output_space.labels}
        negatives = tuple(ex for ex in negatives if normalize_answer(ex.output) in labels)
    if not negatives:
        return Skip("delusive-negatives: the task has no negative example with an in-space output")
    shown = tuple(Example(ex.input, ex.output, "") for ex in negatives)
    return dataclasses.replace(task, positive_examples=shown, negative_examples=())


def value_derangement(outputs: Sequence[str], rng: random.Random) -> list[int] | None:
    """A permutation ``p`` with ``outputs[p[i]]`` ≠ ``outputs[i]`` (normalised) for every i, or None.

    One exists iff no value fills more than half the list. Construction: lay the indices out grouped by
    value (groups and members in random order) and shift by ``s`` with ``m <= s <= n - m``, ``m`` the
    largest group: a shifted position then always lands in another group.
    """
    keys = [normalize_answer(o) for o in outputs]
    n = len(keys)
    groups: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    m = max(Counter(keys).values(), default=0)
    if n < 2 or 2 * m > n:
        return None
    order: list[int] = []
    for key in rng.sample(sorted(groups), len(groups)):
        order += rng.sample(groups[key], len(groups[key]))
    shift = rng.randint(m, n - m)
    perm = [0] * n
    for k, i in enumerate(order):
        perm[i] = order[(k + shift) % n]
    return perm


@examples_arm("delusive-permuted")
def delusive_permuted(task: Task, rng: random.Random, pool: Sequence[Task]) -> Task | Skip:
    """Outputs permuted among the positive examples so that no example keeps its own output."""
    examples = task.positive_examples
    perm = value_derangement([ex.output for ex in examples], rng)
    if perm is None:
        why = "fewer than 2 positive examples" if len(examples) < 2 else "one output fills over half of them"
        return Skip(f"delusive-permuted: no permutation changes every output ({why})")
    shown = tuple(Example(ex.input, examples[perm[i]].output, "") for i, ex in enumerate(examples))
    return dataclasses.replace(task, positive_examples=shown)


@examples_arm("delusive-wrong-label")
def delusive_wrong_label(task: Task, rng: random.Random, pool: Sequence[Task]) -> Task | Skip:
    """Each positive example's output replaced by a different label of the output space (drawn)."""
    if task.output_space is None or not task.is_classification:
        return Skip("delusive-wrong-label: the task has no output space with 2 or more labels")
    if not task.positive_examples:
        return Skip("delusive-wrong-label: the task has no positive examples")
    labels = task.output_space.labels
    shown = []
    for ex in task.positive_examples:
        wrong = [label for label in labels if normalize_answer(label) != normalize_answer(ex.output)]
        shown.append(Example(ex.input, rng.choice(wrong), ""))
    return dataclasses.replace(task, positive_examples=tuple(shown))


@examples_arm("delusive")
def delusive(task: Task, rng: random.Random, pool: Sequence[Task]) -> Noted | Skip:
    """The default delusive variant: ``wrong-label`` for classification tasks, ``permuted`` otherwise."""
    if task.is_classification:
        variant, outcome = "wrong-label", delusive_wrong_label(task, rng, pool)
    else:
        variant, outcome = "permuted", delusive_permuted(task, rng, pool)
    if isinstance(outcome, Skip):
        return outcome
    return Noted(outcome, f"delusive: variant {variant}")


@examples_arm("none")
def none(task: Task, rng: random.Random, pool: Sequence[Task]) -> Task:
    """No demonstrations at all: positive and negative examples both removed."""
    return dataclasses.replace(task, positive_examples=(), negative_examples=())
