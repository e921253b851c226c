"""The weights identity: it must change whenever what the model computes changes (issue #16, items 1-3)."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from tiny_models import one_torch_thread, save_tiny_llama

from itprobe.errors import UserError
from itprobe.models import identity
from itprobe.models.identity import directory_digest, file_sha256

pytestmark = pytest.mark.usefixtures("one_torch_thread")
_ = one_torch_thread  # imported for pytest's fixture lookup

FIXED = (1_600_000_000, 1_600_000_000)  # what tar, `rsync -t` or `touch -r` leave behind


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ITPROBE_CACHE", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="module")
def seed0(tokenizer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_llama(tokenizer, tmp_path_factory.mktemp("seed0"), seed=0)


@pytest.fixture(scope="module")
def seed1(tokenizer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_llama(tokenizer, tmp_path_factory.mktemp("seed1"), seed=1)


def _tasks(tmp_path: Path) -> Path:
    rows = [
        {
            "task": "t",
            "definition": "Answer yes or no.",
            "input": f"question {i}",
            "output": "yes" if i % 2 else "no",
        }
        for i in range(4)
    ]
    path = tmp_path / "tasks.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _predict(capsys, model: Path, tasks: Path, out: Path, cache: Path) -> list[dict]:
    from cli_runner import run_cli

    code, _, err = run_cli(
        capsys, "predict", "--model", str(model), "--tasks", str(tasks), "--out", str(out),
        "--mode", "rank", "--precision", "fp32", "--cache-dir", str(cache), "--json",
    )  # fmt: skip
    assert code == 0, err
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_replaced_weights_with_the_same_mtime_are_not_served_from_the_cache(
    capsys, seed0: Path, seed1: Path, tmp_path: Path
) -> None:
    model = tmp_path / "model"
    shutil.copytree(seed0, model)
    weights = model / "model.safetensors"
    os.utime(weights, FIXED)
    tasks, cache = _tasks(tmp_path), tmp_path / "cache"
    before = _predict(capsys, model, tasks, tmp_path / "a.jsonl", cache)

    shutil.copyfile(seed1 / "model.safetensors", weights)  # same size, same header, other tensors
    os.utime(weights, FIXED)
    after = _predict(capsys, model, tasks, tmp_path / "b.jsonl", cache)
    assert [r["label_logprobs"] for r in before] != [r["label_logprobs"] for r in after]
    fresh = _predict(capsys, seed1, tasks, tmp_path / "c.jsonl", tmp_path / "cache2")
    assert [r["label_logprobs"] for r in after] == [r["label_logprobs"] for r in fresh]


def test_memo_is_trusted_only_for_an_unchanged_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(identity, "RACY_NS", 0)  # as if the memo were written long after the file
    calls: list[Path] = []
    real = identity._full_digest
    monkeypatch.setattr(identity, "_full_digest", lambda p: calls.append(p) or real(p))
    path = tmp_path / "weights.data"
    content = bytearray(4 << 20)
    path.write_bytes(content)
    first = file_sha256(path)
    assert file_sha256(path) == first and len(calls) == 1  # memo used

    # one byte changed in place where neither the first MiB nor a sampled block looks, mtime put back:
    # only the ctime tells
    offset = (1 << 20) + 100_000
    time.sleep(0.05)  # past the file system's timestamp tick (RACY_NS covers this outside the test)
    mtime_ns = path.stat().st_mtime_ns
    with path.open("r+b") as fh:
        fh.seek(offset)
        fh.write(b"x")
    os.utime(path, ns=(mtime_ns, mtime_ns))
    assert file_sha256(path) != first and len(calls) == 2

    replacement = tmp_path / "other"
    replacement.write_bytes(content)
    os.replace(replacement, path)  # another inode, the first content again
    assert file_sha256(path) == first and len(calls) == 3


def test_a_memo_younger_than_the_clock_granularity_is_not_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []
    real = identity._full_digest
    monkeypatch.setattr(identity, "_full_digest", lambda p: calls.append(p) or real(p))
    path = tmp_path / "config.json"
    path.write_text("{}")
    file_sha256(path)
    file_sha256(path)  # the file changed < RACY_NS before it was hashed: rehash rather than trust
    assert len(calls) == 2


def test_identity_covers_tokenizer_code_and_template_files(seed0: Path, tmp_path: Path) -> None:
    model = tmp_path / "m"
    shutil.copytree(seed0, model)
    before = directory_digest(model)
    for name, text in (("vocab.json", "{}"), ("merges.txt", "#"), ("modeling_x.py", "X = 1\n"),
                       ("chat_template.jinja", "{{ x }}")):  # fmt: skip
        (model / name).write_text(text)
        changed = directory_digest(model)
        assert changed != before, name
        before = changed
    (model / "README.md").write_text("# notes")  # documentation does not change what the model computes
    (model / "pytorch_model.bin").write_bytes(b"never loaded: safetensors only")
    assert directory_digest(model) == before


def test_remote_code_edit_changes_the_identity(seed0: Path, tmp_path: Path) -> None:
    model = tmp_path / "m"
    shutil.copytree(seed0, model)
    (model / "modeling_custom.py").write_text("SCALE = 1.0\n")
    before = directory_digest(model)
    (model / "modeling_custom.py").write_text("SCALE = 2.0\n")
    assert directory_digest(model) != before


def _adapter(base: Path, folder: Path, seed: int) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    peft_model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(base),
        LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False),
    )
    peft_model.peft_config["default"].base_model_name_or_path = str(base)
    peft_model.save_pretrained(folder)
    return folder


def test_pickle_adapters_are_refused(seed0: Path, tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file

    from itprobe.models import load_model

    adapter = _adapter(seed0, tmp_path / "adapter", seed=0)
    tensors = load_file(adapter / "adapter_model.safetensors")
    (adapter / "adapter_model.safetensors").unlink()
    torch.save(tensors, adapter / "adapter_model.bin")
    with pytest.raises(UserError, match=r"adapter_model\.safetensors.*pickle.*convert"):
        load_model(str(adapter), precision="fp32", device="cpu")


def test_two_adapters_have_two_identities(seed0: Path, tmp_path: Path) -> None:
    from itprobe.models import load_model

    a = load_model(str(_adapter(seed0, tmp_path / "a", seed=0)), precision="fp32", device="cpu").identity
    b = load_model(str(_adapter(seed0, tmp_path / "b", seed=1)), precision="fp32", device="cpu").identity
    assert a.split("+adapter@")[0] == b.split("+adapter@")[0]
    assert a != b
