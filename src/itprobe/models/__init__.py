"""Models: loading a SPEC (`load_model`), precision (`resolve_precision`) and the inference adapters behind
the `LanguageModel` protocol: `HFLanguageModel` (in-process, causal and seq2seq) and `ServedLanguageModel`
(an OpenAI-compatible server, SPEC ``openai:BASE_URL#NAME``), and the weightless ``fake:`` models.
`backends`: the registry of backends keyed by the SPEC's scheme; `open_model`, `open_tokenizer` and
`model_size` route a SPEC to its backend. An opened model is a `LanguageModel`; `tokenizer_of(model)` is its
tokenizer for prompt budgets (None for fakes and served models without one). `LoadedModel` is what
`load_model` gives: in-process weights with their tokenizer, which `HFLanguageModel` runs and training
tunes.

Importing this package does not import torch; `HFLanguageModel` is loaded on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from itprobe.models.backends import (
    ModelSize,
    OpenSettings,
    backend_of,
    model_backend,
    model_size,
    open_model,
    open_tokenizer,
)
from itprobe.models.base import ChoiceScore, LanguageModel, tokenizer_of
from itprobe.models.endpoint import is_served
from itprobe.models.loading import DEFAULT_MODEL, LoadedModel, ModelKind, load_model
from itprobe.models.precision import PRECISIONS, Precision, resolve_precision
from itprobe.models.served import ServedLanguageModel, ServedOptions

if TYPE_CHECKING:
    from itprobe.models.hf import HFLanguageModel

__all__ = [
    "DEFAULT_MODEL",
    "PRECISIONS",
    "ChoiceScore",
    "HFLanguageModel",
    "LanguageModel",
    "LoadedModel",
    "ModelKind",
    "ModelSize",
    "OpenSettings",
    "Precision",
    "ServedLanguageModel",
    "ServedOptions",
    "backend_of",
    "is_served",
    "load_model",
    "model_backend",
    "model_size",
    "open_model",
    "open_tokenizer",
    "resolve_precision",
    "tokenizer_of",
]


def __getattr__(name: str) -> Any:
    if name == "HFLanguageModel":
        from itprobe.models.hf import HFLanguageModel  # lazy: imports torch

        return HFLanguageModel
    raise AttributeError(f"module 'itprobe.models' has no attribute '{name}'")
