"""Length-grouped batches with dynamic padding, planned independently of the number of processes.

The plan for an epoch is a pure function of (seed, epoch, lengths, global batch size): shuffle, cut the
shuffled order into "mega-batches" of 16 global batches, sort each mega-batch by length, cut it into global
batches and shuffle their order. Sorting inside mega-batches puts examples of similar length together (so
padding stays small) while the order stays random at the scale of the data set. Because the plan does
not depend on the process count, a resumed or re-launched run with the same global batch sees the same
data in the same order, and one process computes the same gradient as several (see `split_global`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from itprobe.training.data import TrainExample, derive_seed

if TYPE_CHECKING:
    import torch

MEGABATCH = 16  # global batches per sorted group: larger = less padding, less randomness in batch makeup


def epoch_plan(
    lengths: Sequence[int], global_batch: int, seed: int, epoch: int, min_size: int
) -> list[list[int]]:
    """Global batches (lists of example indices) for one epoch.

    A trailing batch smaller than ``min_size`` (processes × accumulation steps) is dropped so that every
    micro-batch of every process has at least one example.
    """
    import torch

    generator = torch.Generator().manual_seed(derive_seed(seed, "order", epoch))
    order = torch.randperm(len(lengths), generator=generator).tolist()
    group = global_batch * MEGABATCH
    grouped: list[int] = []
    for start in range(0, len(order), group):
        grouped.extend(sorted(order[start : start + group], key=lambda i: -lengths[i]))
    batches = [grouped[i : i + global_batch] for i in range(0, len(grouped), global_batch)]
    if batches and len(batches[-1]) < min_size:
        batches.pop()
    shuffle = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in shuffle]


def steps_per_epoch(n_examples: int, global_batch: int, min_size: int) -> int:
    """Optimizer steps in one epoch (matches ``len(epoch_plan(...))``)."""
    full, rest = divmod(n_examples, global_batch)
    return full + (1 if rest >= min_size else 0)


def split_global(batch: Sequence[int], lengths: Sequence[int], parts: int) -> list[list[int]]:
    """Cut a global batch into ``parts`` micro-batches of near-equal size, longest examples first.

    Part ``rank * grad_accum + j`` is micro-step ``j`` of process ``rank``. Each loss term is divided by the
    target-token count of the whole global batch, so the summed gradient does not depend on the split.
    """
    ordered = sorted(batch, key=lambda i: (-lengths[i], i))
    size, extra = divmod(len(ordered), parts)
    out, start = [], 0
    for p in range(parts):
        end = start + size + (1 if p < extra else 0)
        out.append(ordered[start:end])
        start = end
    return out


@dataclass(frozen=True)
class MicroBatch:
    """Padded tensors for one forward pass. ``loss_mask`` marks the positions whose output predicts a target
    token (row-major order matches ``targets``)."""

    inputs: dict[str, torch.Tensor]
    targets: torch.Tensor  # (n_targets,)
    n_tokens: int  # non-padding tokens, prompt and target


def collate(
    examples: Sequence[TrainExample],
    kind: Literal["causal", "seq2seq"],
    pad_id: int,
    decoder_start_id: int | None = None,
) -> MicroBatch:
    """Right-pad to the longest example of this micro-batch (dynamic padding)."""
    import torch

    if kind == "causal":
        rows = [ex.source_ids + ex.target_ids for ex in examples]
        ids, attention = _pad(rows, pad_id)
        loss_mask = torch.zeros_like(attention, dtype=torch.bool)
        for r, ex in enumerate(examples):
            # the hidden state at position t predicts token t + 1
            start = len(ex.source_ids) - 1
            loss_mask[r, start : start + len(ex.target_ids)] = True
        inputs = {"input_ids": ids, "attention_mask": attention, "loss_mask": loss_mask}
    else:
        if decoder_start_id is None:
            raise ValueError("seq2seq collation needs the decoder start token id")
        ids, attention = _pad([ex.source_ids for ex in examples], pad_id)
        decoder_rows = [(decoder_start_id, *ex.target_ids[:-1]) for ex in examples]
        decoder_ids, decoder_attention = _pad(decoder_rows, pad_id)
        inputs = {
            "input_ids": ids,
            "attention_mask": attention,
            "decoder_input_ids": decoder_ids,
            "decoder_attention_mask": decoder_attention,
            "loss_mask": decoder_attention.bool(),
        }
    targets = torch.tensor([t for ex in examples for t in ex.target_ids], dtype=torch.long)
    return MicroBatch(inputs, targets, sum(ex.length for ex in examples))


def _pad(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    import torch

    width = max(len(row) for row in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(rows), width), dtype=torch.long)
    for r, row in enumerate(rows):
        ids[r, : len(row)] = torch.tensor(row, dtype=torch.long)
        attention[r, : len(row)] = 1
    return ids, attention
