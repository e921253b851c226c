"""Tiny random models and a learnable toy task for the training tests (also run as subprocess scripts).

Loops that take many optimizer steps use `word_tokenizer`, a word-level vocabulary of the toy prompts (~40
tokens): with the 49,152-token SmolLM2 vocabulary the embedding and output layers dominate a tiny model
and a step costs ~50× more on this shared 2-core machine. Tests of tokenization and of the loss use the
real SmolLM2 tokenizer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tiny_models import tiny_llama

from itprobe.models import LoadedModel, ModelKind
from itprobe.tasks.types import Example, Instance, Task


def tiny_loaded(model: Any, tokenizer: Any, kind: ModelKind) -> LoadedModel:
    """A tiny random model as `itprobe.models.load_model` would give it (fp32, on the CPU), for `train`."""
    import torch

    return LoadedModel(model, tokenizer, kind, "tiny-random", torch.device("cpu"), torch.float32)


def tiny_causal(tokenizer: Any, seed: int = 0, **overrides: Any) -> Any:
    return tiny_llama(tokenizer, seed, **overrides)


def tiny_seq2seq(tokenizer: Any, seed: int = 0) -> Any:
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    torch.manual_seed(seed)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
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
    return T5ForConditionalGeneration(config)


def toy_tasks(n_instances: int = 24) -> list[Task]:
    """Two tasks whose answer is fixed by the definition: learnable in a few dozen steps."""
    tasks = []
    for answer in ("yes", "no"):
        instances = tuple(
            Instance(f"{answer}-{i}", " ".join(["item"] * (1 + i % 6)) + f" {i}", (answer,))
            for i in range(n_instances)
        )
        tasks.append(
            Task(
                name=f"always_{answer}",
                definition=f"Whatever the input, answer {answer}.",
                instances=instances,
                positive_examples=(Example("item", answer),),
            )
        )
    return tasks


def word_tokenizer() -> Any:
    """A word-level fast tokenizer covering the toy tasks' prompts (``<eos>`` ends targets, ``<pad>`` pads)."""
    import re

    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    template = "Definition Positive Example 1 Input Output Now complete the following example - : ."
    texts = [
        template,
        *(t.definition for t in toy_tasks()),
        *(i.input for t in toy_tasks() for i in t.instances),
    ]
    words = sorted({w for text in texts for w in re.findall(r"\w+|[^\w\s]+", text)} | {"yes", "no"})
    vocab = {"<pad>": 0, "<eos>": 1, "<unk>": 2, **{w: i + 3 for i, w in enumerate(words)}}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>"
    )


def save_tiny_dir(path: Path, tokenizer: Any, kind: str = "causal", seed: int = 0) -> Path:
    """A tiny random model + tokenizer saved as a local model directory (a --model SPEC)."""
    model = tiny_causal(tokenizer, seed) if kind == "causal" else tiny_seq2seq(tokenizer, seed)
    model.save_pretrained(path, safe_serialization=True)
    tokenizer.save_pretrained(path)
    return path
