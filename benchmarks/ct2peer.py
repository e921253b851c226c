"""CTranslate2 as a benchmark peer of bench_generate and bench_eval (not a test; optional: `pip install
ctranslate2`, or the ``bench`` extra).

A user who wants speed on a CPU may convert the model for CTranslate2 (``ct2-transformers-converter``) and
run its ``Generator``. This module converts the same safetensors folder the other settings load (timed: the
conversion is part of what a user pays), loads it at the compute type that matches itprobe's precision
(fp32 with ``float32``, bf16 with ``bfloat16`` where CTranslate2 offers it on this CPU) and runs the same
work through CTranslate2's own batch calls:

- generation: ``generate_batch`` (greedy, ``include_prompt_in_result=False`` so that a prompt runs as one
  pass, ``end_token`` = the model's EOS ids, ``max_length`` = the new-token cap). CTranslate2 has no stop
  strings; its per-token ``callback`` returns True to end a row, and `StopTracker` applies the study's rule
  there (`itprobe.decoding.stop_reached`), keeping the token that stopped the row, as itprobe does.
- rank classification: ``score_batch`` on each (prompt, label) sequence; a label's log-likelihood is the sum of
  the log-probabilities of its tokens (`label_logprob`). CTranslate2 has no way to score a continuation on a
  cached prompt, so the prompt is recomputed per label, as lm-evaluation-harness does.

int8 (``int8_float32``: int8 matmuls, fp32 elsewhere; what ``compute_type="auto"`` picks on a CPU without
bf16) is reported beside, as what a user could pick: a quantised model is another model, so its agreement with
fp32 is stated, and it is never the "same precision" figure.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for the annotation only: itprobe.models.generation loads torch and transformers
    from itprobe.models.generation import StopRule

# itprobe precision -> CTranslate2 compute type at the same precision
SAME_PRECISION = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}
INT8 = "int8_float32"
# batch size of CTranslate2's generation calls. generate_batch runs the prompt tokens up to the shortest
# prompt of a batch as one pass and feeds the rest one token per step (its "constrained decoding"), so
# prompts of different lengths batch badly: on 8 NatInst prompts (2 tasks, fp32, one thread, loaded 2-core
# EPYC) batch 4 took 22.0 s against 16.4 s one prompt at a time, and a task's shared prefix as
# ``static_prompt`` (batch 4) 29.2 s against 20.3 s. Its best setting here is one prompt per call.
GENERATE_BATCH = 1


def missing_reason() -> str | None:
    """Why the peer cannot run here (None when it can)."""
    try:
        import ctranslate2  # noqa: F401
    except ImportError:
        return "ctranslate2 is not installed (pip install ctranslate2, or the 'bench' extra)"
    return None


def compute_types(precisions: Sequence[str], supported: Sequence[str]) -> dict[str, str | None]:
    """CTranslate2's compute type per itprobe precision (None: not offered on this device), plus int8."""
    out: dict[str, str | None] = {
        p: SAME_PRECISION[p] if SAME_PRECISION.get(p) in supported else None for p in precisions
    }
    out["int8"] = INT8 if INT8 in supported else None
    return out


def bf16_note(supported: Sequence[str], itprobe_native: bool) -> str:
    """Whether a bf16 comparison is possible here, in words (for the JSON)."""
    ct2 = "bfloat16" in supported
    if ct2 and itprobe_native:
        return "both run bf16 on this CPU: compared at bf16 when --precision includes bf16"
    sides = [name for name, has in (("CTranslate2", ct2), ("itprobe", itprobe_native)) if not has]
    return f"no bf16 comparison: {' and '.join(sides)} run(s) no native bf16 on this CPU"


@dataclass(frozen=True)
class Converted:
    path: Path
    seconds: float
    version: str


def peer_info(peer: dict[str, Any], same: dict[str, float]) -> dict[str, Any]:
    """The ``ctranslate2`` block both benchmarks' JSON share: version, conversion time, compute types, the
    bf16 note and ``speedup_by_precision`` (``same``: CTranslate2 seconds / itprobe's per precision)."""
    from itprobe.models.precision import cpu_has_fast_bf16

    return {
        "version": peer["converted"].version,
        "conversion_seconds": peer["converted"].seconds,
        "compute_types": peer["compute_types"],
        "supported_compute_types_cpu": peer["supported"],
        "bf16": bf16_note(peer["supported"], cpu_has_fast_bf16()),
        "speedup_by_precision": same,
        "not_offered": [p for p, t in peer["compute_types"].items() if t is None],
    }


def convert(model_dir: Path, into: Path) -> Converted:
    """Convert a transformers folder to a CTranslate2 model under ``into`` (weights kept in fp32: the
    compute type is chosen when a `Generator` loads it, int8 included); timed."""
    import ctranslate2
    from ctranslate2.converters import TransformersConverter

    start = time.perf_counter()
    out = TransformersConverter(str(model_dir)).convert(str(into / "ct2"), force=True)
    return Converted(Path(out), round(time.perf_counter() - start, 2), ctranslate2.__version__)


def temporary_folder() -> tempfile.TemporaryDirectory:
    """Where a run's conversion goes (about the fp32 weights' size), removed at exit."""
    return tempfile.TemporaryDirectory(prefix="itprobe-bench-ct2-")


def generator(converted: Converted, compute_type: str, threads: int) -> Any:
    import ctranslate2

    return ctranslate2.Generator(
        str(converted.path), device="cpu", compute_type=compute_type, inter_threads=1, intra_threads=threads
    )


class StopTracker:
    """A ``generate_batch`` callback: records each row's new token ids and says when a row stops.

    CTranslate2 ends a row at ``end_token`` and at ``max_length`` itself; the callback adds the stop
    sequences (True ends the row, after the token that completed the stop sequence)."""

    def __init__(self, rows: int, stop: Sequence[str], decode: Callable[[Sequence[int]], str]) -> None:
        from itprobe.decoding import stop_reached

        self.tokens: list[list[int]] = [[] for _ in range(rows)]
        self._stop, self._decode, self._reached = tuple(stop), decode, stop_reached

    def __call__(self, step: Any) -> bool:
        row = self.tokens[step.batch_id]
        row.append(int(step.token_id))
        return bool(self._stop) and self._reached(self._decode(row), self._stop)


def generate(
    gen: Any,
    tokenizer: Any,
    prompts: Sequence[Sequence[int]],
    rule: StopRule,
    batch_size: int = GENERATE_BATCH,
) -> list[str]:
    """Greedy continuations (new text only, special tokens dropped), as `HFLanguageModel.generate`."""

    def decode(ids: Sequence[int]) -> str:
        return tokenizer.decode(ids, skip_special_tokens=True)

    return [decode(row) for row in generate_ids(gen, tokenizer, prompts, rule, batch_size)]


def generate_ids(
    gen: Any,
    tokenizer: Any,
    prompts: Sequence[Sequence[int]],
    rule: StopRule,
    batch_size: int = GENERATE_BATCH,
) -> list[list[int]]:
    """The new token ids of `generate` under ``rule`` (the study's `Decoding` and the model's EOS ids, as
    `HFLanguageModel.generate` builds it); the token that stopped a row included."""

    def decode(ids: Sequence[int]) -> str:
        return tokenizer.decode(ids, skip_special_tokens=True)

    tracker = StopTracker(len(prompts), rule.stop, decode)
    gen.generate_batch(
        [tokenizer.convert_ids_to_tokens(list(p)) for p in prompts],
        max_batch_size=batch_size,  # CTranslate2 sorts by length and restores batch ids in the callback
        beam_size=1,
        max_length=rule.max_new_tokens,
        end_token=sorted(rule.eos),
        include_prompt_in_result=False,
        callback=tracker,
    )
    return tracker.tokens


def label_logprob(log_probs: Sequence[float], n_label_tokens: int) -> float:
    """A label's log-likelihood from ``score_batch``'s result for prompt + label tokens: its log-probs are
    those of tokens 1..n-1 given the tokens before, so the label's are the last ``n_label_tokens``."""
    if not 0 < n_label_tokens <= len(log_probs):
        raise ValueError(f"{n_label_tokens} label tokens, {len(log_probs)} scored positions")
    return float(sum(log_probs[-n_label_tokens:]))


def score(gen: Any, tokenizer: Any, encoded: Sequence[Any], batch_size: int) -> list[list[float]]:
    """Each label's summed log-likelihood after its prompt (``encoded``: `itprobe.models.scoring.Encoded`)."""
    sequences, owners = [], []
    for i, item in enumerate(encoded):
        for label in item.labels:
            sequences.append(tokenizer.convert_ids_to_tokens(list(item.prompt) + list(label)))
            owners.append((i, len(label)))
    results = gen.score_batch(sequences, max_batch_size=batch_size, max_input_length=0)
    scores: list[list[float]] = [[] for _ in encoded]
    for (i, n), result in zip(owners, results, strict=True):
        scores[i].append(label_logprob(result.log_probs, n))
    return scores
