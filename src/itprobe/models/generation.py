"""Greedy generation for causal LMs with each task's prompt prefix computed once per batch.

`greedy_causal` encodes a batch of prompts exactly as rank classification does
(`itprobe.models.prefix.encode_prompts`: the definition and demonstrations that a task's prompts share run
once on one row, each instance's own suffix on the repeated cache) and then decodes with the KV cache, one
token per row and step, with explicit position ids. The stop rule is transformers' greedy ``generate`` with
the `itprobe.decoding` criterion: a row stops at an EOS id (``generation_config.eos_token_id``, an id or a
list), once `itprobe.decoding.stop_reached` holds for its decoded new text, or after ``max_new_tokens``; the
token that stopped it is kept. Rows that stop leave the batch (their cache rows are dropped), and the batch
ends when no row is left. Greedy means the arg-max of the raw logits: no logits processor of the model's
generation config (repetition penalty, suppressed tokens, ...) applies.

In fp32 the tokens equal those of transformers' ``generate`` on the same prompts (tests: tiny Llama and tiny
Gemma 3 with a sliding window shorter than the prompts, batch sizes 1, 4 and 8; the packaged SmolLM2).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from itprobe.decoding import stop_reached
from itprobe.models.prefix import cache_argument, encode_prompts, returned_cache


@dataclass(frozen=True)
class StopRule:
    """When a row stops: EOS ids, stop sequences (`itprobe.decoding.stop_reached`), the new-token cap."""

    max_new_tokens: int
    stop: tuple[str, ...] = ()
    eos: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError("max_new_tokens must be >= 1")

    def done(self, tokens: Sequence[int], decode: Callable[[Sequence[int]], str]) -> bool:
        """Whether a row whose new tokens are ``tokens`` has stopped."""
        if len(tokens) >= self.max_new_tokens or tokens[-1] in self.eos:
            return True
        return bool(self.stop) and stop_reached(decode(tokens), self.stop)


def eos_ids(model: Any, tokenizer: Any) -> frozenset[int]:
    """The EOS ids greedy decoding stops at, as transformers' ``generate`` reads them."""
    eos = getattr(model.generation_config, "eos_token_id", None)
    if eos is None:
        eos = tokenizer.eos_token_id
    ids = eos if isinstance(eos, (list, tuple)) else [eos]
    return frozenset(int(i) for i in ids if i is not None)


def greedy_causal(
    model: Any,
    prompts: Sequence[Sequence[int]],
    pad_id: int,
    rule: StopRule,
    decode: Callable[[Sequence[int]], str],
) -> list[list[int]]:
    """The new tokens of each prompt's greedy continuation (see the module docstring for the rule).

    Args:
        model: a transformers causal LM (KV cache, ``logits_to_keep``, explicit ``position_ids``).
        prompts: token ids, one non-empty sequence per row; rows of one task share a long prefix.
        pad_id: the id the padding columns hold (masked, never attended to).
        rule: when a row stops.
        decode: token ids to text as the stop sequences are matched (special tokens skipped).
    """
    logits, cache, mask, lengths = encode_prompts(model, prompts, pad_id)
    device = mask.device
    new: list[list[int]] = [[] for _ in prompts]
    running = list(range(len(prompts)))  # batch row r decodes prompt running[r]
    cache_arg = cache_argument(model)
    while True:
        chosen = logits.float().argmax(-1).tolist()
        keep = []
        for row, (i, token) in enumerate(zip(running, chosen, strict=True)):
            new[i].append(token)
            if not rule.done(new[i], decode):
                keep.append(row)
        if not keep:
            return new
        if len(keep) < len(running):  # drop finished rows: later steps cost only the running ones
            index = torch.tensor(keep, device=device)
            for layer in cache.layers:
                layer.batch_select_indices(index)
            mask, lengths = mask[index], lengths[index]
            running, chosen = [running[r] for r in keep], [chosen[r] for r in keep]
        step = len(new[running[0]])  # every running row has as many new tokens
        mask = torch.cat([mask, torch.ones(len(running), 1, dtype=mask.dtype, device=device)], dim=-1)
        out = model(
            input_ids=torch.tensor(chosen, device=device)[:, None],
            attention_mask=mask,
            position_ids=(lengths + step - 1)[:, None],
            use_cache=True,
            logits_to_keep=1,
            **{cache_arg: cache},
        )
        logits, cache = out.logits[:, -1], returned_cache(out)
