"""The plan's evaluation cost: each batch's shared prompt prefix is counted once (found by mypy: the
prefix helper had moved to `itprobe.models.prefix` and the plan still imported it from `scoring`)."""

from __future__ import annotations

import dataclasses
import os

import pytest
from test_study_support import tiny_raw

from itprobe.models import ModelSize
from itprobe.prompts import encode_task
from itprobe.study import validate_config
from itprobe.study.config import ArmConfig
from itprobe.study.plan import _eval_pass, _prompt_split
from itprobe.tasks.types import Instance, Task


def _char_tokenizer(text: str) -> dict[str, list[int]]:
    return {"input_ids": [ord(c) for c in text]}


def test_eval_pass_counts_the_shared_prefix_once() -> None:
    config = validate_config(tiny_raw(eval={"modes": ["rank"], "batch_size": 4}))
    task = Task(
        name="t",
        definition="Say yes.",
        instances=tuple(Instance(f"i{k}", f"x{k}", ("yes",)) for k in range(4)),
    )
    one = _eval_pass(
        _prompt_split([task], config, _char_tokenizer)[0], ArmConfig(), "rank", config, ModelSize(1, 0)
    )
    prompts = [p.text.rstrip() for p in encode_task(task, config.prompt, _char_tokenizer)]
    shared = len(os.path.commonprefix(prompts))
    assert (one.instances, one.prefix_tokens) == (4, shared)
    assert one.suffix_tokens == sum(len(p) - shared for p in prompts)


def test_the_estimate_is_calibrated_on_finished_cells_of_the_same_kind() -> None:
    from itprobe.study import expand_grid
    from itprobe.study.plan import CellPlan, EvalPass, StudyPlan

    config = validate_config(tiny_raw())
    cells = expand_grid(config, model_identity="m", train_digest="a", test_digest="b")
    trained = [c for c in cells if c.kind == "trained"]
    untuned = next(c for c in cells if c.kind == "untuned")
    work = (EvalPass("original", "generate", 10, 100, 10, 1e9),)
    plans = tuple(CellPlan(c, c is trained[0], 0, 0, 1e9, work) for c in [untuned, *trained])
    plan = StudyPlan(plans, ModelSize(1, 0), matmul_flops=1e9, precision="float32")
    raw_trained = plan.seconds(plans[2])
    assert "no finished cell to calibrate on" in plan.render()
    # the first trained cell took three times its estimate: the other trained cells are scaled, untuned not
    measured = dataclasses.replace(plan, measured={trained[0].id: 3 * plan.seconds(plans[1])})
    assert measured.calibration("trained") == (3.0, 1) and measured.calibration("untuned") == (1.0, 0)
    assert measured.seconds(plans[2]) == 3 * raw_trained
    assert measured.seconds(plans[0]) == plan.seconds(plans[0])
    assert (
        "calibrated on this run's finished cells (1 trained cell: measured/estimated 3.00)"
        in measured.render()
    )


def test_generation_is_estimated_from_timed_decode_steps_when_measured() -> None:
    """A measured decode step replaces the FLOP count of decoding (a few rows per step are far from
    compute-bound), every row counted at the cap; the prompt pass stays a FLOP count."""
    from itprobe.study import expand_grid
    from itprobe.study.plan import CellPlan, DecodeProbe, EvalPass, StudyPlan

    config = validate_config(tiny_raw())
    cell = next(c for c in expand_grid(config, model_identity="m", train_digest="a", test_digest="b"))
    # 10 instances in 3 batches, a 128-token cap: 384 decode steps; 1e9 FLOPs of prompt, 5e9 of decoding
    work = (EvalPass("original", "generate", 10, 100, 10, 6e9, 3, 5e9, 128),)
    plan = StudyPlan((CellPlan(cell, False, 0, 0, 0.0, work),), ModelSize(1, 0), 1e9, "float32")
    counted = plan.seconds(plan.cells[0])
    assert counted == pytest.approx(1e9 / (1e9 * 0.6) + 5e9 / (1e9 * 0.3))
    timed = dataclasses.replace(
        plan, decode=DecodeProbe(rows=4, steps=8, step_seconds=0.25, prompt_tokens=300)
    )
    assert timed.seconds(timed.cells[0]) == pytest.approx(1e9 / (1e9 * 0.6) + 384 * 0.25)
    assert "decode measured: 0.250 s per step of 4 rows (16.0 new tokens/s" in timed.render()
    # an engine that pools rows of several batches steps all 10 rows at once: 128 steps, not 3 x 128
    pooled = dataclasses.replace(
        plan, decode=DecodeProbe(rows=64, steps=8, step_seconds=0.5, prompt_tokens=300)
    )
    assert pooled.seconds(pooled.cells[0]) == pytest.approx(1e9 / (1e9 * 0.6) + 128 * 0.5)


def test_eval_pass_counts_batches_and_decode_steps_at_the_cap() -> None:
    config = validate_config(tiny_raw(eval={"modes": ["generate"], "batch_size": 4}))
    task = Task(
        name="t",
        definition="Say yes.",
        instances=tuple(Instance(f"i{k}", f"x{k}", ("yes",)) for k in range(6)),
    )
    one = _eval_pass(
        _prompt_split([task], config, _char_tokenizer)[0], ArmConfig(), "generate", config, ModelSize(1, 0)
    )
    cap = config.eval.protocol().max_new_tokens
    assert (one.batches, one.decode_steps) == (2, 2 * cap)  # 6 instances in batches of 4 and 2
    assert one.decode_flops == 2.0 * 6 * cap


def test_the_plan_counts_prompts_the_token_budget_shortened_or_cut() -> None:
    """Demonstrations left out to fit `prompt.max_source_tokens`, and prompts still over it and cut (the
    input's end and 'Output:' lost: a causal model continues the text instead of answering), per test arm
    and training size: an evaluator's choice that can decide an answer, counted before compute."""
    from itprobe.study import expand_grid
    from itprobe.study.data import StudyData
    from itprobe.study.plan import PromptBudget, plan_study
    from itprobe.tasks.types import Example

    class Chars:  # one token per character, and back
        def __call__(self, text: str) -> dict[str, list[int]]:
            return _char_tokenizer(text)

        def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
            return "".join(map(chr, ids))

    demo = (Example("a b c d e f", "yes"), Example("g h i j k l", "no"))
    inputs = ["short", "x" * 80, "y" * 200]  # fits with both demonstrations / with none / not even alone
    task = Task("t", "Say yes.", tuple(Instance(f"i{k}", x, ("yes",)) for k, x in enumerate(inputs)), demo)
    prompts = encode_task(task, dataclasses.replace(validate_config(tiny_raw()).prompt, max_source_tokens=200),
                          Chars())  # fmt: skip
    assert [(p.examples_left_out, p.cut) for p in prompts] == [(0, False), (2, False), (2, True)]
    assert len(prompts[2].text) == 200 and not prompts[2].text.rstrip().endswith("Output:")

    raw = tiny_raw(train_tasks={"instances_per_task": [2]}, arms={"train": [{}], "test": ["same"]})
    config = validate_config({**raw, "prompt": {"max_source_tokens": 200}})
    data = StudyData(train=(task,), test=(task,), train_digest="a", test_digest="b", source="test")
    cells = expand_grid(config, model_identity="m", train_digest="a", test_digest="b")
    plan = plan_study(config, data, cells, set(), Chars(), ModelSize(1, 0))
    assert plan.budget == {"test original": PromptBudget(3, 2, 1), "training n=2": PromptBudget(2, 1, 0)}
    text = plan.render()
    assert "prompt budget 200 tokens (prompt.max_source_tokens)" in text
    assert "  test original: 1 of 3 cut, 2 with fewer demonstrations than asked" in text


def test_the_plan_counts_the_training_examples_the_trainer_will_see() -> None:
    """With ``training.max_steps`` the trainer stops after that many full batches whatever ``epochs`` says;
    the plan counted ``epochs`` passes over the prompts (its own count beside the progress bar's)."""
    from itprobe.study import expand_grid
    from itprobe.study.data import StudyData
    from itprobe.study.plan import plan_study

    task = Task("t", "Say yes.", tuple(Instance(f"i{k}", f"x{k}", ("yes",)) for k in range(6)))
    data = StudyData(train=(task, task), test=(task,), train_digest="a", test_digest="b", source="test")
    for training, examples in [({"epochs": 2}, 2 * 2 * 4), ({"max_steps": 3, "batch_size": 2}, 3 * 2)]:
        raw = tiny_raw(train_tasks={"instances_per_task": [4]}, arms={"train": [{}], "test": ["same"]})
        config = validate_config({**raw, "training": {**raw.get("training", {}), **training}})
        cells = expand_grid(config, model_identity="m", train_digest="a", test_digest="b")
        plan = plan_study(config, data, cells, set(), _char_tokenizer, ModelSize(1, 0))
        (trained,) = [p for p in plan.cells if p.cell.kind == "trained"]
        one = len(
            encode_task(task, config.prompt, _char_tokenizer, 4)[0].text
        )  # the prompts are equally long
        assert (trained.train_examples, trained.train_tokens) == (examples, examples * one), training
