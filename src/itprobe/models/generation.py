"""Greedy generation for causal LMs with each task's prompt prefix computed once per batch.

`greedy_causal` encodes each batch of prompts exactly as rank classification does
(`itprobe.models.prefix.encode_prompts`: the definition and demonstrations that a task's prompts share run
once on one row, each instance's own suffix on the repeated cache) and then decodes with the KV cache, one
token per row and step, with explicit position ids. The stop rule is transformers' greedy ``generate`` with
the `itprobe.decoding` criterion: a row stops at an EOS id (``generation_config.eos_token_id``, an id or a
list), once `itprobe.decoding.stop_reached` holds for its decoded new text, or after ``max_new_tokens``; the
token that stopped it is kept. Greedy means the arg-max of the raw logits: no logits processor of the model's
generation config (repetition penalty, suppressed tokens, ...) applies.

Decoding is pooled across batches. A decode step reads every weight once whatever the number of rows, and
most classification answers stop after two or three tokens while a few rows run to the cap; decoding each
batch to its end would pay the cap's steps for almost every batch. So the rows still running after their
batch's prompt pass join a pool (caches left-padded to a common width, as `encode_prompts` leaves them), and
the pool takes decode steps whenever it holds at least ``pool_rows`` rows, and at the end; finished rows leave
it at once. Its cache layers have room reserved for the new tokens, so a step writes one column in place
instead of copying the whole cache (transformers' ``DynamicLayer`` concatenates).

In fp32 the tokens equal those of transformers' ``generate`` on the same prompts (tests: tiny Llama and tiny
Gemma 3 with a sliding window shorter than the prompts, batch sizes 1, 4 and 8; the packaged SmolLM2).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
from transformers.cache_utils import DynamicLayer

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


class ReservedLayer(DynamicLayer):
    """A full-attention cache layer with room for ``reserve`` more columns: appending writes in place."""

    def __init__(self, keys: torch.Tensor, values: torch.Tensor, reserve: int) -> None:
        super().__init__()
        self.is_initialized, self.device = True, keys.device
        self._store = [self._with_room(keys, reserve), self._with_room(values, reserve)]
        self._width = keys.shape[2]
        self._views()

    @staticmethod
    def _with_room(states: torch.Tensor, reserve: int) -> torch.Tensor:
        rows, heads, width, dim = states.shape
        store = states.new_empty((rows, heads, width + reserve, dim))
        store[:, :, :width] = states
        return store

    def _views(self) -> None:
        self.keys, self.values = (s[:, :, : self._width] for s in self._store)

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        width, extra = self._width, key_states.shape[2]
        if width + extra > self._store[0].shape[2]:  # out of room: grow (not expected within one pool)
            self._store = [self._with_room(s[:, :, :width], max(extra, width)) for s in self._store]
        self._store[0][:, :, width : width + extra] = key_states
        self._store[1][:, :, width : width + extra] = value_states
        self._width = width + extra
        self._views()
        return self.keys, self.values

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        self._store = [s[indices] for s in self._store]
        self._views()


class _Rows(NamedTuple):
    """Rows being decoded: prompt index, cache (``[padding | prompt | new tokens]``), attention mask, the
    position and id of the token each row feeds next."""

    ids: list[int]
    cache: Any
    mask: torch.Tensor
    positions: torch.Tensor
    feed: torch.Tensor


def _choose(
    rows: _Rows, logits: torch.Tensor, new: list[list[int]], rule: StopRule, decode: Callable
) -> _Rows | None:
    """Append each row's greedy token; the rows still running (cache rows of finished ones dropped)."""
    chosen = logits.float().argmax(-1).tolist()
    keep = []
    for row, (i, token) in enumerate(zip(rows.ids, chosen, strict=True)):
        new[i].append(token)
        if not rule.done(new[i], decode):
            keep.append(row)
    if not keep:
        return None
    feed = torch.tensor([chosen[r] for r in keep], device=rows.mask.device)
    if len(keep) == len(rows.ids):
        return rows._replace(feed=feed)
    index = torch.tensor(keep, device=rows.mask.device)
    for layer in rows.cache.layers:
        layer.batch_select_indices(index)
    return _Rows([rows.ids[r] for r in keep], rows.cache, rows.mask[index], rows.positions[index], feed)


def _join(pool: _Rows | None, rows: _Rows | None, reserve: int) -> _Rows | None:
    """One set of rows from two, caches left-padded to the wider, with room for ``reserve`` new columns."""
    if rows is None:
        return pool
    parts = [rows] if pool is None else [pool, rows]
    width = max(part.mask.shape[1] for part in parts)
    mask = torch.cat([torch.nn.functional.pad(p.mask, (width - p.mask.shape[1], 0)) for p in parts])
    layers = []
    for number in range(len(rows.cache.layers)):
        states = []
        for name in ("keys", "values"):
            tensors = [getattr(p.cache.layers[number], name) for p in parts]
            states.append(torch.cat([_pad_left(t, width) for t in tensors]))
        layers.append(ReservedLayer(states[0], states[1], reserve))
    cache = rows.cache
    cache.layers = layers
    return _Rows(
        [i for p in parts for i in p.ids],
        cache,
        mask,
        torch.cat([p.positions for p in parts]),
        torch.cat([p.feed for p in parts]),
    )


def _pad_left(states: torch.Tensor, width: int) -> torch.Tensor:
    return torch.nn.functional.pad(states, (0, 0, width - states.shape[2], 0))


def _step(model: Any, rows: _Rows, new: list[list[int]], rule: StopRule, decode: Callable) -> _Rows | None:
    """One decode step of every row."""
    mask = torch.cat([rows.mask, torch.ones_like(rows.mask[:, :1])], dim=-1)
    out = model(
        input_ids=rows.feed[:, None],
        attention_mask=mask,
        position_ids=rows.positions[:, None],
        use_cache=True,
        logits_to_keep=1,
        **{cache_argument(model): rows.cache},
    )
    moved = _Rows(rows.ids, returned_cache(out), mask, rows.positions + 1, rows.feed)
    return _choose(moved, out.logits[:, -1], new, rule, decode)


def greedy_causal(
    model: Any,
    prompts: Sequence[Sequence[int]],
    batches: Sequence[Sequence[int]],
    pad_id: int,
    rule: StopRule,
    decode: Callable[[Sequence[int]], str],
    pool_rows: int = 8,
) -> list[list[int]]:
    """The new tokens of each prompt's greedy continuation (see the module docstring for the rule).

    Args:
        model: a transformers causal LM (KV cache, ``logits_to_keep``, explicit ``position_ids``).
        prompts: token ids, one non-empty sequence per prompt.
        batches: prompt indices per prompt pass, covering every prompt once (one task's prompts each, so that
            they share a long prefix: `itprobe.models.hf.prefix_batches`).
        pad_id: the id the padding columns hold (masked, never attended to).
        rule: when a row stops.
        decode: token ids to text as the stop sequences are matched (special tokens skipped).
        pool_rows: decode steps wait until this many rows are running, or until the prompts run out.
    """
    new: list[list[int]] = [[] for _ in prompts]
    pool = None
    for batch in batches:
        encoded = encode_prompts(model, [prompts[i] for i in batch], pad_id)
        rows = _Rows(list(batch), encoded.cache, encoded.mask, encoded.lengths, encoded.lengths)
        pool = _join(pool, _choose(rows, encoded.logits, new, rule, decode), rule.max_new_tokens)
        while pool is not None and len(pool.ids) >= pool_rows:
            pool = _step(model, pool, new, rule, decode)
    while pool is not None:
        pool = _step(model, pool, new, rule, decode)
    return new
