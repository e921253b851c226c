"""Rule families: the unit of the generated suite.

A `Family` draws inputs of one kind (a number, a pair of words, a sentence, ...) and holds at least two
`Rule`s that label the same inputs with the same output space. Each rule becomes one task; the rules of a
family form a contrast group. ``cells`` are the label tuples (one label per rule, in rule order) that the
generator draws equally often, which makes every task label-balanced and fixes the contrast disagreement
by construction: e.g. ``(("Yes", "No"), ("No", "Yes"))`` for complementary rules (100% disagreement), or
all four Yes/No combinations for independent rules (50%).

Definitions come from a few NatInst-style templates (several phrasings per rule, chosen per seed);
explanations come from the family's ``fact`` (a rule-independent statement about the input that settles
every rule of the family).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["binary", "choice"]
Predicate = Callable[[Any], bool]
Picker = Callable[[Any], str]

# {thing}: what the input is; {cond}: the rule's condition; {yes}/{no}: the two labels.
BINARY_TEMPLATES: tuple[str, ...] = (
    'In this task, you are given {thing}. Answer "{yes}" if {cond}. Otherwise, answer "{no}".',
    'You will be shown {thing}. Decide whether {cond}. Output "{yes}" if this is true and "{no}" if it is not.',
    'Given {thing}, check whether {cond}. Your answer must be either "{yes}" (it is true) or "{no}" (it is false).',
    'Read {thing} carefully. If {cond}, respond with "{yes}"; if not, respond with "{no}".',
)
# {ask}: the rule's question; {labels}: the quoted labels joined with "or".
CHOICE_TEMPLATES: tuple[str, ...] = (
    "In this task, you are given {thing}. {ask} Answer with {labels}.",
    "You will be shown {thing}. {ask} Your answer must be {labels} and nothing else.",
    "Given {thing}, answer the following question. {ask} The answer is one of {labels}.",
    "Read {thing}. {ask} Reply with {labels}.",
)


@dataclass(frozen=True)
class Rule:
    """One labelling rule of a family.

    Attributes:
        id: short name, unique in the family (letters, digits and ``_`` only: ids use ``-`` as separator).
        text: the condition (binary families, e.g. "the number is even") or the question (choice families).
        label: maps a drawn input value to its gold label.
        negated: the negated condition/question; "" when the rule has no natural negation.
    """

    id: str
    text: str
    label: Picker
    negated: str = ""


@dataclass(frozen=True)
class Family:
    """A set of contrasting rules over one input distribution and one output space."""

    name: str
    skill: str
    kind: Kind
    thing: str
    labels: tuple[str, ...]
    rules: tuple[Rule, ...]
    cells: tuple[tuple[str, ...], ...]
    draw: Callable[[random.Random, tuple[str, ...]], Any]
    render: Callable[[Any], str]
    fact: Callable[[Any], str]

    def rule(self, rule_id: str) -> Rule:
        return next(r for r in self.rules if r.id == rule_id)

    def cell_of(self, value: Any) -> tuple[str, ...]:
        """The gold labels of a drawn value under every rule, in rule order."""
        return tuple(r.label(value) for r in self.rules)

    @property
    def has_negation(self) -> bool:
        return len(self.labels) == 2 and all(r.negated for r in self.rules)


def quoted(labels: tuple[str, ...]) -> str:
    """'"A" or "B"' / '"1", "2" or "3"'."""
    q = [f'"{label}"' for label in labels]
    return q[0] if len(q) == 1 else ", ".join(q[:-1]) + " or " + q[-1]


def definition(family: Family, text: str, template: int) -> str:
    """The definition of a rule (or of its negation) in the phrasing numbered ``template``."""
    if family.kind == "binary":
        yes, no = family.labels
        tpl = BINARY_TEMPLATES[template % len(BINARY_TEMPLATES)]
        return tpl.format(thing=family.thing, cond=text, yes=yes, no=no)
    tpl = CHOICE_TEMPLATES[template % len(CHOICE_TEMPLATES)]
    return tpl.format(thing=family.thing, ask=text, labels=quoted(family.labels))


def n_phrasings(family: Family) -> int:
    return len(BINARY_TEMPLATES if family.kind == "binary" else CHOICE_TEMPLATES)


def sentence(text: str) -> str:
    """Capitalise the first letter (facts start lower-case so that they can be embedded)."""
    return text[:1].upper() + text[1:]


def binary_rule(rule_id: str, cond: str, pred: Predicate, negated: str = "", labels=("Yes", "No")) -> Rule:
    """A yes/no rule from a predicate; ``labels`` are (label when true, label when false)."""
    yes, no = labels
    return Rule(rule_id, cond, lambda x: yes if pred(x) else no, negated)


COMPLEMENT = (("Yes", "No"), ("No", "Yes"))
INDEPENDENT = (("Yes", "Yes"), ("No", "No"), ("Yes", "No"), ("No", "Yes"))
SWAP_AB = (("A", "B"), ("B", "A"))


def complement(yes: str, no: str) -> tuple[tuple[str, str], ...]:
    return ((yes, no), (no, yes))


def independent(yes: str, no: str) -> tuple[tuple[str, str], ...]:
    # the first two cells differ on every rule, so the first two positive examples show both labels
    return ((yes, yes), (no, no), (yes, no), (no, yes))


def positions3() -> tuple[tuple[str, str], ...]:
    """All (first rule, second rule) pairs of distinct positions 1-3, ordered so cells 0-2 cover each label."""
    return (("1", "2"), ("2", "3"), ("3", "1"), ("1", "3"), ("2", "1"), ("3", "2"))
