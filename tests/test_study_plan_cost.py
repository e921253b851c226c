"""The plan's evaluation cost: each batch's shared prompt prefix is counted once (found by mypy: the
prefix helper had moved to `itprobe.models.prefix` and the plan still imported it from `scoring`)."""

from __future__ import annotations

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
