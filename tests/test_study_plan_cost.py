"""The plan's evaluation cost: each batch's shared prompt prefix is counted once (found by mypy: the
prefix helper had moved to `itprobe.models.prefix` and the plan still imported it from `scoring`)."""

from __future__ import annotations

import dataclasses
import os

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
        _prompt_split([task], config, _char_tokenizer), ArmConfig(), "rank", config, ModelSize(1, 0)
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
