"""The prompt/label boundary of a causal LM, as token ids: one rule for every engine that scores labels.

Trailing whitespace moves from the prompt to the label (see `itprobe.models.hf` for why): the prompt is
tokenised right-stripped, and a label's tokens are those of ``prompt + label`` beyond the prompt's tokens,
or, should the two tokenisations not share that prefix, the tokens of ``moved whitespace + label`` alone.
The local engine (`itprobe.models.hf.HFLanguageModel`) and the served one (`itprobe.models.served`) both
call these functions, so a served model's rank scores are those of the same token sequences.

Imports nothing heavy: a tokenizer object is passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Ids = tuple[int, ...]


def encode(tokenizer: Any, text: str, special: bool = True) -> Ids:
    """Token ids of ``text`` (with the tokenizer's special tokens, e.g. BOS, unless ``special`` is False)."""
    return tuple(tokenizer(text, add_special_tokens=special)["input_ids"])


def causal_prompt_ids(tokenizer: Any, prompt: str) -> Ids:
    """The right-stripped prompt's ids; an empty prompt becomes one BOS (else EOS) token, so that there is a
    position whose logits predict the first label token."""
    ids = encode(tokenizer, prompt.rstrip())
    return ids or (tokenizer.bos_token_id or tokenizer.eos_token_id,)


def causal_choice_ids(tokenizer: Any, prompt: str, choices: Sequence[str]) -> tuple[Ids, tuple[Ids, ...]]:
    """(prompt ids, each choice's continuation ids) under the boundary rule of the module doc."""
    context = prompt.rstrip()
    moved = prompt[len(context) :]
    ctx_ids = causal_prompt_ids(tokenizer, prompt)
    labels = []
    for choice in choices:
        whole = encode(tokenizer, context + moved + choice)
        if whole[: len(ctx_ids)] == ctx_ids:
            labels.append(whole[len(ctx_ids) :])
        else:
            labels.append(encode(tokenizer, moved + choice, special=False))
    return ctx_ids, tuple(labels)
