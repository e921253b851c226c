"""Small text helpers shared by the arms: word sets, label lookup, label-mention rewriting, meta edits."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping

from itprobe.metrics import normalize_answer
from itprobe.tasks.types import Task

_WORD = re.compile(r"\w+")
_QUOTES = {"'": "'", '"': '"', "`": "`", "\u2018": "\u2019", "\u201c": "\u201d"}
# Labels that are also everyday English words: an unquoted lower-case mention is far more often the word
# ("there is no evidence") than the label, so such mentions are rewritten only when quoted or capitalised
# mid-sentence ("answer Yes or No").
AMBIGUOUS_LABELS = frozenset(
    [
        "a",
        "all",
        "an",
        "and",
        "both",
        "either",
        "i",
        "in",
        "is",
        "it",
        "neither",
        "no",
        "none",
        "not",
        "of",
        "on",
        "one",
        "or",
        "other",
        "some",
        "the",
        "to",
        "two",
    ]
)


def words(text: str) -> set[str]:
    """The lower-cased word tokens of ``text``."""
    return {w.lower() for w in _WORD.findall(text)}


def task_words(task: Task) -> set[str]:
    """Every word the task shows or scores: instruction, examples, instances, negation."""
    texts: list[str] = [task.definition]
    for ex in (*task.positive_examples, *task.negative_examples):
        texts += [ex.input, ex.output, ex.explanation]
    for inst in task.instances:
        texts += [inst.input, *inst.outputs]
    if task.negation is not None:
        texts.append(task.negation.definition)
    if task.output_space is not None:
        texts += task.output_space.labels
    return set().union(*(words(t) for t in texts))


def label_index(labels: Iterable[str]) -> dict[str, str]:
    """Normalised spelling → label, for matching outputs such as "Yes." against the label "yes"."""
    index: dict[str, str] = {}
    for label in labels:
        index.setdefault(normalize_answer(label), label)
    return index


def map_output(output: str, mapping: Mapping[str, str], index: Mapping[str, str]) -> str:
    """``output`` mapped through ``mapping`` if it is (a spelling of) a label; unchanged otherwise."""
    label = index.get(normalize_answer(output))
    return mapping.get(label, output) if label is not None else output


def _is_label_mention(text: str, start: int, end: int, label: str) -> bool:
    before, after = text[start - 1 : start], text[end : end + 1]
    if before in _QUOTES and after == _QUOTES[before]:
        return True
    if label.lower() not in AMBIGUOUS_LABELS:
        return True
    prefix = text[:start].rstrip()
    sentence_start = not prefix or prefix[-1] in ".!?:\n"
    return text[start].isupper() and not sentence_start


def rewrite_labels(text: str, mapping: Mapping[str, str]) -> str:
    """Replace whole-word mentions of the labels in ``mapping`` (case-insensitive), all at once.

    Simultaneous replacement matters for swaps (yes→no, no→yes). Longer labels win over their prefixes
    ("not sure" before "not"). See `AMBIGUOUS_LABELS` for the words rewritten only when clearly labels.
    """
    if not mapping:
        return text
    by_lower = {label.lower(): new for label, new in mapping.items()}
    alternatives = "|".join(re.escape(label) for label in sorted(by_lower, key=len, reverse=True))
    pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)

    def replace(match: re.Match[str]) -> str:
        found = match.group(0)
        if _is_label_mention(text, match.start(), match.end(), found):
            return by_lower[found.lower()]
        return found

    return pattern.sub(replace, text)


def with_meta(task: Task, key: str, value: str) -> Task:
    """``task`` with ``meta[key] = value`` (replacing an earlier value under the same key)."""
    meta = tuple((k, v) for k, v in task.meta if k != key) + ((key, value),)
    return dataclasses.replace(task, meta=meta)


def meta_value(task: Task, key: str) -> str | None:
    """``meta[key]`` or None."""
    return dict(task.meta).get(key)
