"""Model loading, precision selection and weight identity (tiny random models, no pretrained weights)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tiny_models import one_torch_thread, save_tiny_llama, save_tiny_t5

from itprobe.errors import UserError
from itprobe.models import load_model, resolve_precision
from itprobe.models.identity import directory_digest
from itprobe.models.precision import cpu_flags

pytestmark = pytest.mark.usefixtures("one_torch_thread")
_ = one_torch_thread  # imported for pytest's fixture lookup


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ITPROBE_CACHE", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="module")
def llama_dir(tokenizer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_llama(tokenizer, tmp_path_factory.mktemp("llama"))


@pytest.fixture(scope="module")
def t5_dir(tokenizer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_t5(tokenizer, tmp_path_factory.mktemp("t5"))


def test_precision_forced_names() -> None:
    assert resolve_precision("fp32", "cpu") == torch.float32
    assert resolve_precision("bf16", "cpu") == torch.bfloat16
    assert resolve_precision("fp16", "cpu") == torch.float16


def test_precision_auto_follows_cpu_flags() -> None:
    assert resolve_precision("auto", "cpu", cpu_flag_set=frozenset({"avx2", "amx_bf16"})) == torch.bfloat16
    assert (
        resolve_precision("auto", "cpu", cpu_flag_set=frozenset({"avx512f", "avx512_bf16"})) == torch.bfloat16
    )
    assert resolve_precision("auto", "cpu", cpu_flag_set=frozenset({"avx2", "avx512f"})) == torch.float32
    assert resolve_precision("auto", "mps", cpu_flag_set=frozenset({"amx_bf16"})) == torch.float32


def test_precision_auto_on_this_machine_reads_proc_cpuinfo() -> None:
    expected = torch.bfloat16 if cpu_flags() & {"amx_bf16", "avx512_bf16"} else torch.float32
    assert resolve_precision("auto", "cpu") == expected


def test_precision_unknown_is_a_user_error() -> None:
    with pytest.raises(UserError, match="unknown precision"):
        resolve_precision("int3", "cpu")


def test_load_causal_directory(llama_dir: Path, tokenizer) -> None:
    loaded = load_model(str(llama_dir), precision="fp32", device="cpu")
    assert loaded.kind == "causal"
    assert loaded.dtype == torch.float32
    assert next(loaded.model.parameters()).dtype == torch.float32
    assert loaded.tokenizer.padding_side == "left"
    assert loaded.tokenizer.pad_token is not None
    assert loaded.identity == f"{llama_dir.resolve()}@sha256:{directory_digest(llama_dir)}"
    assert not loaded.model.training


def test_load_seq2seq_directory_in_bf16(t5_dir: Path) -> None:
    loaded = load_model(str(t5_dir), precision="bf16", device="cpu")
    assert loaded.kind == "seq2seq"
    assert loaded.dtype == torch.bfloat16  # the compute dtype: weights stay fp32, autocast does the rest
    assert next(loaded.model.parameters()).dtype == torch.float32
    assert loaded.tokenizer.padding_side == "right"


def test_identity_changes_with_the_weights(tokenizer, tmp_path: Path) -> None:
    first = directory_digest(save_tiny_llama(tokenizer, tmp_path / "a", seed=0))
    again = directory_digest(save_tiny_llama(tokenizer, tmp_path / "b", seed=0))
    other = directory_digest(save_tiny_llama(tokenizer, tmp_path / "c", seed=1))
    assert first == again  # same content in another directory: same digest
    assert first != other


def test_identity_notices_rewritten_weights_in_place(tokenizer, tmp_path: Path) -> None:
    folder = save_tiny_llama(tokenizer, tmp_path / "m", seed=0)
    before = directory_digest(folder)
    save_tiny_llama(tokenizer, folder, seed=3)
    assert directory_digest(folder) != before


def test_peft_adapter_directory_is_merged(llama_dir: Path, tmp_path: Path) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(llama_dir)
    peft_model = get_peft_model(
        base, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    )
    peft_model.peft_config["default"].base_model_name_or_path = str(llama_dir)
    peft_model.save_pretrained(tmp_path / "adapter")
    expected = peft_model.merge_and_unload()

    loaded = load_model(str(tmp_path / "adapter"), precision="fp32", device="cpu")
    ids = torch.tensor([[5, 6, 7, 8]])
    with torch.no_grad():
        assert torch.allclose(loaded.model(ids).logits, expected(ids).logits, atol=1e-5)
    assert "+adapter@sha256:" in loaded.identity
    assert loaded.identity.startswith(f"{llama_dir.resolve()}@sha256:")


def test_bad_specs_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not a directory"):
        load_model(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError):
        load_model(str(tmp_path / "empty"))
