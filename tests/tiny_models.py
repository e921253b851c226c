"""Tiny random models saved as local directories, for the model and evaluation-engine tests.

Weights are random (seeded), so outputs are meaningless but deterministic; the tokenizer is the real
SmolLM2 one, so tokenisation paths (prompt/label boundaries, padding) are exercised as with real models.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def tiny_llama(tokenizer: Any, seed: int = 0, **overrides: Any) -> Any:
    """A seeded 2-layer Llama (hidden 64) with ``tokenizer``'s vocabulary and special tokens."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **overrides,
    )
    return LlamaForCausalLM(config)


def save_tiny_llama(tokenizer: Any, folder: Path, seed: int = 0) -> Path:
    """`tiny_llama` saved as safetensors in ``folder`` (with room for long NatInst prompts)."""
    tiny_llama(tokenizer, seed, max_position_embeddings=4096).save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder


def save_tiny_t5(tokenizer: Any, folder: Path, seed: int = 0) -> Path:
    """A 2-layer T5 (d_model 64) with ``tokenizer``'s vocabulary, saved as safetensors in ``folder``."""
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    torch.manual_seed(seed)
    pad = tokenizer.pad_token_id
    config = T5Config(
        d_model=64,
        d_ff=128,
        num_layers=2,
        num_heads=4,
        d_kv=16,
        vocab_size=len(tokenizer),
        decoder_start_token_id=pad,
        pad_token_id=pad,
        eos_token_id=tokenizer.eos_token_id,
    )
    T5ForConditionalGeneration(config).save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module", autouse=False)
def one_torch_thread() -> Iterator[None]:
    """Tiny models run fastest on one thread; with two threads on a busy shared CPU, OpenMP barriers
    made each forward 30x slower (0.8 s instead of 28 ms). Restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_gemma3(tokenizer: Any, seed: int = 0, sliding_window: int = 8) -> Any:
    """A seeded 4-layer `Gemma3ForCausalLM` (hidden 64) mixing sliding-window and global layers as Gemma 3
    does, with a tiny window so that test prompts (tens of tokens) are longer than it."""
    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(seed)
    config = Gemma3TextConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        query_pre_attn_scalar=16,
        sliding_window=sliding_window,
        layer_types=["sliding_attention", "sliding_attention", "full_attention", "sliding_attention"],
        final_logit_softcapping=30.0,
        max_position_embeddings=4096,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return Gemma3ForCausalLM(config)


def save_tiny_gemma3(tokenizer: Any, folder: Path, seed: int = 0, sliding_window: int = 8) -> Path:
    """`tiny_gemma3` saved as safetensors in ``folder``."""
    tiny_gemma3(tokenizer, seed, sliding_window).save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder
