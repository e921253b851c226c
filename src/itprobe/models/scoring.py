"""Rank-classification kernels: log-likelihood of every label with the prompt encoded once per instance.

Causal LMs: the prompts run through `itprobe.models.prefix.encode_prompts` (a task's shared prefix once per
batch; only the last prompt position's logits). Those logits score each label's first token, so single-token
labels need no further work. Labels with more tokens run a second, short forward over ``label[:-1]`` on a
copy of the prompt cache expanded to one row per label, with explicit position ids.

Seq2seq (T5): the encoder runs once per instance; its states are repeated per label and the decoder scores
each label as a target sequence (teacher forcing), without EOS, like lm-evaluation-harness.

Log-softmax is taken in fp32 whatever the model dtype.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from itprobe.models.attention import grouped_kv_heads
from itprobe.models.base import ChoiceScore
from itprobe.models.prefix import cache_argument, encode_prompts, right_pad, select_cache

# at most this many cached prompt tokens (label rows x padded prompt length) are materialised at once in the
# causal label pass; bounds memory to ~0.4 GB for a 135M model in bf16 whatever the label count
_CACHE_TOKEN_BUDGET = 16384


@dataclass(frozen=True)
class Encoded:
    """One instance, tokenised: the prompt once and each label's continuation tokens."""

    prompt: tuple[int, ...]
    labels: tuple[tuple[int, ...], ...]


def _token_logprobs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """log p(target) per position, in fp32; logits [..., vocab], targets [...]."""
    return torch.log_softmax(logits.float(), dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)


def score_causal(model: Any, batch: Sequence[Encoded], pad_id: int) -> list[list[ChoiceScore]]:
    """Label log-likelihoods for a batch of instances of a causal LM."""
    with grouped_kv_heads(model.device):  # key/value heads read in place, not repeated per layer
        return _score_causal(model, batch, pad_id)


def _score_causal(model: Any, batch: Sequence[Encoded], pad_id: int) -> list[list[ChoiceScore]]:
    last, cache, mask, lengths = encode_prompts(model, [e.prompt for e in batch], pad_id)
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
    inputs, label_mask = right_pad([lab[:-1] for lab in labels], pad_id, device)
    targets, _ = right_pad([lab[1:] for lab in labels], pad_id, device)
    positions = prompt_lengths[index].unsqueeze(-1) + torch.arange(inputs.shape[1], device=device)
    out = model(
        input_ids=inputs,
        attention_mask=torch.cat([prompt_mask[index], label_mask], dim=-1),
        position_ids=positions,
        use_cache=True,
        **{cache_argument(model): select_cache(cache, index)},
    )
    logp = _token_logprobs(out.logits, targets) * label_mask
    return [float(v) for v in logp.sum(-1)]


def score_seq2seq(
    model: Any, batch: Sequence[Encoded], pad_id: int, start_id: int
) -> list[list[ChoiceScore]]:
    """Label log-likelihoods for a batch of instances of an encoder-decoder; the encoder runs once each."""
    device = model.device
    ids, mask = right_pad([e.prompt for e in batch], pad_id, device)
    encoded = model.get_encoder()(input_ids=ids, attention_mask=mask).last_hidden_state
    rows = [(i, j) for i, e in enumerate(batch) for j in range(len(e.labels))]
    index = torch.tensor([i for i, _ in rows], device=device)
    labels = [batch[i].labels[j] for i, j in rows]
    targets, target_mask = right_pad(labels, pad_id, device)
    decoder_in, _ = right_pad([(start_id, *lab[:-1]) for lab in labels], pad_id, device)
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
