"""Contrast consistency: is an item answered correctly under every rule of its contrast group?

Tasks that share a `Contrast.group` apply different rules (``side``) to the same inputs. An item is the
set of instances, one per side, with the same alignment key: the instance id without its ``-<side>``
suffix (the generated suite writes ``suite-<family>-<index>-<side>``; ids without the suffix are used as
they are, so tasks whose sides share ids align too). Only items present on every side of the group count.

Three reference levels come with every number (see docs/suite.md):

- ``chance``: the expected consistency of a uniform guesser over each side's output space,
  the product over sides of ``1/|labels|`` (1/4 for a binary pair).
- ``agreement`` (the *rule-blind ceiling*): the share of items whose sides have a common gold answer. Any
  strategy that ignores the rule (it answers an input the same way whatever the instruction says: a
  format-only model, a constant, a majority or an input-only classifier) is correct on every side only
  where the golds agree, so its consistency is at most ``agreement`` (0 for complementary pairs such as
  even/odd, 1/2 for independent pairs such as divisible-by-3 / divisible-by-5).
- ``input_blind`` (the *input-blind ceiling*): the best consistency of one constant answer per side, i.e.
  the share of items in the most frequent combination of gold answers across the sides. A strategy that
  ignores the input but tells the sides apart (it learned each task's usual answer from its
  demonstrations or label prior, not the rule) reaches it, and it can exceed ``agreement`` (1/2 for a
  balanced complementary pair, where ``agreement`` is 0). Consistency at or below it does not show that
  the model applies the rule to the input.

Correctness is exact match after `itprobe.metrics.normalize_answer` against the prediction's own
references, so label arms that rewrite gold outputs are respected.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from itertools import product
from math import prod
from typing import Any

from itprobe.metrics import normalize_answer
from itprobe.records import Prediction, alignment_key
from itprobe.tasks.types import Task


@dataclass(frozen=True)
class GroupConsistency:
    """Contrast consistency of one group (or of all groups, ``group == "overall"``).

    Attributes:
        n_items: aligned items (present on every side).
        n_consistent: items answered correctly on every side.
        consistency: ``n_consistent / n_items`` (0.0 when there are no items).
        side_accuracy: (side, accuracy on the aligned items) pairs; empty for "overall".
        chance: expected consistency of a uniform guesser; None when a side has no output space.
        agreement: share of items whose sides share a gold answer: the ceiling of rule-blind strategies.
        input_blind: share of items in the most frequent combination of golds across the sides: the best
            a constant answer per side can do (the ceiling of input-blind strategies).
    """

    group: str
    n_items: int
    n_consistent: int
    consistency: float
    side_accuracy: tuple[tuple[str, float], ...]
    chance: float | None
    agreement: float
    input_blind: float


@dataclass(frozen=True)
class ContrastReport:
    """Per-group and overall (item-weighted) contrast consistency."""

    overall: GroupConsistency
    groups: tuple[GroupConsistency, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (side accuracies as mappings)."""

        def row(g: GroupConsistency) -> dict[str, Any]:
            return {**asdict(g), "side_accuracy": dict(g.side_accuracy)}

        return {"overall": row(self.overall), "groups": {g.group: row(g) for g in self.groups}}


def _correct(pred: Prediction) -> bool:
    return normalize_answer(pred.prediction) in {normalize_answer(r) for r in pred.references}


def _group(group: str, sides: dict[str, dict[str, Prediction]], n_labels: dict[str, int]) -> GroupConsistency:
    names = sorted(sides)
    keys = sorted(set.intersection(*(set(sides[s]) for s in names)))
    consistent = agree = 0
    hits = dict.fromkeys(names, 0)
    # per combination of one constant answer per side, the items it gets right on every side
    constants: Counter[tuple[str, ...]] = Counter()
    for key in keys:
        preds = [sides[s][key] for s in names]
        ok = [_correct(p) for p in preds]
        for side, good in zip(names, ok, strict=True):
            hits[side] += good
        consistent += all(ok)
        refs = [{normalize_answer(r) for r in p.references} for p in preds]
        agree += bool(set.intersection(*refs))
        constants.update(product(*(sorted(r) for r in refs)))
    n = len(keys)
    chance = prod(1 / n_labels[s] for s in names) if all(n_labels.get(s) for s in names) else None
    return GroupConsistency(
        group=group,
        n_items=n,
        n_consistent=consistent,
        consistency=consistent / n if n else 0.0,
        side_accuracy=tuple((s, hits[s] / n if n else 0.0) for s in names),
        chance=chance,
        agreement=agree / n if n else 0.0,
        input_blind=max(constants.values(), default=0) / n if n else 0.0,
    )


def _overall(groups: Sequence[GroupConsistency]) -> GroupConsistency:
    n = sum(g.n_items for g in groups)
    consistent = sum(g.n_consistent for g in groups)
    known = all(g.chance is not None for g in groups)
    chance = sum(g.chance * g.n_items for g in groups if g.chance is not None) / n if n and known else None
    agreement = sum(g.agreement * g.n_items for g in groups) / n if n else 0.0
    input_blind = sum(g.input_blind * g.n_items for g in groups) / n if n else 0.0
    return GroupConsistency(
        "overall", n, consistent, consistent / n if n else 0.0, (), chance, agreement, input_blind
    )


def contrast_consistency(preds: Iterable[Prediction], tasks: Iterable[Task]) -> ContrastReport:
    """Contrast consistency of predictions, per contrast group and overall.

    Args:
        preds: predictions (``task`` = task name, ``id`` = instance id); others are ignored.
        tasks: the tasks predicted on; only those with a `Contrast` count.

    Returns:
        A report over the groups with at least two sides among the predictions, sorted by group name.
    """
    with_contrast = [t for t in tasks if t.contrast is not None]
    contrast = {t.name: t.contrast for t in with_contrast}
    # the output space size per side: the task's declared space, else the labels a rank prediction carries
    n_labels = {
        (t.contrast.group, t.contrast.side): len(t.output_space.labels)
        for t in with_contrast
        if t.contrast is not None and t.output_space is not None
    }
    by_group: dict[str, dict[str, dict[str, Prediction]]] = defaultdict(lambda: defaultdict(dict))
    for p in preds:
        c = contrast.get(p.task)
        if c is not None:
            by_group[c.group][c.side][alignment_key(p.id, c.side)] = p
            if p.labels:
                n_labels.setdefault((c.group, c.side), len(p.labels))
    groups = tuple(
        _group(g, by_group[g], {s: n_labels.get((g, s), 0) for s in by_group[g]})
        for g in sorted(by_group)
        if len(by_group[g]) >= 2
    )
    return ContrastReport(_overall(groups), groups)
