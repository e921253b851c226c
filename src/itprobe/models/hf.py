"""`HFLanguageModel`: batched greedy generation and rank classification for transformers models.

Prompt/label boundary for causal LMs: Tk-Instruct prompts end with ``"Output: "`` (a trailing space). A
BPE tokenizer encodes that space as a token of its own, whereas in running text the space belongs to the next
word (``" positive"``). As in lm-evaluation-harness, trailing whitespace moves from the prompt to the
continuation: the prompt is tokenised as ``"...Output:"``, the label's tokens are those of
``"...Output: positive"`` beyond the prompt's tokens (or, should the two tokenisations not share that
prefix, the tokens of ``" positive"`` alone). Generation uses the same right-stripped prompt. Encoder-decoders
need no such care: the prompt is the encoder input and the label the decoder target.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

import torch

from itprobe.decoding import Decoding, stop_reached
from itprobe.models.base import ChoiceScore, NonFiniteOutput
from itprobe.models.boundary import causal_choice_ids, causal_prompt_ids
from itprobe.models.generation import StopRule, eos_ids, greedy_causal
from itprobe.models.loading import LoadedModel
from itprobe.models.scoring import Encoded, score_causal, score_seq2seq

T = TypeVar("T")
PREFIX_KEY = 32  # prompts whose first 32 tokens agree are treated as one task's prompts when batching
ADAPTER_VERSION = "hf/v2"  # bump when tokenisation or scoring changes, so cached predictions are not reused
# decode pool rows by default (see `HFLanguageModel`): a gemma-3-270m decode step cost 58-68 ms of CPU per row
# at 4 rows, 27-29 at 20, 19-21 at 48 and 64 (docs/performance.md, "Decode pools of several batches")
POOL_ROWS = 64
# transformers' generate fills every unset field from the model's generation config, where a Hub model may ask
# for a repetition penalty and the like; greedy decoding here is the arg-max of the raw logits
GREEDY_ONLY = {
    "repetition_penalty": 1.0,
    "encoder_repetition_penalty": 1.0,
    "no_repeat_ngram_size": 0,
    "encoder_no_repeat_ngram_size": 0,
    "min_new_tokens": 0,
    "suppress_tokens": [],
    "begin_suppress_tokens": [],
    "guidance_scale": 1.0,
    "remove_invalid_values": False,
}


def length_batches(prompts: Sequence[Sequence[int]], size: int) -> list[list[int]]:
    """Indices in batches of ``size``, longest prompts first (padding cut; memory peaks early)."""
    order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))
    return [order[start : start + size] for start in range(0, len(order), size)]


def prefix_batches(prompts: Sequence[Sequence[int]], size: int) -> list[list[int]]:
    """Batches whose prompts share their first `PREFIX_KEY` tokens where possible (same task: same
    definition and examples), so `score_causal` runs the shared prefix once per batch; prompts sharing
    with no other one are batched by length."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, prompt in enumerate(prompts):
        groups.setdefault(tuple(prompt[:PREFIX_KEY]), []).append(i)
    batches: list[list[int]] = []
    alone: list[int] = []
    for members in groups.values():
        if len(members) == 1:
            alone += members
            continue
        members.sort(key=lambda i: -len(prompts[i]))
        batches += [members[start : start + size] for start in range(0, len(members), size)]
    rest = length_batches([prompts[i] for i in alone], size)
    return batches + [[alone[j] for j in batch] for batch in rest]


class StopAfterContent:
    """A transformers stopping criterion for `itprobe.decoding.stop_reached`: per row, on decoded new text."""

    def __init__(self, tokenizer: Any, stop: Sequence[str], start: int) -> None:
        self.tokenizer, self.stop, self.start = tokenizer, tuple(stop), start

    def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
        texts = self.tokenizer.batch_decode(input_ids[:, self.start :], skip_special_tokens=True)
        done = [stop_reached(text, self.stop) for text in texts]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


class FirstStepFinite:
    """A transformers logits processor that refuses NaN/inf logits at the first generated token (a broken
    model's arg-max would decode as a plausible answer); later steps are not checked, to stay sync-free."""

    def __init__(self) -> None:
        self.checked = False

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        if not self.checked:
            self.checked = True
            bad = ~torch.isfinite(scores.float()).all(dim=-1)
            if bool(bad.any()):
                raise NonFiniteOutput(int(bad.nonzero()[0, 0]))
        return scores


class HFLanguageModel:
    """A loaded transformers model behind the `itprobe.models.base.LanguageModel` protocol.

    Instances are processed in batches of ``batch_size``, sorted by prompt length to cut padding; results
    come back in input order. In fp32, scores do not depend on the batch size beyond float rounding (tested
    to 1e-4). Greedy decoding steps rows of several batches together, ``pool_rows`` at most at a time
    (default: `POOL_ROWS`, or the batch size if larger; `itprobe.models.generation.greedy_causal`).
    """

    def __init__(self, loaded: LoadedModel, batch_size: int = 8, pool_rows: int | None = None) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if pool_rows is not None and pool_rows < 1:
            raise ValueError("pool_rows must be >= 1")
        self.loaded = loaded
        self.batch_size = batch_size
        self.pool_rows = pool_rows if pool_rows is not None else max(batch_size, POOL_ROWS)
        self.tokenizer = loaded.tokenizer

    @property
    def identity(self) -> str:
        return self.loaded.identity

    @property
    def fingerprint(self) -> str:
        """Identity plus what else changes the numbers (kind, dtype, adapter version): the cache key's model.

        Outside fp32 the batch and pool sizes are part of it: bf16/fp16 padding and batch composition flip
        near-ties.
        """
        base = f"{self.identity}|{self.kind}|{self.loaded.dtype}|{ADAPTER_VERSION}"
        if self.loaded.dtype == torch.float32:
            return base
        return f"{base}|batch={self.batch_size}|pool={self.pool_rows}"

    @property
    def kind(self) -> str:
        return self.loaded.kind

    @property
    def max_positions(self) -> int | None:
        """The context a model's absolute position embeddings allow (a hard limit), if its config states one;
        None for relative positions (T5, whose configs may still carry an unused ``n_positions``)."""
        value = getattr(self.loaded.model.config, "max_position_embeddings", None)
        return int(value) if value else None

    @property
    def tokenizer_max_length(self) -> int | None:
        """The tokenizer's ``model_max_length`` (transformers sets ~1e30 when unknown: then None)."""
        value = getattr(self.tokenizer, "model_max_length", None)
        return int(value) if value and value < 10**7 else None

    # ---- tokenisation -------------------------------------------------------------------------------
    def _encode(self, text: str, special: bool = True) -> tuple[int, ...]:
        return tuple(self.tokenizer(text, add_special_tokens=special)["input_ids"])

    def _prompt_ids(self, prompt: str) -> tuple[int, ...]:
        if self.kind == "seq2seq":
            return self._encode(prompt)
        return causal_prompt_ids(self.tokenizer, prompt)

    def encode_choices(self, prompt: str, choices: Sequence[str]) -> Encoded:
        """Token ids of the prompt (once) and of each choice as a continuation of it
        (`itprobe.models.boundary`, shared with served models)."""
        if self.kind == "seq2seq":
            return Encoded(self._encode(prompt), tuple(self._encode(c, special=False) for c in choices))
        return Encoded(*causal_choice_ids(self.tokenizer, prompt, choices))

    # ---- the protocol -----------------------------------------------------------------------------------
    def score_choices(
        self, prompts: Sequence[str], choices: Sequence[Sequence[str]]
    ) -> list[list[ChoiceScore]]:
        """Log-likelihood (sum over tokens, natural log) of each choice after its prompt."""
        if len(prompts) != len(choices):
            raise ValueError("one list of choices per prompt is required")
        encoded = [self.encode_choices(p, c) for p, c in zip(prompts, choices, strict=True)]
        pad = self.tokenizer.pad_token_id
        model = self.loaded.model
        if self.kind == "seq2seq":
            start = model.config.decoder_start_token_id
            if start is None:
                start = pad

            def kernel(batch: list[Encoded]) -> list[list[ChoiceScore]]:
                return score_seq2seq(model, batch, pad, start)
        else:

            def kernel(batch: list[Encoded]) -> list[list[ChoiceScore]]:
                return score_causal(model, batch, pad)

        token_rows = [e.prompt for e in encoded]
        batcher = prefix_batches if self.kind == "causal" else length_batches
        return self._run_batches(encoded, batcher(token_rows, self.batch_size), kernel)

    def generate(
        self,
        prompts: Sequence[str],
        decoding: Decoding,
        *,
        implementation: Literal["auto", "transformers"] = "auto",
    ) -> list[str]:
        """Greedy continuation of each prompt (new tokens only, special tokens dropped, not stripped); see
        `itprobe.models.base.LanguageModel.generate` for the stop rule.

        ``implementation="auto"``: the shared-prefix kernel for causal LMs, transformers' ``generate`` for
        seq2seq; ``"transformers"``: transformers' ``generate`` always (batched, left-padded, length-sorted).
        """
        encoded = [self._prompt_ids(p) for p in prompts]
        if self.kind == "causal" and implementation == "auto":
            rule = StopRule(decoding, eos_ids(self.loaded.model, self.tokenizer))
            pad = self.tokenizer.pad_token_id

            def decode(ids: Sequence[int]) -> str:
                return self.tokenizer.decode(ids, skip_special_tokens=True)

            with torch.inference_mode(), self._autocast():
                new = greedy_causal(
                    self.loaded.model,
                    encoded,
                    prefix_batches(encoded, self.batch_size),
                    pad,
                    rule,
                    decode,
                    pool_rows=self.pool_rows,
                )
            return self.tokenizer.batch_decode(new, skip_special_tokens=True)
        kernel = self._transformers_generate(decoding)
        return self._run_batches(encoded, length_batches(encoded, self.batch_size), kernel)

    def _transformers_generate(self, decoding: Decoding) -> Callable[[list[tuple[int, ...]]], list[str]]:
        """A batch kernel running transformers' greedy ``generate`` with the `StopAfterContent` criterion."""
        from transformers import GenerationConfig, LogitsProcessorList, StoppingCriteriaList

        model = self.loaded.model
        eos = model.generation_config.eos_token_id
        config = GenerationConfig(
            max_new_tokens=decoding.max_new_tokens,
            do_sample=False,
            num_beams=1,
            pad_token_id=self.tokenizer.pad_token_id,
            eos_token_id=eos if eos is not None else self.tokenizer.eos_token_id,
            decoder_start_token_id=getattr(model.config, "decoder_start_token_id", None),
            **GREEDY_ONLY,
        )
        stop = decoding.stop

        def kernel(batch: list[tuple[int, ...]]) -> list[str]:
            padded = self.tokenizer.pad({"input_ids": [list(ids) for ids in batch]}, return_tensors="pt")
            padded = {k: v.to(self.loaded.device) for k, v in padded.items()}
            start = padded["input_ids"].shape[1] if self.kind == "causal" else 0
            criteria = StoppingCriteriaList([StopAfterContent(self.tokenizer, stop, start)]) if stop else None
            checks = LogitsProcessorList([FirstStepFinite()])
            out = model.generate(
                **padded, generation_config=config, stopping_criteria=criteria, logits_processor=checks
            )
            return self.tokenizer.batch_decode(out[:, start:], skip_special_tokens=True)

        return kernel

    def _autocast(self) -> Any:
        """bf16/fp16 compute on fp32 weights when the precision asks for it (see `LoadedModel`)."""
        dtype = self.loaded.dtype
        return torch.autocast(self.loaded.device.type, dtype=dtype, enabled=dtype != torch.float32)

    def _run_batches(
        self, items: Sequence[T], batches: list[list[int]], kernel: Callable[[list[T]], list]
    ) -> list:
        """Apply ``kernel`` to each batch of ``items`` (lists of indices); results in input order."""
        results: list = [None] * len(items)
        with torch.inference_mode(), self._autocast():
            for batch in batches:
                try:
                    answers = kernel([items[i] for i in batch])
                except NonFiniteOutput as err:  # the row of this batch -> the caller's index
                    raise NonFiniteOutput(batch[err.row], err.what) from None
                for i, result in zip(batch, answers, strict=True):
                    results[i] = result
        return results
