"""Rank-classification kernels: log-likelihood of every label with the prompt encoded once per instance.

Causal LMs: the token prefix that a batch's prompts share (a task's definition and demonstrations) runs
once on one row; its KV cache is repeated and each prompt's own suffix continues from it. That pass returns
the logits of the last prompt position only (``logits_to_keep=1``: the full-vocabulary projection of every
prompt token is the largest avoidable cost). Those logits score each label's first token, so single-token
labels need no further work. Labels with more tokens run a second, short forward over ``label[:-1]`` on a copy of the cache
expanded to one row per label, with explicit position ids (left padding would otherwise shift them).

Seq2seq (T5): the encoder runs once per instance; its states are repeated per label and the decoder scores
each label as a target sequence (teacher forcing), without EOS, like lm-evaluation-harness.

Log-softmax is taken in fp32 whatever the model dtype.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from itprobe.models.base import ChoiceScore

# at most this many cached prompt tokens (label rows x padded prompt length) are materialised at once in the
# causal label pass; bounds memory to ~0.4 GB for a 135M model in bf16 whatever the label count
_CACHE_TOKEN_BUDGET = 16384
# below this many shared prompt tokens a separate prefix pass costs more than it saves
_MIN_SHARED_PREFIX = 16


@dataclass(frozen=True)
class Encoded:
    """One instance, tokenised: the prompt once and each label's continuation tokens."""

    prompt: tuple[int, ...]
    labels: tuple[tuple[int, ...], ...]


def _token_logprobs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """log p(target) per position, in fp32; logits [..., vocab], targets [...]."""
    return torch.log_softmax(logits.float(), dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)


def _left_pad(rows: Sequence[Sequence[int]], pad: int, device: torch.device) -> tuple[torch.Tensor, ...]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        if row:
            ids[i, width - len(row) :] = torch.tensor(row)
            mask[i, width - len(row) :] = 1
    return ids.to(device), mask.to(device)


def _right_pad(rows: Sequence[Sequence[int]], pad: int, device: torch.device) -> tuple[torch.Tensor, ...]:
    width = max(1, max(len(r) for r in rows))
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[i, : len(row)] = 1
    return ids.to(device), mask.to(device)


def _select_cache(cache: Any, index: torch.Tensor) -> Any:
    """A copy of ``cache`` whose batch rows are ``index`` (repeats allowed); ``cache`` is left intact."""
    chosen = copy.copy(cache)
    chosen.layers = [copy.copy(layer) for layer in cache.layers]
    for layer in chosen.layers:
        layer.batch_select_indices(index)  # rebinds keys/values to new tensors, originals untouched
    return chosen


def _cache_argument(model: Any) -> str:
    """transformers >= 5.x names the KV-cache argument ``cache``; older versions ``past_key_values``."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def _returned_cache(output: Any) -> Any:
    cache = output.get("cache")
    return cache if cache is not None else output.get("past_key_values")


def common_prefix_length(rows: Sequence[Sequence[int]]) -> int:
    """Length of the longest token prefix shared by all ``rows``."""
    first, n = rows[0], min(len(r) for r in rows)
    for row in rows[1:]:
        k = 0
        while k < n and row[k] == first[k]:
            k += 1
        n = k
    return n


def _prefix_cache(model: Any, prefix: Sequence[int], rows: int) -> Any:
    """The KV cache of ``prefix`` (one forward, one row), repeated for ``rows`` rows."""
    device = model.device
    ids = torch.tensor([list(prefix)], device=device)
    positions = torch.arange(len(prefix), device=device)[None]
    # logits_to_keep=1: nobody reads the prefix's logits, and the vocabulary projection is costly
    out = model(input_ids=ids, position_ids=positions, use_cache=True, logits_to_keep=1)
    return _select_cache(_returned_cache(out), torch.zeros(rows, dtype=torch.long, device=device))


def _encode_prompts(model: Any, prompts: Sequence[Sequence[int]], pad_id: int) -> tuple[Any, ...]:
    """Run the prompts; returns (last-position logits, cache, attention mask, prompt lengths).

    The prefix all prompts share (a task's definition and examples: most of a Tk-Instruct prompt) runs
    once, on one row, and its cache is repeated for the batch; each prompt's remaining suffix, left-padded,
    continues from it. Cache columns are then [shared prefix | padding | suffix]; the attention mask hides the
    padding and the explicit position ids keep every real token at its true position, so the result equals
    separate unpadded forwards (up to float rounding).
    """
    device = model.device
    shared = min(common_prefix_length(prompts), min(len(p) for p in prompts) - 1)
    cache_arg: dict[str, Any] = {}
    if len(prompts) > 1 and shared >= _MIN_SHARED_PREFIX:
        cache_arg = {_cache_argument(model): _prefix_cache(model, prompts[0][:shared], len(prompts))}
    else:
        shared = 0
    ids, mask = _left_pad([p[shared:] for p in prompts], pad_id, device)
    positions = shared + (mask.cumsum(-1) - 1).clamp(min=0)
    mask = torch.cat([torch.ones(len(prompts), shared, dtype=mask.dtype, device=device), mask], dim=-1)
    out = model(
        input_ids=ids,
        attention_mask=mask,
        position_ids=positions,
        use_cache=True,
        logits_to_keep=1,
        **cache_arg,
    )
    return out.logits[:, -1], _returned_cache(out), mask, mask.sum(-1)


def score_causal(model: Any, batch: Sequence[Encoded], pad_id: int) -> list[list[ChoiceScore]]:
    """Label log-likelihoods for a batch of instances of a causal LM."""
    last, cache, mask, lengths = _encode_prompts(model, [e.prompt for e in batch], pad_id)
    first = torch.log_softmax(last.float(), dim=-1)  # [batch, vocab]: scores each label's first token
    scores = [[0.0] * len(e.labels) for e in batch]
    rows: list[tuple[int, int]] = []  # (instance, label) needing the second pass
    for i, enc in enumerate(batch):
        for j, label in enumerate(enc.labels):
            if label:
                scores[i][j] = float(first[i, label[0]])
            if len(label) > 1:
                rows.append((i, j))
    chunk = max(1, _CACHE_TOKEN_BUDGET // mask.shape[1])
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        rest = _score_continuations(model, cache, batch, part, mask, lengths, pad_id)
        for (i, j), value in zip(part, rest, strict=True):
            scores[i][j] += value
    return [
        [ChoiceScore(scores[i][j], len(label)) for j, label in enumerate(enc.labels)]
        for i, enc in enumerate(batch)
    ]


def _score_continuations(
    model: Any,
    cache: Any,
    batch: Sequence[Encoded],
    rows: Sequence[tuple[int, int]],
    prompt_mask: torch.Tensor,
    prompt_lengths: torch.Tensor,
    pad_id: int,
) -> list[float]:
    """Sum of log p(label[t] | prompt, label[:t]) for t >= 1, one cache row per (instance, label)."""
    device = prompt_mask.device
    index = torch.tensor([i for i, _ in rows], device=device)
    labels = [batch[i].labels[j] for i, j in rows]
    inputs, label_mask = _right_pad([lab[:-1] for lab in labels], pad_id, device)
    targets, _ = _right_pad([lab[1:] for lab in labels], pad_id, device)
    positions = prompt_lengths[index].unsqueeze(-1) + torch.arange(inputs.shape[1], device=device)
    out = model(
        input_ids=inputs,
        attention_mask=torch.cat([prompt_mask[index], label_mask], dim=-1),
        position_ids=positions,
        use_cache=True,
        **{_cache_argument(model): _select_cache(cache, index)},
    )
    logp = _token_logprobs(out.logits, targets) * label_mask
    return [float(v) for v in logp.sum(-1)]


def score_seq2seq(
    model: Any, batch: Sequence[Encoded], pad_id: int, start_id: int
) -> list[list[ChoiceScore]]:
    """Label log-likelihoods for a batch of instances of an encoder-decoder; the encoder runs once each."""
    device = model.device
    ids, mask = _right_pad([e.prompt for e in batch], pad_id, device)
    encoded = model.get_encoder()(input_ids=ids, attention_mask=mask).last_hidden_state
    rows = [(i, j) for i, e in enumerate(batch) for j in range(len(e.labels))]
    index = torch.tensor([i for i, _ in rows], device=device)
    labels = [batch[i].labels[j] for i, j in rows]
    targets, target_mask = _right_pad(labels, pad_id, device)
    decoder_in, _ = _right_pad([(start_id, *lab[:-1]) for lab in labels], pad_id, device)
    decoder_mask = target_mask.clone()
    decoder_mask[:, 0] = 1  # the start token is always attended, even for an empty label
    out = model(
        encoder_outputs=(encoded[index],),
        attention_mask=mask[index],
        decoder_input_ids=decoder_in,
        decoder_attention_mask=decoder_mask,
        use_cache=False,
    )
    logp = (_token_logprobs(out.logits, targets) * target_mask).sum(-1)
    flat = iter(float(v) for v in logp)
    return [[ChoiceScore(next(flat), len(label)) for label in e.labels] for e in batch]
