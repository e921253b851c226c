"""Model backends: the one place a model SPEC becomes a model, a tokenizer or a size, keyed by its scheme.

A backend is declared once with `model_backend` on its opener, with what tells its SPECs apart (``matches``;
by default the prefix ``SCHEME:``) and, where it has them, how it opens a tokenizer alone and how it sizes
the model without loading weights. Backends are tried in registration order:

- ``fake`` (``fake:NAME``): deterministic models without weights, for tests and docs (`itprobe.models.fake`);
- ``openai`` (``openai:BASE_URL#NAME``): an OpenAI-compatible server (`itprobe.models.served`);
- ``packaged`` (an alias such as ``smollm2-135m-instruct``), ``local`` (a directory, with or without a PEFT
  adapter) and ``hf`` (a Hugging Face id, the fallback): in-process weights (`load_model` +
  `itprobe.models.hf.HFLanguageModel`).

`open_model`, `open_tokenizer` and `model_size` dispatch on `backend_of`; nothing else branches on a SPEC.
An opened model is a `LanguageModel`; its tokenizer for prompt budgets is `tokenizer_of(model)`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from itprobe.errors import UserError
from itprobe.models.base import LanguageModel
from itprobe.models.endpoint import is_served
from itprobe.models.loading import load_model, spec_identity
from itprobe.models.packaged import PACKAGED
from itprobe.models.served import ServedOptions, connect


@dataclass(frozen=True)
class OpenSettings:
    """How to open a model: ``precision``, ``batch_size`` and ``device`` apply to in-process weights,
    ``served`` to servers (which decide precision and batching); ``trust_remote_code`` to both."""

    precision: str = "auto"
    batch_size: int = 8
    trust_remote_code: bool = False
    device: Any = None
    served: ServedOptions | None = None


@dataclass(frozen=True)
class ModelSize:
    """What a cost model needs to know about a model (from its config, weights never loaded)."""

    body_params: int  # parameters that every token multiplies with (embeddings excluded)
    head_params: int  # the output projection (vocabulary × hidden)


Opener = Callable[[str, OpenSettings], LanguageModel]
TokenizerOpener = Callable[[str, bool], Any]
Sizer = Callable[[str, bool], ModelSize]


@dataclass(frozen=True)
class Backend:
    """A registry entry (see the module doc)."""

    scheme: str
    matches: Callable[[str], bool]
    open: Opener
    tokenizer: TokenizerOpener | None = None
    size: Sizer | None = None


_BACKENDS: dict[str, Backend] = {}
# the module whose import registers the fake backend (it imports this one)
_FAKE_MODULE = "itprobe.models.fake"


def model_backend(
    scheme: str,
    *,
    matches: Callable[[str], bool] | None = None,
    tokenizer: TokenizerOpener | None = None,
    size: Sizer | None = None,
) -> Callable[[Opener], Opener]:
    """Register the decorated opener ``open(spec, settings) -> LanguageModel`` for ``scheme`` (a model with
    a tokenizer for prompt budgets holds it as ``tokenizer``: `itprobe.models.tokenizer_of`)."""

    def decorate(fn: Opener) -> Opener:
        if scheme in _BACKENDS:
            raise ValueError(f"model backend {scheme!r} is already registered")
        test = matches or (lambda spec: spec.startswith(f"{scheme}:"))
        _BACKENDS[scheme] = Backend(scheme, test, fn, tokenizer, size)
        return fn

    return decorate


def unregister_backend(scheme: str) -> None:
    """Remove a backend (tests and plugins that add one for a while)."""
    _BACKENDS.pop(scheme, None)


def backends() -> tuple[Backend, ...]:
    """Every backend, in the order SPECs are matched."""
    importlib.import_module(_FAKE_MODULE)
    # the in-process ones last, the hub id (which matches anything) at the very end
    local = ("packaged", "local", "hf")
    first = [b for name, b in _BACKENDS.items() if name not in local]
    return (*first, *(_BACKENDS[name] for name in local if name in _BACKENDS))


def backend_of(spec: str) -> Backend:
    """The backend whose SPECs ``spec`` is."""
    return next(b for b in backends() if b.matches(spec))


def open_model(
    spec: str,
    *,
    precision: str = "auto",
    batch_size: int = 8,
    trust_remote_code: bool = False,
    device: Any = None,
    served: ServedOptions | None = None,
) -> LanguageModel:
    """The model of ``spec``, ready for inference (its tokenizer for prompt budgets: `tokenizer_of`). See
    `OpenSettings` for what each setting applies to."""
    settings = OpenSettings(precision, batch_size, trust_remote_code, device, served)
    return backend_of(spec).open(spec, settings)


def open_tokenizer(spec: str, *, trust_remote_code: bool = False) -> Any:
    """The tokenizer of ``spec`` alone (no weights); None for a backend without one (a fake)."""
    found = backend_of(spec)
    return found.tokenizer(spec, trust_remote_code) if found.tokenizer is not None else None


def model_size(spec: str, *, trust_remote_code: bool = False) -> ModelSize:
    """Parameter counts of ``spec`` without loading its weights; a `UserError` for a backend that cannot
    say (a server)."""
    found = backend_of(spec)
    if found.size is None:
        raise UserError(f"model '{spec}': the {found.scheme} backend cannot size its model")
    return found.size(spec, trust_remote_code)


# --- the built-in backends ---------------------------------------------------------------------------


@model_backend("openai", matches=is_served)
def _open_served(spec: str, settings: OpenSettings) -> LanguageModel:
    return connect(spec, settings.served or ServedOptions(trust_remote_code=settings.trust_remote_code))


def _local_tokenizer(spec: str, trust_remote_code: bool) -> Any:
    from transformers import AutoTokenizer  # lazy: transformers

    location, _ = spec_identity(spec)
    try:
        return AutoTokenizer.from_pretrained(location, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as err:
        raise UserError(f"cannot load the tokenizer of '{spec}': {err}") from None


def _local_size(spec: str, trust_remote_code: bool) -> ModelSize:
    """Parameter counts from the config, the model built on the ``meta`` device (no weights read)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM

    location, _ = spec_identity(spec)
    config = AutoConfig.from_pretrained(location, trust_remote_code=trust_remote_code)
    auto = AutoModelForSeq2SeqLM if getattr(config, "is_encoder_decoder", False) else AutoModelForCausalLM
    with torch.device("meta"):
        model = auto.from_config(config, trust_remote_code=trust_remote_code)
    total = sum(p.numel() for p in model.parameters())
    head = model.get_output_embeddings().weight.numel()
    embeddings = model.get_input_embeddings().weight.numel()
    tied = model.get_output_embeddings().weight is model.get_input_embeddings().weight
    body = total - embeddings - (0 if tied else head)
    return ModelSize(body, head)


def _open_local(spec: str, settings: OpenSettings) -> LanguageModel:
    from itprobe.models.hf import HFLanguageModel  # lazy: imports torch

    loaded = load_model(
        spec,
        precision=settings.precision,
        trust_remote_code=settings.trust_remote_code,
        device=settings.device,
    )
    return HFLanguageModel(loaded, batch_size=settings.batch_size)


def _is_path(spec: str) -> bool:
    return spec.startswith((".", "/", "~")) or Path(spec).expanduser().exists()


_LOCAL = {"tokenizer": _local_tokenizer, "size": _local_size}
model_backend("packaged", matches=lambda spec: spec in PACKAGED, **_LOCAL)(_open_local)
model_backend("local", matches=_is_path, **_LOCAL)(_open_local)
model_backend("hf", matches=lambda spec: True, **_LOCAL)(_open_local)
