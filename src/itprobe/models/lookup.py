"""Prompt-lookup drafts for greedy decoding: guess a row's next tokens from where its last tokens already
occurred in its own prompt or output (Saxena 2023; transformers' ``prompt_lookup_num_tokens``).

Classification answers repeat a label the prompt spells out (in the definition and after each demonstration's
"Output:"), and a model that drifts into free text often copies the input; either way the continuation of the
last n-gram's latest earlier occurrence is a good guess. The guess only decides how many tokens a decode step
feeds: the model checks it and keeps the prefix that equals its own arg-max, so the output is greedy's.
transformers offers this for one row at a time only, and this decoder pools rows of many prompts.
"""

from __future__ import annotations

from collections.abc import Sequence


class PromptLookup:
    """One row's tokens (prompt, then its new tokens) indexed by n-gram, for `draft`."""

    def __init__(self, prompt: Sequence[int], max_ngram: int = 3) -> None:
        self.tokens: list[int] = []
        self._max_ngram = max_ngram
        # _follows[n - 1][ngram] = index of the token after the ngram's latest occurrence that has one
        self._follows: list[dict[tuple[int, ...], int]] = [{} for _ in range(max_ngram)]
        self.extend(prompt)

    def extend(self, tokens: Sequence[int]) -> None:
        for token in tokens:
            end = len(self.tokens)
            self.tokens.append(token)
            for n in range(1, min(self._max_ngram, end) + 1):
                self._follows[n - 1][tuple(self.tokens[end - n : end])] = end

    def draft(self, limit: int) -> list[int]:
        """Up to ``limit`` tokens that followed the longest n-gram ending the tokens (latest occurrence)."""
        if limit < 1:
            return []
        for n in range(min(self._max_ngram, len(self.tokens)), 0, -1):
            start = self._follows[n - 1].get(tuple(self.tokens[-n:]))
            if start is not None:
                return self.tokens[start : start + limit]
        return []
