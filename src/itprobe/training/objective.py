"""The training objective as an `nn.Module`: a batch in, the summed target-token cross-entropy out.

Wrapping the loss in a module keeps causal and seq2seq differences out of the training loop, and lets
Accelerate wrap the whole computation (DDP, FSDP, DeepSpeed hook into ``forward``).

Causal LMs: the full model would compute vocabulary logits at every position, prompt included, although
only target positions carry loss (for SmolLM2, 576 × 49,152 multiply-adds per position plus a softmax
over 49,152 entries). We run the transformer body, keep the hidden states at target positions and apply
the output layer to those only. A one-off check against the model's own ``forward`` guards the shortcut;
models where it disagrees (custom logit scaling, say) fall back to full logits.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


class CausalObjective(nn.Module):
    """Summed cross-entropy over target tokens of a decoder-only model, logits at target positions only."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model
        self.selective = self._selective_supported()

    @property
    def _no_split_modules(self) -> Any:
        # FSDP's transformer auto-wrap policy reads this from the module it wraps (ours), not the HF model
        return getattr(self.model, "_no_split_modules", None)

    def _body(self) -> nn.Module | None:
        body = getattr(self.model, "base_model", None)
        return body if isinstance(body, nn.Module) and body is not self.model else None

    def _target_logits(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, loss_mask: torch.Tensor
    ) -> torch.Tensor:
        body = self._body()
        if not self.selective or body is None:
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False)
            return out.logits[loss_mask]
        hidden = body(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).last_hidden_state
        logits = self.model.get_output_embeddings()(hidden[loss_mask])  # (n_targets, vocab)
        cap = getattr(self.model.config, "final_logit_softcapping", None)
        if cap:
            logits = torch.tanh(logits / cap) * cap
        return logits

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        loss_mask: torch.Tensor,
        targets: torch.Tensor,
    ) -> torch.Tensor:
        logits = self._target_logits(input_ids, attention_mask, loss_mask)
        return F.cross_entropy(logits.float(), targets, reduction="sum")

    @torch.no_grad()
    def _selective_supported(self) -> bool:
        """Whether body + output layer reproduces the model's logits (checked on a short dummy input)."""
        if self._body() is None or self.model.get_output_embeddings() is None:
            return False
        was_training = self.model.training
        self.model.eval()
        try:
            device = next(self.model.parameters()).device
            ids = torch.arange(1, 7, device=device).remainder(self.model.config.vocab_size).unsqueeze(0)
            mask = torch.ones_like(ids)
            keep = torch.ones_like(ids, dtype=torch.bool)
            self.selective = True
            fast = self._target_logits(ids, mask, keep)
            self.selective = False
            full = self._target_logits(ids, mask, keep)
            return bool(torch.allclose(fast.float(), full.float(), atol=1e-4, rtol=1e-4))
        finally:
            self.model.train(was_training)


class Seq2SeqObjective(nn.Module):
    """Summed cross-entropy over target tokens of an encoder-decoder model (every decoder position is a
    target, so full logits waste nothing but padding)."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    @property
    def _no_split_modules(self) -> Any:
        # FSDP's transformer auto-wrap policy reads this from the module it wraps (ours), not the HF model
        return getattr(self.model, "_no_split_modules", None)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        decoder_input_ids: torch.Tensor,
        decoder_attention_mask: torch.Tensor,
        loss_mask: torch.Tensor,
        targets: torch.Tensor,
    ) -> torch.Tensor:
        out = self.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            decoder_input_ids=decoder_input_ids,
            decoder_attention_mask=decoder_attention_mask,
            use_cache=False,
        )
        return F.cross_entropy(out.logits[loss_mask].float(), targets, reduction="sum")


def make_objective(model: Any, kind: str) -> nn.Module:
    """The objective module for a Hugging Face model of ``kind`` ("causal" or "seq2seq")."""
    return Seq2SeqObjective(model) if kind == "seq2seq" else CausalObjective(model)
