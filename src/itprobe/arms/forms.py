"""The output-form rule behind the ``simplified`` definition of a generation task.

Kung & Peng keep only the output space of an instruction. A generation task has no label set, so the
simplified definition states only the coarse *form* of the output, picked from a fixed set of sentences
by statistics of the references (never from the words of the definition, so no topic word can leak):

=========================  ===================================================================
form                       rule (first match wins; "most" = at least `SHARE` of the references)
=========================  ===================================================================
``none``                   the task has no references at all
``number``                 most references are one number ("42", "-3.5", "1,200", "75%")
``number-list``            most references are lists of two or more numbers ("1, 4, 7", "[2, 3]")
``word-from-input``        most instances have a reference found verbatim in their input, median 1 word
``span-from-input``        the same, median longer than 1 word
``word``                   median reference length 1 word
``short-phrase``           median length at most `SHORT_PHRASE_WORDS` words
``sentence``               median number of sentences 1
``sentences``              otherwise
=========================  ===================================================================
"""

from __future__ import annotations

import re
import statistics
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
    """The coarse output form of ``task``, from its instance references and positive-example outputs."""
    refs = [r.strip() for inst in task.instances for r in inst.outputs]
    refs += [ex.output.strip() for ex in task.positive_examples]
    refs = [r for r in refs if r]
    if not refs:
        return "none"
    if _share([bool(_NUMBER_RE.fullmatch(r)) for r in refs]) >= SHARE:
        return "number"
    if _share([bool(_NUMBER_LIST_RE.fullmatch(r)) for r in refs]) >= SHARE:
        return "number-list"
    median_words = statistics.median(len(r.split()) for r in refs)
    from_input = [
        any(r.strip() and r.strip().lower() in inst.input.lower() for r in inst.outputs)
        for inst in task.instances
    ]
    if from_input and _share(from_input) >= SHARE:
        return "word-from-input" if median_words <= 1 else "span-from-input"
    if median_words <= 1:
        return "word"
    if median_words <= SHORT_PHRASE_WORDS:
        return "short-phrase"
    return "sentence" if statistics.median(_sentences(r) for r in refs) <= 1 else "sentences"
