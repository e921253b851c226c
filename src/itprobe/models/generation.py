"""Greedy generation for causal LMs with each task's prompt prefix computed once per batch.

`greedy_causal` encodes each batch of prompts exactly as rank classification does
(`itprobe.models.prefix.encode_prompts`: the definition and demonstrations that a task's prompts share run
once on one row, each instance's own suffix on the repeated cache) and then decodes with the KV cache and
explicit position ids. The stop rule is transformers' greedy ``generate`` with
the `itprobe.decoding` criterion: a row stops at an EOS id (``generation_config.eos_token_id``, an id or a
list), once `itprobe.decoding.stop_reached` holds for its decoded new text, or after ``max_new_tokens``; the
token that stopped it is kept. Greedy means the arg-max of the raw logits: no logits processor of the model's
generation config (repetition penalty, suppressed tokens, ...) applies.

Decoding is pooled across batches. A decode step reads every weight once whatever the number of rows, and
most classification answers stop after two or three tokens while a few rows run to the cap; decoding each
batch to its end would pay the cap's steps for almost every batch. So the rows still running after their
batch's prompt pass join a pool (caches left-padded to a common width, as `encode_prompts` leaves them), and
the pool takes decode steps whenever it holds at least ``pool_rows`` rows, and at the end; finished rows leave
it at once. Its cache layers have room reserved for the new tokens, so a step writes its columns in place
instead of copying the whole cache (transformers' ``DynamicLayer`` concatenates). ``pool_rows`` larger than a
batch lets rows of several batches step together once their prompt passes are done: under a protocol whose
rows run to the cap (a base model, EOS only) a pool of one batch never grows, and every step would read all
the weights for ``batch_size`` rows. The pool's cache is bounded too: it steps once its store holds
``pool_bytes`` (rows x columns x layers x key/value heads; one joining batch may pass the bound), so long
prompts make smaller pools. Rows of different prompt lengths mix as rows of one batch do: left-padded, each
row's columns flush right and contiguous, which keeps a sliding window exact.

A step feeds each row's last token and up to ``draft_tokens`` guesses of the tokens after it, taken from where
the row's last n-gram occurred before in its prompt or output (`itprobe.models.lookup`: a label the
demonstrations wrote, input text a rambling model copies). One forward checks them all: a row keeps the
arg-max after its fed token, and one more arg-max for each guess equal to the token chosen before it; the
columns of rejected guesses stay masked. Reading the weights dominates a step of a few rows, so guesses are
nearly free where they matter most, in the tail where one or two rows run on to the cap; the step's block
is kept to ``BLOCK_TOKENS`` tokens, so a full pool guesses little. Masked columns between real ones would
shorten a sliding window, so a model with sliding-window layers decodes one token per step.

In fp32 the tokens equal those of transformers' ``generate`` on the same prompts (tests: tiny Llama and tiny
Gemma 3 with a sliding window shorter than the prompts, batch sizes 1, 4 and 8; the packaged SmolLM2, also
copying its prompt so that most guesses are kept).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
from transformers.cache_utils import DynamicLayer

from itprobe.decoding import Decoding, stop_reached
from itprobe.models.attention import grouped_kv_heads
from itprobe.models.base import NonFiniteOutput
from itprobe.models.lookup import PromptLookup
from itprobe.models.prefix import cache_argument, encode_prompts, returned_cache

# prompt-lookup guesses per row and step, and tokens per step over all rows (bench_generate's workload:
# 8/16 took its decode steps from 5.4 s to 3.9 s; 4/10 and 8/12 did about as well, 8/24 and no cap worse)
DRAFT_TOKENS = 8
BLOCK_TOKENS = 16
# the decode pool's KV-cache store at most (fp32 gemma-3-270m: 36 KiB per row and column, so ~45 MiB per row
# of a 1,100-token NatInst prompt plus 128 new tokens, ~45 rows; SmolLM2 46 KiB): a bound on memory, not a
# tuned speed setting
POOL_BYTES = 2 << 30


@dataclass(frozen=True)
class StopRule:
    """When a row stops: the caller's `Decoding` (its stop sequences and new-token cap) plus the model's EOS
    ids. The decoding travels whole from the caller, so the rule applied is the one it chose."""

    decoding: Decoding
    eos: frozenset[int] = frozenset()

    @property
    def max_new_tokens(self) -> int:
        return self.decoding.max_new_tokens

    @property
    def stop(self) -> tuple[str, ...]:
        return self.decoding.stop

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
    """A full-attention cache layer with room for ``reserve`` more columns: appending writes in place.

    ``keys`` and ``values`` may be lists of row blocks of different widths: they are stacked, each left-padded
    with zeros to the widest, straight into the store (one copy, not a pad, a concatenation and a copy)."""

    def __init__(
        self,
        keys: torch.Tensor | Sequence[torch.Tensor],
        values: torch.Tensor | Sequence[torch.Tensor],
        reserve: int,
    ) -> None:
        super().__init__()
        keys = [keys] if isinstance(keys, torch.Tensor) else list(keys)
        values = [values] if isinstance(values, torch.Tensor) else list(values)
        self.is_initialized, self.device = True, keys[0].device
        self._width = max(block.shape[2] for block in keys)
        self._store = [_stack_left(keys, self._width, reserve), _stack_left(values, self._width, reserve)]
        self._views()

    @staticmethod
    def _with_room(states: torch.Tensor, reserve: int) -> torch.Tensor:
        return _stack_left([states], states.shape[2], reserve)

    def _views(self) -> None:
        self.keys, self.values = (s[:, :, : self._width] for s in self._store)

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        width, extra = self._width, key_states.shape[2]
        if width + extra > self._store[0].shape[2]:  # out of room (long drafting runs): double
            self._store = [self._with_room(s[:, :, :width], max(extra, width)) for s in self._store]
        self._store[0][:, :, width : width + extra] = key_states
        self._store[1][:, :, width : width + extra] = value_states
        self._width = width + extra
        self._views()
        return self.keys, self.values

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        self._store = [s[indices] for s in self._store]
        self._views()

    @property
    def nbytes(self) -> int:
        """Bytes its store holds, reserved columns included."""
        return sum(s.numel() * s.element_size() for s in self._store)


class _Rows(NamedTuple):
    """Rows being decoded: prompt index, cache (``[padding | prompt | new tokens]``), attention mask, the
    position and id of the token each row feeds next."""

    ids: list[int]
    cache: Any
    mask: torch.Tensor
    positions: torch.Tensor
    feed: torch.Tensor


def _accept(
    ids: Sequence[int],
    chosen: Sequence[Sequence[int]],
    drafts: Sequence[Sequence[int]],
    new: list[list[int]],
    rule: StopRule,
    decode: Callable,
) -> tuple[list[int], list[int]]:
    """Append each row's greedy tokens: ``chosen[row][j]`` is the arg-max after the row's fed token and its
    first ``j`` draft tokens, so it counts while the drafts before it equal the tokens chosen before them.
    Returns, per row, the block columns that hold real tokens (the fed token and the accepted drafts), and
    the rows still running."""
    used, running = [], []
    for row, (i, tokens, draft) in enumerate(zip(ids, chosen, drafts, strict=True)):
        for j, token in enumerate(tokens[: len(draft) + 1]):
            new[i].append(token)
            if rule.done(new[i], decode):
                break
            if j == len(draft) or draft[j] != token:
                running.append(row)
                break
        used.append(j + 1)
    return used, running


def _narrow(rows: _Rows, running: list[int], new: list[list[int]]) -> _Rows | None:
    """The running rows (cache rows of finished ones dropped), each to feed its last new token next."""
    if not running:
        return None
    ids = [rows.ids[r] for r in running]
    feed = torch.tensor([new[i][-1] for i in ids], device=rows.mask.device)
    if len(running) == len(rows.ids):
        return rows._replace(feed=feed)
    index = torch.tensor(running, device=rows.mask.device)
    for layer in rows.cache.layers:
        layer.batch_select_indices(index)
    return _Rows(ids, rows.cache, rows.mask[index], rows.positions[index], feed)


def _join(pool: _Rows | None, rows: _Rows | None, reserve: int) -> _Rows | None:
    """One set of rows from two, caches left-padded to the wider, with room for ``reserve`` new columns."""
    if rows is None:
        return pool
    parts = [rows] if pool is None else [pool, rows]
    width = max(part.mask.shape[1] for part in parts)
    mask = torch.cat([torch.nn.functional.pad(p.mask, (width - p.mask.shape[1], 0)) for p in parts])
    layers = []
    for number in range(len(rows.cache.layers)):
        keys, values = ([getattr(p.cache.layers[number], name) for p in parts] for name in ("keys", "values"))
        layers.append(ReservedLayer(keys, values, reserve))
    cache = rows.cache
    cache.layers = layers
    return _Rows(
        [i for p in parts for i in p.ids],
        cache,
        mask,
        torch.cat([p.positions for p in parts]),
        torch.cat([p.feed for p in parts]),
    )


def _stack_left(blocks: Sequence[torch.Tensor], width: int, reserve: int) -> torch.Tensor:
    """Row blocks ``[rows, heads, columns, dim]`` in one store of ``width + reserve`` columns, each block
    flush right within ``width``; the padding holds zeros (masked, but a score must not be NaN)."""
    rows = sum(block.shape[0] for block in blocks)
    _, heads, _, dim = blocks[0].shape
    store = blocks[0].new_empty((rows, heads, width + reserve, dim))
    start = 0
    for block in blocks:
        end, pad = start + block.shape[0], width - block.shape[2]
        store[start:end, :, :pad].zero_()
        store[start:end, :, pad:width] = block
        start = end
    return store


def _step(
    model: Any,
    rows: _Rows,
    new: list[list[int]],
    rule: StopRule,
    decode: Callable,
    drafts: Sequence[Sequence[int]],
) -> _Rows | None:
    """One decode step of every row: its fed token and its draft tokens (right-padded to a block), one
    arg-max per block column, the rejected drafts' columns masked for good."""
    width = 1 + max(len(d) for d in drafts)
    device = rows.mask.device
    block = rows.feed[:, None].repeat(1, width)  # padding repeats the fed token: masked, never attended to
    block_mask = torch.zeros_like(rows.mask[:, :1]).repeat(1, width)
    for row, draft in enumerate(drafts):
        block[row, 1 : 1 + len(draft)] = torch.tensor(draft, device=device)
        block_mask[row, : 1 + len(draft)] = 1
    out = model(
        input_ids=block,
        attention_mask=torch.cat([rows.mask, block_mask], dim=-1),
        position_ids=rows.positions[:, None] + torch.arange(width, device=device),
        use_cache=True,
        logits_to_keep=width,
        **{cache_argument(model): rows.cache},
    )
    chosen = out.logits.float().argmax(-1).tolist()
    used, running = _accept(rows.ids, chosen, drafts, new, rule, decode)
    used_t = torch.tensor(used, device=device)
    block_mask = (torch.arange(width, device=device) < used_t[:, None]).to(rows.mask.dtype)
    moved = _Rows(
        rows.ids,
        returned_cache(out),
        torch.cat([rows.mask, block_mask], dim=-1),
        rows.positions + used_t,
        rows.feed,
    )
    return _narrow(moved, running, new)


def windowed(model: Any) -> bool:
    """Whether any attention layer is sliding-window (its window counts cache columns, so a decode step may
    not leave masked columns between real ones, as rejected drafts do)."""
    config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    kinds = getattr(config, "layer_types", None) or ()
    if any(kind != "full_attention" for kind in kinds):
        return True
    return bool(getattr(config, "sliding_window", None)) and getattr(config, "use_sliding_window", True)


def _check_finite(logits: torch.Tensor, batch: Sequence[int]) -> None:
    """NaN logits have an arg-max too (token 0), which would decode as a plausible empty answer: refuse them.
    The prompt pass is checked (broken weights show there); decode steps are not, to keep them sync-free.

    Raises:
        NonFiniteOutput: naming the first prompt whose logits are not finite.
    """
    bad = ~torch.isfinite(logits.float()).all(dim=-1)
    if bool(bad.any()):
        raise NonFiniteOutput(batch[int(bad.nonzero()[0, 0])])


class _Pool(NamedTuple):
    """When the decode pool is full enough to step (see the module docstring)."""

    rows: int
    bytes: int

    def full(self, pool: _Rows) -> bool:
        if len(pool.ids) >= self.rows:
            return True
        return sum(getattr(layer, "nbytes", 0) for layer in pool.cache.layers) >= self.bytes


def greedy_causal(
    model: Any,
    prompts: Sequence[Sequence[int]],
    batches: Sequence[Sequence[int]],
    pad_id: int,
    rule: StopRule,
    decode: Callable[[Sequence[int]], str],
    pool_rows: int = 8,
    draft_tokens: int = DRAFT_TOKENS,
    pool_bytes: int = POOL_BYTES,
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
        pool_rows: decode steps wait until this many rows are running (rows of several batches, once their
            prompt passes are done), or until the prompts run out.
        draft_tokens: prompt-lookup draft tokens a row feeds per decode step at most (0: one token per step,
            as for models with sliding-window layers whatever this says).
        pool_bytes: decode steps also start once the pool's cache store holds this many bytes.
    """
    with grouped_kv_heads(model.device):  # key/value heads read in place, not repeated per layer
        return _greedy(
            model, prompts, batches, pad_id, rule, decode, _Pool(pool_rows, pool_bytes), draft_tokens
        )


def _greedy(
    model: Any,
    prompts: Sequence[Sequence[int]],
    batches: Sequence[Sequence[int]],
    pad_id: int,
    rule: StopRule,
    decode: Callable[[Sequence[int]], str],
    size: _Pool,
    draft_tokens: int,
) -> list[list[int]]:
    if windowed(model):
        draft_tokens = 0
    new: list[list[int]] = [[] for _ in prompts]
    lookups: dict[int, PromptLookup] = {}

    def drafts(rows: _Rows) -> list[list[int]]:
        for done in lookups.keys() - set(rows.ids):  # a lookup indexes a whole prompt: free finished rows'
            del lookups[done]
        out: list[list[int]] = []
        per_row = BLOCK_TOKENS // len(rows.ids) - 1
        for i in rows.ids:
            limit = min(draft_tokens, per_row, rule.max_new_tokens - len(new[i]) - 1)
            if limit < 1:
                out.append([])
                continue
            lookup = lookups.get(i)
            if lookup is None:  # indexed once per row, when it first takes a step
                lookup = lookups[i] = PromptLookup(prompts[i])
            lookup.extend(new[i][len(lookup.tokens) - len(prompts[i]) :])
            out.append(lookup.draft(limit))
        return out

    pool = None
    for batch in batches:
        encoded = encode_prompts(model, [prompts[i] for i in batch], pad_id)
        rows = _Rows(list(batch), encoded.cache, encoded.mask, encoded.lengths, encoded.lengths)
        _check_finite(encoded.logits, batch)
        chosen = encoded.logits.float().argmax(-1)[:, None].tolist()
        _, running = _accept(rows.ids, chosen, [[]] * len(batch), new, rule, decode)
        pool = _join(pool, _narrow(rows, running, new), rule.max_new_tokens)
        while pool is not None and size.full(pool):
            pool = _step(model, pool, new, rule, decode, drafts(pool))
    while pool is not None:
        pool = _step(model, pool, new, rule, decode, drafts(pool))
    return new
