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
from itprobe.tasks.types import Example, Task


@examples_arm("gold")
def gold(task: Task, rng: random.Random, pool: Sequence[Task]) -> Task:
    """The task's own positive examples, unchanged."""
    return task


def answer_key(text: str) -> str:
    """What an answer says, with case, punctuation (brackets included), spacing and symbols stripped.

    Two outputs with the same key are one answer for the delusive arms: "(A)", "a." and "A" are all "a",
    "New-York" and "new york" are "newyork". Coarser than the official normalisation (which keeps
    non-ASCII punctuation and word breaks), so a demonstration that only *looks* different from the gold is
    never shown as a wrong one.
    """
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def _label_spellings(task: Task) -> set[str]:
    """The exact spellings the task uses for its labels (output space, gold outputs, positive examples)."""
    assert task.output_space is not None
    keys = {answer_key(label) for label in task.output_space.labels}
    written = [*task.output_space.labels, *(ex.output for ex in task.positive_examples)]
    written += [o for inst in task.instances for o in inst.outputs]
    return {text.strip() for text in written if answer_key(text) in keys}


def usable_negatives(task: Task) -> tuple[Example, ...]:
    """The negative examples whose error is known to be in the input→output mapping, not in the format.

    A negative's gold is known when a positive example has the same input; it is then usable only if its
    output is a different answer (`answer_key`). When the gold is unknown, a classification negative is
    usable only if its output is spelled exactly as the task spells one of its labels: its format is then
    right, so what is wrong is the label. A generation negative with an unknown gold is never used, since
    its error may be in the format alone ("paris!" for "Paris"). Only the task's demonstrations are
    consulted, never its instances, so the choice is the same at every training size.
    """
    gold: dict[str, set[str]] = {}
    for ex in task.positive_examples:
        gold.setdefault(ex.input.strip(), set()).add(answer_key(ex.output))
    spellings = _label_spellings(task) if task.is_classification else set()
    kept = []
    for ex in task.negative_examples:
        known = gold.get(ex.input.strip())
        if task.is_classification and ex.output.strip() not in spellings:
            continue
        if known is not None and answer_key(ex.output) in known:
            continue
        if known is None and not task.is_classification:
            continue
        kept.append(ex)
    return tuple(kept)


@examples_arm("delusive-negatives")
def delusive_negatives(task: Task, rng: random.Random, pool: Sequence[Task]) -> Task | Skip:
    """The task's own negative examples shown as the positive ones (and no longer as negatives).

    Only negatives that are known to pair an input with a wrong answer in the right format are used
    (`usable_negatives`); the task is skipped when none is.
    """
    negatives = usable_negatives(task)
    if not negatives:
        return Skip(
            "delusive-negatives: no negative example is known to be wrong in its answer, not its format"
        )
    shown = tuple(Example(ex.input, ex.output, "") for ex in negatives)
    return dataclasses.replace(task, positive_examples=shown, negative_examples=())


def value_derangement(outputs: Sequence[str], rng: random.Random) -> list[int] | None:
    """A permutation ``p`` with ``outputs[p[i]]`` ≠ ``outputs[i]`` (as answers, `answer_key`) for every i.

    One exists iff no value fills more than half the list. Construction: lay the indices out grouped by
    value (groups and members in random order) and shift by ``s`` with ``m <= s <= n - m``, ``m`` the
    largest group: a shifted position then always lands in another group. None when no such permutation
    exists.
    """
    keys = [answer_key(o) for o in outputs]
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
        wrong = [label for label in labels if answer_key(label) != answer_key(ex.output)]
        if not wrong:
            return Skip("delusive-wrong-label: every label is the same answer as an example's output")
        shown.append(Example(ex.input, rng.choice(wrong), ""))
    return dataclasses.replace(task, positive_examples=tuple(shown))


@examples_arm("delusive", probe="delusive")
def delusive(task: Task, rng: random.Random, pool: Sequence[Task]) -> Noted | Skip:
    """The default delusive variant: ``wrong-label`` for classification tasks, ``permuted`` otherwise."""
    if task.is_classification:
        variant, outcome = "wrong-label", delusive_wrong_label(task, rng, pool)
    else:
        variant, outcome = "permuted", delusive_permuted(task, rng, pool)
    if isinstance(outcome, Skip):
        return outcome
    return Noted(outcome, f"delusive: variant {variant}")


@examples_arm("none", probe="no-examples")
def none(task: Task, rng: random.Random, pool: Sequence[Task]) -> Task:
    """No demonstrations at all: positive and negative examples both removed."""
    return dataclasses.replace(task, positive_examples=(), negative_examples=())
