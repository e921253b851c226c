"""The ``fake:`` backend: deterministic models without weights, for tests, docs and trying the CLI.

``fake:first`` ranks the first label of every output space highest and generates the output of the
prompt's first positive demonstration. It reads that from the Tk-Instruct prompt (`itprobe.prompts`):
the text after ``Positive Example 1 -\\nInput: …\\n Output: `` up to the end of that line, as the prompt
prints it (Tk-Instruct ends a sentence with a period when the output has none, so ``yes`` is generated as
``yes.``, which the official normalisation scores as ``yes``). A prompt without demonstrations gets
`NO_DEMONSTRATION`. Label ``i`` (0-based) gets the log-likelihood ``-(i + 1)`` per label, so the ranking
is fixed and every rank-mode number of a run can be computed by hand.

More fakes are one decorated class: ``@fake_model("name")`` on a class whose instances take the full SPEC;
``--model fake:name`` then opens it (a test may register its own and `unregister_fake` it after).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from itprobe.decoding import Decoding
from itprobe.errors import UserError
from itprobe.models.backends import ModelSize, OpenSettings, model_backend
from itprobe.models.base import ChoiceScore, LanguageModel

NO_DEMONSTRATION = "none"
_FIRST_OUTPUT = re.compile(r"Positive Example 1 -\nInput: .*?\n Output: ([^\n]*)", re.DOTALL)

_FAKES: dict[str, Callable[[str], LanguageModel]] = {}
C = TypeVar("C", bound=Callable[[str], Any])


def fake_model(name: str) -> Callable[[C], C]:
    """Register a fake model factory (called with the whole SPEC) as ``fake:NAME``."""

    def decorate(factory: C) -> C:
        if name in _FAKES:
            raise ValueError(f"fake model {name!r} is already registered")
        _FAKES[name] = factory
        return factory

    return decorate


def unregister_fake(name: str) -> None:
    """Remove a fake registered with `fake_model`."""
    _FAKES.pop(name, None)


def first_demonstration_output(prompt: str) -> str | None:
    """The first positive demonstration's output line of a Tk-Instruct prompt, or None without one."""
    found = _FIRST_OUTPUT.search(prompt)
    return found.group(1) if found else None


@fake_model("first")
class FirstChoice:
    """``fake:first``: the first label ranked highest, the first demonstration's output generated."""

    batch_size = 8

    def __init__(self, spec: str) -> None:
        self.identity = spec

    def generate(self, prompts: Sequence[str], decoding: Decoding) -> list[str]:
        return [first_demonstration_output(p) or NO_DEMONSTRATION for p in prompts]

    def score_choices(
        self, prompts: Sequence[str], choices: Sequence[Sequence[str]]
    ) -> list[list[ChoiceScore]]:
        return [[ChoiceScore(-float(i + 1), 1) for i, _ in enumerate(labels)] for labels in choices]


def _factory(spec: str) -> Callable[[str], LanguageModel]:
    name = spec.removeprefix("fake:")
    if name not in _FAKES:
        raise UserError(f"unknown fake model '{spec}'; known: {', '.join(f'fake:{n}' for n in _FAKES)}")
    return _FAKES[name]


def _no_tokenizer(spec: str, trust_remote_code: bool) -> None:
    _factory(spec)  # an unknown name is an error here too
    return None


def _size(spec: str, trust_remote_code: bool) -> ModelSize:
    _factory(spec)
    return ModelSize(0, 0)  # no weights: nothing to multiply


@model_backend("fake", tokenizer=_no_tokenizer, size=_size)
def _open_fake(spec: str, settings: OpenSettings) -> LanguageModel:
    return _factory(spec)(spec)  # no tokenizer: prompts are never cut to a token budget
