"""Loading a model SPEC (packaged alias, local directory, PEFT adapter directory or Hugging Face id).

Safetensors only (``use_safetensors=True``; an adapter without ``adapter_model.safetensors`` is refused):
a pickle checkpoint can run code on load. Remote code runs only with ``trust_remote_code=True``. Whether a
checkpoint is a causal LM or an encoder-decoder (T5) is read from its config (``is_encoder_decoder``);
everything downstream branches on `LoadedModel.kind` only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from itprobe.errors import UserError
from itprobe.models.endpoint import is_served
from itprobe.models.identity import directory_digest
from itprobe.models.packaged import PACKAGED, PackagedModelMissing, packaged_model_dir
from itprobe.models.precision import default_device, resolve_precision

if TYPE_CHECKING:
    import torch

ModelKind = Literal["causal", "seq2seq"]
DEFAULT_MODEL = "smollm2-135m-instruct"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
CONVERT_HINT = (
    'python -c "import torch, safetensors.torch as s; '
    "s.save_file(torch.load('adapter_model.bin', weights_only=True), 'adapter_model.safetensors')\""
)


@dataclass(frozen=True)
class LoadedModel:
    """A model ready for inference, with the tokenizer set up for batched evaluation.

    ``identity`` names these exact weights: ``<spec>@sha256:<digest of the directory's files>`` (weights,
    config, tokenizer, custom code: `itprobe.models.identity`) for local and packaged models
    (``+adapter@sha256:...`` for a PEFT adapter), ``<id>@<commit>`` for Hugging Face ids.

    Weights stay in fp32 whatever the precision; ``dtype`` is the *compute* dtype, which
    `itprobe.models.HFLanguageModel` applies with ``torch.autocast`` (matmuls in bf16/fp16, the residual
    stream, norms and softmax in fp32). Against bf16 weights this costs ~15% speed on CPU but keeps rank
    decisions those of fp32 (100% vs 95% same argmax in benchmarks/bench_eval.py); see docs/performance.md.
    """

    model: Any
    tokenizer: Any
    kind: ModelKind
    identity: str
    device: torch.device
    dtype: torch.dtype


@dataclass(frozen=True)
class _Source:
    location: str  # what from_pretrained receives: a directory or a hub id
    local: Path | None  # the directory, when local
    label: str  # how the identity names it


def _resolve(spec: str) -> _Source:
    if spec in PACKAGED:
        try:
            folder = packaged_model_dir(spec)
        except PackagedModelMissing as err:
            raise UserError(str(err)) from err
        return _Source(str(folder), folder, spec)
    path = Path(spec).expanduser()
    if path.is_dir():
        return _Source(str(path.resolve()), path.resolve(), str(path.resolve()))
    if spec.startswith((".", "/", "~")) or path.exists():
        raise UserError(f"model '{spec}' is not a directory (nor a packaged alias: {', '.join(PACKAGED)})")
    return _Source(spec, None, spec)


def _identity(source: _Source, model: Any) -> str:
    if source.local is not None:
        return f"{source.label}@sha256:{directory_digest(source.local)}"
    revision = getattr(model.config, "_commit_hash", None) or "unknown-revision"
    return f"{source.label}@{revision}"


def _kind(location: str, trust_remote_code: bool) -> ModelKind:
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(location, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as err:
        raise UserError(f"cannot load model '{location}': {err}") from err
    return "seq2seq" if getattr(config, "is_encoder_decoder", False) else "causal"


def _load_weights(location: str, kind: ModelKind, trust_remote_code: bool) -> Any:
    """fp32 weights (see `LoadedModel` for why) from safetensors only."""
    import torch
    from safetensors import SafetensorError
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

    auto = AutoModelForSeq2SeqLM if kind == "seq2seq" else AutoModelForCausalLM
    try:
        return auto.from_pretrained(
            location, dtype=torch.float32, use_safetensors=True, trust_remote_code=trust_remote_code
        )
    except (OSError, ValueError) as err:
        raise UserError(f"cannot load model '{location}' (safetensors weights required): {err}") from err
    except SafetensorError as err:  # a truncated or damaged file (a copy or download cut short)
        raise UserError(f"cannot load model '{location}': damaged safetensors file ({err})") from None


def _load_tokenizer(location: str, kind: ModelKind, trust_remote_code: bool) -> Any:
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(location, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as err:
        raise UserError(f"cannot load the tokenizer of '{location}': {err}") from err
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    # causal generation appends new tokens on the right, so prompts are padded on the left
    tokenizer.padding_side = "left" if kind == "causal" else "right"
    return tokenizer


def _has_tokenizer(folder: Path) -> bool:
    return any((folder / name).exists() for name in ("tokenizer.json", "tokenizer_config.json"))


def _load_adapter(adapter: Path, trust_remote_code: bool) -> tuple[Any, Any, ModelKind, str]:
    """Base model + PEFT adapter, merged (in fp32)."""
    from peft import PeftModel

    if not (adapter / ADAPTER_WEIGHTS).is_file():
        raise UserError(
            f"no {ADAPTER_WEIGHTS}: pickle adapters (adapter_model.bin) are refused, as loading one can run "
            f"code; convert it once where you trust it: {CONVERT_HINT}",
            path=adapter,
        )
    config = json.loads((adapter / "adapter_config.json").read_text())
    base_spec = config.get("base_model_name_or_path")
    if not base_spec:
        raise UserError("adapter_config.json names no base_model_name_or_path", path=adapter)
    base = _resolve(str(base_spec))
    kind = _kind(base.location, trust_remote_code)
    model = _load_weights(base.location, kind, trust_remote_code)
    model = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    tok_source = str(adapter) if _has_tokenizer(adapter) else base.location
    tokenizer = _load_tokenizer(tok_source, kind, trust_remote_code)
    identity = f"{_identity(base, model)}+adapter@sha256:{directory_digest(adapter)}"
    return model, tokenizer, kind, identity


def load_model(
    spec: str = DEFAULT_MODEL,
    *,
    precision: str = "auto",
    trust_remote_code: bool = False,
    device: str | torch.device | None = None,
) -> LoadedModel:
    """Load a model for inference.

    Args:
        spec: a packaged alias (``smollm2-135m-instruct``, ``gemma-3-270m``), a local directory with a full
            model or a PEFT adapter (``adapter_config.json``; the base is loaded and the adapter merged), or a
            Hugging Face id (needs internet or a populated HF cache).
        precision: ``auto`` | ``fp32`` | ``bf16`` | ``fp16`` (see `itprobe.models.precision`).
        trust_remote_code: allow model code shipped with the checkpoint to run.
        device: where to run; defaults to CUDA when available, else CPU.

    Raises:
        UserError: unknown spec, missing packaged model, unreadable or non-safetensors checkpoint.
    """
    if is_served(spec):
        raise UserError(f"'{spec}' is a served model: this needs local weights (training stays local)")
    import torch

    target = torch.device(device or default_device())
    dtype = resolve_precision(precision, target)
    source = _resolve(spec)
    if source.local is not None and (source.local / "adapter_config.json").exists():
        model, tokenizer, kind, identity = _load_adapter(source.local, trust_remote_code)
    else:
        kind = _kind(source.location, trust_remote_code)
        model = _load_weights(source.location, kind, trust_remote_code)
        tokenizer = _load_tokenizer(source.location, kind, trust_remote_code)
        identity = _identity(source, model)
    model = model.to(target).eval()
    return LoadedModel(model, tokenizer, kind, identity, target, dtype)


def spec_identity(spec: str) -> tuple[str, str | None]:
    """Where ``from_pretrained`` reads ``spec`` from, and its `LoadedModel.identity` when that is knowable
    without loading the weights (local directories and packaged aliases; None for hub ids)."""
    source = _resolve(spec)
    if source.local is None:
        return source.location, None
    return source.location, f"{source.label}@sha256:{directory_digest(source.local)}"
