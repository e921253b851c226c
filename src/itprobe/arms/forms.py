"""The output-form rule behind the ``simplified`` definition of a generation task.

Kung & Peng keep only the output space of an instruction. A generation task has no label set, so the
simplified definition states only the coarse *form* of the output, picked from a fixed set of sentences
by statistics of the task's demonstrations: the outputs of its positive examples. Never from the words
of the definition (no topic word can leak), and never from the instances: the text is then one per task,
the same at every training size (training samples instances, not demonstrations) and never computed from
test references.

=========================  ===================================================================
form                       rule (first match wins; "most" = at least `SHARE` of the outputs)
=========================  ===================================================================
``none``                   the task has no positive example with a non-empty output
``number``                 most outputs are one number ("42", "-3.5", "1,200", "75%")
``number-list``            most outputs are lists of two or more numbers ("1, 4, 7", "[2, 3]")
``word-from-input``        most outputs (outer punctuation stripped) are found verbatim in their example's
                           input, median 1 word
``span-from-input``        the same, median longer than 1 word
``word``                   median output length 1 word
``short-phrase``           median length at most `SHORT_PHRASE_WORDS` words
``sentence``               median number of sentences 1
``sentences``              otherwise
=========================  ===================================================================
"""

from __future__ import annotations

import re
import statistics
import string
from collections.abc import Sequence
from typing import Literal

from itprobe.tasks.types import Task

Form = Literal[
    "none",
    "number",
    "number-list",
    "word-from-input",
    "span-from-input",
    "word",
    "short-phrase",
    "sentence",
    "sentences",
]

FORM_TEXT: dict[Form, str] = {
    "none": "Output a text.",
    "number": "Output a number.",
    "number-list": "Output a list of numbers.",
    "word-from-input": "Output a word from the input.",
    "span-from-input": "Output a span of text from the input.",
    "word": "Output a word.",
    "short-phrase": "Output a short phrase.",
    "sentence": "Output a sentence.",
    "sentences": "Output one or more sentences.",
}

SHARE = 0.9
SHORT_PHRASE_WORDS = 5
# thousands separators only in groups of three, so "1,200" is a number and "1,4,7" a list
_NUMBER = r"[-+]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)%?"
_NUMBER_RE = re.compile(rf"{_NUMBER}")
_NUMBER_LIST_RE = re.compile(rf"\[?\s*{_NUMBER}(?:\s*[,;]?\s+{_NUMBER}|\s*[,;]\s*{_NUMBER})+\s*\]?")
_SENTENCE_END = re.compile(r"[.!?]+(?:\s|$)")


def _share(flags: Sequence[bool]) -> float:
    return sum(flags) / len(flags) if flags else 0.0


def _sentences(text: str) -> int:
    return max(1, len(_SENTENCE_END.findall(text.strip())))


def output_form(task: Task) -> Form:
    """The coarse output form of ``task``, from its positive examples' outputs (see the module doc)."""
    shown = [(ex.input, ex.output.strip()) for ex in task.positive_examples if ex.output.strip()]
    refs = [out for _, out in shown]
    if not refs:
        return "none"
    if _share([bool(_NUMBER_RE.fullmatch(r)) for r in refs]) >= SHARE:
        return "number"
    if _share([bool(_NUMBER_LIST_RE.fullmatch(r)) for r in refs]) >= SHARE:
        return "number-list"
    median_words = statistics.median(len(r.split()) for r in refs)
    # "pollution." counts as taken from an input that says "pollution": the final period is the example's
    quoted = [out.strip(string.punctuation + " ").lower() for _, out in shown]
    if _share([bool(q) and q in inp.lower() for q, (inp, _) in zip(quoted, shown, strict=True)]) >= SHARE:
        return "word-from-input" if median_words <= 1 else "span-from-input"
    if median_words <= 1:
        return "word"
    if median_words <= SHORT_PHRASE_WORDS:
        return "short-phrase"
    return "sentence" if statistics.median(_sentences(r) for r in refs) <= 1 else "sentences"
