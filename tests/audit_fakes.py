"""A deterministic fake `LanguageModel` and small task files for the audit tests.

The fake follows one kind of instruction: a definition containing ``the word after 'KEY:'`` makes it
answer the word that follows ``KEY:`` in the input. Without such a rule (simplified, empty definitions)
it answers the first label offered (rank mode: the first label also gets a mild prior bonus) or
`FALLBACK` (generation). Every number of an audit on these tasks can therefore be computed by hand.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from itprobe.decoding import Decoding
from itprobe.models.base import ChoiceScore

FALLBACK = "maybe"
_MARK = "Now complete the following example -\nInput: "
_RULE = re.compile(r"the word after '(\w+):'")


def _parts(prompt: str) -> tuple[str, str]:
    """(definition paragraph, final input) of a Tk-Instruct prompt."""
    head, _, tail = prompt.rpartition(_MARK)
    definition = head.split("\n\n", 1)[0] if head.startswith("Definition:") else ""
    return definition, tail.split("\nOutput:", 1)[0].rstrip(".")


def _answer(prompt: str) -> str:
    definition, text = _parts(prompt)
    rule = _RULE.search(definition)
    if rule is None:
        return ""
    found = re.search(rf"\b{rule.group(1)}: (\w+)", text)
    return found.group(1) if found else ""


class FakeModel:
    """The rule-following fake (see module doc); counts the prompts it saw."""

    identity = "fake-model@test"
    batch_size = 4

    def __init__(self) -> None:
        self.calls = 0

    def generate(self, prompts: Sequence[str], decoding: Decoding) -> list[str]:
        self.calls += len(prompts)
        return [(_answer(p) + ".") if _answer(p) else FALLBACK for p in prompts]

    def score_choices(
        self, prompts: Sequence[str], choices: Sequence[Sequence[str]]
    ) -> list[list[ChoiceScore]]:
        self.calls += len(prompts)
        rows = []
        for prompt, labels in zip(prompts, choices, strict=True):
            pick = _answer(prompt)
            # log-likelihoods: label i gets -1 - i/2 (a prior for the first label), +3 when it is the answer
            rows.append(
                [ChoiceScore(-1.0 - i / 2 + (3.0 if lab == pick else 0.0), 1) for i, lab in enumerate(labels)]
            )
        return rows


# gold by task; the input names the gold after the task's key and the opposite after the other key
GOLDS = {
    "alpha-task": ("token", ["yes", "no", "no", "yes", "no", "no", "yes", "no"]),
    "beta-task": ("mark", ["no", "yes", "yes", "yes", "no", "yes"]),
}


def user_rows(golds: dict[str, tuple[str, list[str]]] = GOLDS) -> list[dict[str, str]]:
    """Rows of the simple user format: one positive example and the instances of each task."""
    rows = []
    keys = [key for key, _ in golds.values()]
    for task, (key, labels) in golds.items():
        other = next(k for k in keys if k != key)
        definition = f"Answer with the word after '{key}:' in the input."
        rows.append(
            {
                "task": task,
                "definition": definition,
                "input": f"{key}: yes {other}: no",
                "output": "yes",
                "labels": "yes|no",
                "role": "positive",
            }
        )
        for i, gold in enumerate(labels):
            flip = "no" if gold == "yes" else "yes"
            rows.append(
                {
                    "task": task,
                    "definition": definition,
                    "input": f"item {i} {key}: {gold} {other}: {flip}",
                    "output": gold,
                    "labels": "yes|no",
                }
            )
    return rows


def write_user_jsonl(path: Path, rows: list[dict[str, str]] | None = None) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in (rows or user_rows())), encoding="utf-8")
    return path
