"""Shared-prefix prompt encoding for causal LMs: what rank scoring and greedy generation both start from.

`encode_prompts` runs a batch of prompts and returns the logits of each prompt's last token, the KV cache and
the attention mask, computing the prefix the prompts share (a task's definition and demonstrations, 60-80%
of a Tk-Instruct prompt) once:

1. **Prefix pass**: the shared prefix on one row; its cache is repeated for the rows.
2. **Suffix passes**: each prompt's own tokens, right-padded, on the repeated cache, so that every real token
   sits in the cache column equal to its position. The rows run in groups of similar suffix length
   (`length_groups`): one padded pass over suffixes of 9 to 24 tokens wastes little, one over 130 to 486
   tokens wastes most of its work. The only logits computed are each row's at its last real token
   (``logits_to_keep`` with one column per row: the full-vocabulary projection of every prompt token is the
   largest avoidable cost); the padding comes after that token, so they equal an unpadded forward's.
3. Each group's cache is **left-aligned** (a row's padding columns moved to the front) and the groups are
   merged, so that every row reads ``[padding | its prompt]`` like a left-padded batch. This keeps windowed
   attention exact: a sliding-window layer (Gemma 3) counts its window in cache columns, so padding between
   real tokens would shorten it. The cache holds full-attention layers only, whatever the model (a
   sliding-window cache layer would drop columns the alignment still moves).

A batch costs one prefix pass and one pass per length group; the prompts' last tokens need no pass of their
own (that pass read every weight once more for a column of tokens).

Explicit position ids keep every real token at its true position and the attention mask hides the padding, so
the result equals separate unpadded forwards up to float rounding; the next token of row ``i`` goes at
position ``lengths[i]`` (label scoring and decoding append columns on the right).
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Sequence
from typing import Any, NamedTuple

import torch

# below this many shared prompt tokens a separate prefix pass costs more than it saves
_MIN_SHARED_PREFIX = 16
# a forward pass's fixed cost in tokens' worth of work (the weights are read once per pass, Python runs per
# layer): a suffix group is split when that costs less than the padding it saves
_PASS_OVERHEAD = 24


class PromptCache(NamedTuple):
    """A batch of prompts after `encode_prompts`."""

    logits: torch.Tensor  # [rows, vocab]: next-token logits after each prompt
    cache: Any  # KV cache, one row per prompt, columns [padding | prompt]
    mask: torch.Tensor  # [rows, columns]: 1 on real tokens
    lengths: torch.Tensor  # [rows]: prompt lengths, i.e. the position of each row's next token


def right_pad(rows: Sequence[Sequence[int]], pad: int, device: torch.device) -> tuple[torch.Tensor, ...]:
    """Token rows padded on the right to one width (at least 1); returns (ids, mask)."""
    width = max(1, max(len(r) for r in rows))
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[i, : len(row)] = 1
    return ids.to(device), mask.to(device)


def select_cache(cache: Any, index: torch.Tensor) -> Any:
    """A copy of ``cache`` whose batch rows are ``index`` (repeats allowed); ``cache`` is left intact."""
    chosen = copy.copy(cache)
    chosen.layers = [copy.copy(layer) for layer in cache.layers]
    for layer in chosen.layers:
        layer.batch_select_indices(index)  # rebinds keys/values to new tensors, originals untouched
    return chosen


def cache_argument(model: Any) -> str:
    """transformers >= 5.x names the KV-cache argument ``cache``; older versions ``past_key_values``."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def returned_cache(output: Any) -> Any:
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


def length_groups(lengths: Sequence[int], overhead: int = _PASS_OVERHEAD) -> list[list[int]]:
    """Row indices in groups that run as one padded pass each, longest first within a group.

    The groups are runs of the rows sorted by length that minimise ``sum(len(g) * max(g) + overhead)``
    (dynamic programming): padding costs its tokens, another pass ``overhead`` tokens. The vocabulary
    projection is left out: `encode_prompts` computes one column of it per row, however the rows are grouped.
    Rows of length 0 form one group of their own (they need no pass).
    """
    order = sorted((i for i in range(len(lengths)) if lengths[i] > 0), key=lambda i: (-lengths[i], i))
    best = [0] + [float("inf")] * len(order)  # best[j]: cheapest split of order[:j]
    start = [0] * (len(order) + 1)
    for j in range(1, len(order) + 1):
        for i in range(j):  # last group order[i:j], padded to the length of order[i]
            cost = best[i] + (j - i) * lengths[order[i]] + overhead
            if cost < best[j]:
                best[j], start[j] = cost, i
    groups, j = [], len(order)
    while j > 0:
        groups.append(order[start[j] : j])
        j = start[j]
    empty = [i for i in range(len(lengths)) if lengths[i] == 0]
    return groups[::-1] + ([empty] if empty else [])


def _fresh_cache() -> Any:
    """An empty KV cache of full-attention layers (see the module docstring for why never sliding ones)."""
    from transformers import DynamicCache

    return DynamicCache()


def _left_align(cache: Any, mask: torch.Tensor) -> torch.Tensor:
    """Move each row's padding columns to the front of ``cache`` (in place) and of ``mask`` (returned);
    real columns keep their order, so each row's real tokens end up contiguous and flush right."""
    order = torch.sort(mask, dim=1, stable=True).indices  # zeros (padding) first, both groups in order
    for layer in cache.layers:
        for name in ("keys", "values"):
            states = getattr(layer, name)
            index = order[:, None, :, None].expand(-1, states.shape[1], -1, states.shape[3])
            setattr(layer, name, states.gather(2, index))
    return mask.gather(1, order)


class _Part(NamedTuple):
    rows: list[int]
    cache: Any
    mask: torch.Tensor


def _merge(parts: list[_Part], rows: int) -> tuple[Any, torch.Tensor]:
    """One cache and mask for all rows (in input order), each part left-padded to the widest."""
    if len(parts) == 1 and parts[0].rows == list(range(rows)):
        return parts[0].cache, parts[0].mask
    width = max(part.mask.shape[1] for part in parts)
    base = parts[0].cache
    mask = parts[0].mask.new_zeros((rows, width))
    for part in parts:
        mask[part.rows, width - part.mask.shape[1] :] = part.mask
    for number, layer in enumerate(base.layers):
        for name in ("keys", "values"):
            like = getattr(layer, name)
            merged = like.new_zeros((rows, like.shape[1], width, like.shape[3]))
            for part in parts:
                states = getattr(part.cache.layers[number], name)
                merged[part.rows, :, width - states.shape[2] :] = states
            setattr(layer, name, merged)
    return base, mask


def _row_logits(logits: torch.Tensor) -> torch.Tensor:
    """Each row's logits at its own column, from a forward with ``logits_to_keep`` = [rows, 1] columns.

    transformers with `slice_logits_to_keep` (5.x) keeps those columns per row: [rows, 1, vocab]. Earlier
    versions index every row with the whole tensor, [rows, rows, 1, vocab], whose diagonal holds the same
    values (exact, at rows times the vocabulary projections).
    """
    if logits.dim() == 4:
        rows = torch.arange(logits.shape[0], device=logits.device)
        return logits[rows, rows, 0]
    return logits[:, 0]


def encode_prompts(model: Any, prompts: Sequence[Sequence[int]], pad_id: int) -> PromptCache:
    """Run a batch of non-empty token prompts (see the module docstring for the passes)."""
    device = model.device
    rows = len(prompts)
    cache_arg = cache_argument(model)
    shared = min(common_prefix_length(prompts), min(len(p) for p in prompts) - 1)
    prefix = None
    if rows > 1 and shared >= _MIN_SHARED_PREFIX:
        ids = torch.tensor([list(prompts[0][:shared])], device=device)
        # logits_to_keep=1: nobody reads the prefix's logits, and the vocabulary projection is costly
        out = model(
            input_ids=ids,
            position_ids=torch.arange(shared, device=device)[None],
            use_cache=True,
            logits_to_keep=1,
            **{cache_arg: _fresh_cache()},
        )
        prefix = returned_cache(out)
    else:
        shared = 0
    bodies = [p[shared:] for p in prompts]  # never empty: shared < every prompt's length
    parts, chunks, order = [], [], []
    for group in length_groups([len(b) for b in bodies]):
        index = torch.zeros(len(group), dtype=torch.long, device=device)
        ids, body_mask = right_pad([bodies[i] for i in group], pad_id, device)
        mask = torch.cat([torch.ones(len(group), shared, dtype=torch.long, device=device), body_mask], dim=-1)
        out = model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=shared + torch.arange(ids.shape[1], device=device).expand_as(ids),
            use_cache=True,
            # each row's last real token, the only logits computed: right padding comes after it, so they
            # equal an unpadded forward's, and the model's own head (soft-capping, ...) computes them
            logits_to_keep=body_mask.sum(-1, keepdim=True) - 1,
            **{cache_arg: select_cache(prefix, index) if prefix is not None else _fresh_cache()},
        )
        chunks.append(_row_logits(out.logits))
        order += group
        cache = returned_cache(out)
        if not bool(body_mask.all()):
            mask = _left_align(cache, mask)
        parts.append(_Part(group, cache, mask))
    cache, mask = _merge(parts, rows)
    lengths = torch.tensor([len(p) for p in prompts], device=device)
    logits = torch.cat(chunks)[torch.tensor(order, device=device).argsort()]  # rows in input order
    return PromptCache(logits, cache, mask, lengths)
