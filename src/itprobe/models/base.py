"""The interface every model adapter implements (causal and seq2seq alike)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from itprobe.decoding import Decoding
from itprobe.errors import UserError


@dataclass(frozen=True)
class ChoiceScore:
    """Log-likelihood of one continuation (a label) given a prompt."""

    logprob: float  # sum over the continuation's tokens, natural log
    n_tokens: int

    @property
    def mean_logprob(self) -> float:
        return self.logprob / max(self.n_tokens, 1)


class NonFiniteOutput(UserError):
    """A model's scores for the prompt at ``row`` of one call were NaN or infinite (broken or diverged
    weights, an fp16 overflow); the caller names the instance (`itprobe.predict`)."""

    def __init__(self, row: int, what: str = "logits") -> None:
        self.row, self.what = row, what
        super().__init__(f"the model's {what} are not finite")


class LanguageModel(Protocol):
    """What the evaluation engine and the trainer need from a model."""

    @property
    def identity(self) -> str:
        """A stable string naming these exact weights (id/path plus weights hash or revision)."""
        ...

    def generate(self, prompts: Sequence[str], decoding: Decoding) -> list[str]:
        """Greedy continuation of each prompt, decoded without special tokens and not stripped.

        A row stops at EOS, after ``decoding.max_new_tokens``, or once `itprobe.decoding.stop_reached` holds
        for its text and ``decoding.stop`` (the returned text then ends with the tokens that completed the
        stop sequence). The caller's `Decoding` arrives whole, protocol name included.
        """
        ...

    def score_choices(
        self, prompts: Sequence[str], choices: Sequence[Sequence[str]]
    ) -> list[list[ChoiceScore]]:
        """Log-likelihood of each choice after its prompt; the prompt is encoded once per instance."""
        ...


def rank_unavailable(model: object) -> str | None:
    """Why ``model`` cannot score labels (a served model whose server gives no prompt log-probs), or None.

    Local models always can; a model may say otherwise with a ``rank_unavailable()`` method.
    """
    check = getattr(model, "rank_unavailable", None)
    return check() if callable(check) else None


def tokenizer_of(model: object) -> Any | None:
    """The tokenizer that sizes prompts for ``model`` (their token budget), or None where it has none: a
    fake, a served model without ``--api-tokenizer``. In-process and served models hold it as ``tokenizer``
    (`itprobe.models.hf.HFLanguageModel` the one of its `itprobe.models.LoadedModel`); a wrapper that
    passes attributes through to the model it wraps (the audit's format-spread probe) has it too."""
    return getattr(model, "tokenizer", None)
