"""Training on tiny random models: learning, target-only loss, batching, LoRA, seq2seq, saving."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch
from test_train_helpers import tiny_causal, tiny_loaded, tiny_seq2seq, toy_tasks, word_tokenizer

from itprobe.errors import UserError
from itprobe.prompts import PromptConfig
from itprobe.train import TrainConfig, train
from itprobe.training.batching import collate, epoch_plan, split_global, steps_per_epoch
from itprobe.training.data import (
    TextExample,
    build_text_examples,
    derive_seed,
    sample_instances,
    tokenize_examples,
)
from itprobe.training.objective import CausalObjective, Seq2SeqObjective

PROMPT = PromptConfig(num_pos=1, max_source_tokens=256)


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Any:
    """One intra-op thread: on a shared, oversubscribed machine OpenMP's spinning threads make tiny-model
    steps ~20× slower; results do not depend on it."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _config(out: Path, **kw: Any) -> TrainConfig:
    base: dict[str, Any] = dict(
        out_dir=out,
        model="tiny",
        prompt=PROMPT,
        instances_per_task=12,
        batch_size=4,
        max_steps=6,
        lr=3e-3,
        precision="fp32",
        checkpoint_every=0,
    )
    base.update(kw)
    return TrainConfig(**base)


def _examples(tokenizer: Any, kind: str) -> list:
    texts, _ = build_text_examples(toy_tasks(6), arms=None, prompt=PROMPT, instances_per_task=6, seed=0)
    return tokenize_examples(texts, tokenizer, kind, max_source_tokens=256, max_target_tokens=16)


# ---- data ---------------------------------------------------------------------------------------------


def test_derive_seed_is_stable_and_distinct() -> None:
    assert derive_seed(0, "instances", "a") == derive_seed(0, "instances", "a")
    assert derive_seed(0, "instances", "a") != derive_seed(1, "instances", "a")
    assert all(0 <= derive_seed(s, "order", e) < 2**63 for s in range(5) for e in range(5))


def test_sampling_is_seeded_per_task_and_bounded() -> None:
    task = toy_tasks(30)[0]
    a, b, c = sample_instances(task, 10, 1), sample_instances(task, 10, 1), sample_instances(task, 10, 2)
    assert [i.id for i in a.instances] == [i.id for i in b.instances]
    assert [i.id for i in a.instances] != [i.id for i in c.instances]
    assert len(a.instances) == 10 and len(sample_instances(task, 99, 1).instances) == 30


def test_reference_choice_random_is_seeded_and_first_takes_outputs0() -> None:
    task = toy_tasks(8)[0]
    multi = replace(task, instances=tuple(replace(i, outputs=("a", "b", "c", "d")) for i in task.instances))
    first, _ = build_text_examples(
        [multi], arms=None, prompt=PROMPT, instances_per_task=8, seed=0, reference="first"
    )
    assert {ex.target for ex in first} == {"a"}
    drawn = [
        build_text_examples([multi], arms=None, prompt=PROMPT, instances_per_task=8, seed=0)[0]
        for _ in range(2)
    ]
    assert [e.target for e in drawn[0]] == [e.target for e in drawn[1]]
    assert len({e.target for e in drawn[0]}) > 1


def test_causal_tokenization_matches_inference_boundary(tokenizer: Any) -> None:
    ex = TextExample("t", "1", "Definition: say yes.\n\nOutput: ", "yes")
    (tok,) = tokenize_examples([ex], tokenizer, "causal", max_source_tokens=None, max_target_tokens=8)
    assert tok.source_ids == tuple(tokenizer("Definition: say yes.\n\nOutput:")["input_ids"])
    assert tokenizer.decode(tok.target_ids[:-1]) == " yes" and tok.target_ids[-1] == tokenizer.eos_token_id
    (cut,) = tokenize_examples([ex], tokenizer, "causal", max_source_tokens=3, max_target_tokens=1)
    assert len(cut.source_ids) == 3 and cut.target_ids == (tokenizer.eos_token_id,)


def test_arm_is_applied_at_training_time(tokenizer: Any) -> None:
    from itprobe.arms import ArmSpec

    texts, _ = build_text_examples(
        toy_tasks(4), arms=ArmSpec(definition="empty"), prompt=PROMPT, instances_per_task=4, seed=0
    )
    assert all("Whatever the input" not in ex.source for ex in texts)
    plain, _ = build_text_examples(toy_tasks(4), arms=None, prompt=PROMPT, instances_per_task=4, seed=0)
    assert all("Whatever the input" in ex.source for ex in plain)


# ---- batching -----------------------------------------------------------------------------------------


def test_epoch_plan_covers_data_once_and_groups_lengths() -> None:
    lengths = [(i * 37) % 101 + 1 for i in range(200)]
    plan = epoch_plan(lengths, 8, seed=3, epoch=0, min_size=1)
    assert sorted(i for b in plan for i in b) == list(range(200))
    assert plan == epoch_plan(lengths, 8, seed=3, epoch=0, min_size=1)
    assert plan != epoch_plan(lengths, 8, seed=3, epoch=1, min_size=1)
    assert len(plan) == steps_per_epoch(200, 8, 1)

    def padded(batches: list[list[int]]) -> int:
        return sum(max(lengths[i] for i in b) * len(b) for b in batches)

    shuffled = torch.randperm(200, generator=torch.Generator().manual_seed(0)).tolist()
    random_batches = [shuffled[i : i + 8] for i in range(0, 200, 8)]
    assert padded(plan) < 0.8 * padded(random_batches)


def test_plan_drops_a_tail_too_small_for_every_micro_batch() -> None:
    plan = epoch_plan([5] * 10, 4, seed=0, epoch=0, min_size=4)
    assert len(plan) == 2 == steps_per_epoch(10, 4, 4)
    assert split_global([0, 1, 2, 3, 4], [1, 5, 2, 4, 3], 2) == [[1, 3, 4], [2, 0]]


def test_collate_marks_only_target_positions(tokenizer: Any) -> None:
    examples = _examples(tokenizer, "causal")[:3]
    micro = collate(examples, "causal", tokenizer.pad_token_id)
    mask, ids = micro.inputs["loss_mask"], micro.inputs["input_ids"]
    assert int(mask.sum()) == sum(len(ex.target_ids) for ex in examples) == len(micro.targets)
    # the position before each target token is marked, and it predicts exactly that token
    shifted = ids[:, 1:][mask[:, :-1]]
    assert torch.equal(shifted, micro.targets)
    for r, ex in enumerate(examples):
        assert not mask[r, : len(ex.source_ids) - 1].any()
    assert micro.n_tokens == sum(ex.length for ex in examples)


# ---- objective: loss on target tokens only --------------------------------------------------------------


def _hf_masked_loss(model: Any, micro: Any, examples: list) -> torch.Tensor:
    labels = micro.inputs["input_ids"].clone()
    labels[:] = -100
    for r, ex in enumerate(examples):
        start = len(ex.source_ids)
        labels[r, start : start + len(ex.target_ids)] = torch.tensor(ex.target_ids)
    out = model(
        input_ids=micro.inputs["input_ids"], attention_mask=micro.inputs["attention_mask"], labels=labels
    )
    return out.loss * len(micro.targets)


def test_causal_objective_equals_hf_loss_with_prompt_masked(tokenizer: Any) -> None:
    model = tiny_causal(tokenizer).eval()
    examples = _examples(tokenizer, "causal")[:4]
    micro = collate(examples, "causal", tokenizer.pad_token_id)
    objective = CausalObjective(model)
    assert objective.selective  # the shortcut agrees with the model's own forward
    ours = objective(**micro.inputs, targets=micro.targets)
    assert torch.allclose(ours, _hf_masked_loss(model, micro, examples), rtol=1e-5)


def test_prompt_position_logits_do_not_change_the_loss(tokenizer: Any) -> None:
    model = tiny_causal(tokenizer).eval()
    examples = _examples(tokenizer, "causal")[:4]
    micro = collate(examples, "causal", tokenizer.pad_token_id)
    objective = CausalObjective(model)
    objective.selective = False  # full logits, so prompt positions exist and can be perturbed
    before = objective(**micro.inputs, targets=micro.targets)
    noise_mask = ~micro.inputs["loss_mask"]

    def perturb(module: Any, args: Any, output: torch.Tensor) -> torch.Tensor:
        return output + 50.0 * torch.randn_like(output) * noise_mask.unsqueeze(-1)

    handle = model.get_output_embeddings().register_forward_hook(perturb)
    try:
        after = objective(**micro.inputs, targets=micro.targets)
    finally:
        handle.remove()
    assert torch.equal(before, after)


def test_seq2seq_objective_equals_hf_loss(tokenizer: Any) -> None:
    model = tiny_seq2seq(tokenizer).eval()
    examples = _examples(tokenizer, "seq2seq")[:4]
    micro = collate(examples, "seq2seq", model.config.pad_token_id, model.config.decoder_start_token_id)
    ours = Seq2SeqObjective(model)(**micro.inputs, targets=micro.targets)
    labels = torch.full_like(micro.inputs["decoder_input_ids"], -100)
    for r, ex in enumerate(examples):
        labels[r, : len(ex.target_ids)] = torch.tensor(ex.target_ids)
    hf = model(
        input_ids=micro.inputs["input_ids"], attention_mask=micro.inputs["attention_mask"], labels=labels
    )
    assert torch.allclose(ours, hf.loss * len(micro.targets), rtol=1e-5)


# ---- whole runs (word-level toy vocabulary: see test_train_helpers) --------------------------------------


@pytest.fixture(scope="module")
def words() -> Any:
    return word_tokenizer()


def test_full_causal_learns_toy_task_and_saves_loadable_model(words: Any, tmp_path: Path) -> None:
    started = time.perf_counter()
    result = train(
        _config(tmp_path, max_steps=14, lr=1e-2),
        toy_tasks(),
        model=tiny_loaded(tiny_causal(words), words, "causal"),
        progress=False,
    )
    wall = time.perf_counter() - started
    assert result.steps == 14 and len(result.losses) == 14
    assert sum(result.losses[-3:]) / 3 < 0.15 * result.losses[0]  # from ln(vocab) ≈ 10.8 to below 1.6
    log = [json.loads(line) for line in (tmp_path / "train.log").read_text().splitlines()]
    assert [r["step"] for r in log] == list(range(1, 15))
    assert {"loss", "lr", "tokens_per_s", "epoch"} <= set(log[0])
    # timing is training time, not a running sum of running sums
    assert 0 < result.train_seconds < wall and [r["seconds"] for r in log] == sorted(
        r["seconds"] for r in log
    )
    assert log[-1]["tokens_per_s"] == pytest.approx(result.tokens_per_s, rel=0.01)
    resolved = json.loads((tmp_path / "train_config.json").read_text())
    assert resolved["total_steps"] == 14 and resolved["config"]["learning_rate"] == 1e-2
    meta = json.loads((result.model_dir / "itprobe_model.json").read_text())
    assert meta["seed"] == 0 and meta["method"] == "full" and meta["tasks"] == ["always_no", "always_yes"]

    from itprobe.models import load_model

    loaded = load_model(str(result.model_dir), precision="fp32")
    assert loaded.kind == "causal"
    trained = dict(loaded.model.named_parameters())
    assert torch.equal(trained["model.norm.weight"], dict(result_params(tmp_path))["model.norm.weight"])


def result_params(out: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    (last,) = sorted((out / "checkpoints").iterdir())[-1:]
    return {k.removeprefix("model."): v for k, v in load_file(str(last / "weights.safetensors")).items()}


def test_same_seed_same_run_and_split_invariance(words: Any, tmp_path: Path) -> None:
    def run(out: Path, **kw: Any) -> tuple[float, ...]:
        loaded = tiny_loaded(tiny_causal(words), words, "causal")
        return train(_config(out, max_steps=4, **kw), toy_tasks(), model=loaded, progress=False).losses

    one = run(tmp_path / "a")
    assert run(tmp_path / "b") == one
    # the same global batch of 4, as 2 micro-batches of 2: the same update up to float rounding
    split = run(tmp_path / "c", batch_size=2, grad_accum=2)
    assert split == pytest.approx(one, rel=1e-5)
    assert run(tmp_path / "d", seed=1) != one


def test_lora_trains_only_adapters_and_saves_merged_or_adapter(words: Any, tmp_path: Path) -> None:
    base = tiny_causal(words)
    before = {k: v.clone() for k, v in base.state_dict().items()}
    result = train(
        _config(tmp_path / "merged", method="lora", max_steps=8, lr=5e-3),
        toy_tasks(),
        model=tiny_loaded(base, words, "causal"),
        progress=False,
    )
    assert result.losses[-1] < result.losses[0]
    from safetensors.torch import load_file

    ckpt = load_file(str(sorted((tmp_path / "merged" / "checkpoints").iterdir())[-1] / "weights.safetensors"))
    assert ckpt and all("lora_" in name for name in ckpt)
    from itprobe.models import load_model

    merged = load_model(str(result.model_dir), precision="fp32").model.state_dict()
    changed = [k for k in before if not torch.equal(before[k], merged[k])]
    assert changed and all("proj" in k for k in changed)  # only LoRA-targeted linear layers moved

    adapter = train(
        _config(tmp_path / "adapter", method="lora", max_steps=2, save_adapter_only=True),
        toy_tasks(),
        model=tiny_loaded(tiny_causal(words), words, "causal"),
        progress=False,
    )
    assert (adapter.model_dir / "adapter_config.json").exists()
    assert (adapter.model_dir / "adapter_model.safetensors").exists()


def test_seq2seq_full_and_lora_learn(words: Any, tmp_path: Path) -> None:
    for method, lr in (("full", 3e-3), ("lora", 5e-3)):
        result = train(
            _config(tmp_path / method, method=method, max_steps=10, lr=lr),
            toy_tasks(),
            model=tiny_loaded(tiny_seq2seq(words), words, "seq2seq"),
            progress=False,
        )
        assert sum(result.losses[-3:]) / 3 < 0.7 * result.losses[0], method
        assert (result.model_dir / "model.safetensors").exists()


def test_bf16_autocast_runs_with_fp32_master_weights(words: Any, tmp_path: Path) -> None:
    model = tiny_causal(words)
    result = train(
        _config(tmp_path, precision="bf16", max_steps=3),
        toy_tasks(),
        model=tiny_loaded(model, words, "causal"),
        progress=False,
    )
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert all(loss == loss for loss in result.losses)  # no NaN


def test_resume_refuses_a_checkpoint_from_other_settings(words: Any, tmp_path: Path) -> None:
    train(
        _config(tmp_path, max_steps=2),
        toy_tasks(),
        model=tiny_loaded(tiny_causal(words), words, "causal"),
        progress=False,
    )
    with pytest.raises(UserError, match="no-resume"):
        train(
            _config(tmp_path, max_steps=2, lr=1e-3),
            toy_tasks(),
            model=tiny_loaded(tiny_causal(words), words, "causal"),
            progress=False,
        )
    fresh = train(
        _config(tmp_path, max_steps=2, lr=1e-3, resume=False),
        toy_tasks(),
        model=tiny_loaded(tiny_causal(words), words, "causal"),
        progress=False,
    )
    assert fresh.resumed_from is None


def test_config_rejects_bad_values(tmp_path: Path) -> None:
    with pytest.raises(UserError):
        TrainConfig(out_dir=tmp_path, batch_size=0)
    with pytest.raises(UserError):
        TrainConfig(out_dir=tmp_path, save_adapter_only=True)
    assert TrainConfig(out_dir=tmp_path).learning_rate == 5e-5
    assert TrainConfig(out_dir=tmp_path, method="lora").learning_rate == 2e-4
