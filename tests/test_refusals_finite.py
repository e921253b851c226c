"""Issue #27, group 1: a non-finite number never becomes a normal result (docs/refusals.md).

Each case ends with a one-line `UserError` (exit 2 from the CLI) and nothing non-finite stored, cached or
written; extend the tables here when a new source of scores appears.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import torch
from test_train_helpers import tiny_causal, tiny_loaded, toy_tasks, word_tokenizer

from itprobe.decoding import Decoding
from itprobe.errors import UserError
from itprobe.models.base import ChoiceScore
from itprobe.predict import predict_tasks
from itprobe.prompts import PromptConfig
from itprobe.tasks.types import Instance, OutputSpace, Task
from itprobe.train import TrainConfig, train


def _one_line(err: BaseException) -> str:
    text = str(err)
    assert "\n" not in text and len(text) < 400
    return text


# ---- training ------------------------------------------------------------------------------------------


def test_a_diverging_training_run_stops_naming_the_step(tmp_path: Path) -> None:
    words = word_tokenizer()
    config = TrainConfig(
        out_dir=tmp_path,
        model="tiny",
        prompt=PromptConfig(num_pos=1, max_source_tokens=256),
        instances_per_task=12,
        batch_size=4,
        max_steps=6,
        lr=1e8,
        precision="fp32",
        checkpoint_every=1,
        max_grad_norm=None,
    )
    with pytest.raises(UserError, match=r"training diverged at step \d") as err:
        train(config, toy_tasks(), model=tiny_loaded(tiny_causal(words), words, "causal"), progress=False)
    _one_line(err.value)
    assert not (tmp_path / "model").exists()  # no model made of NaN weights
    from safetensors.torch import load_file

    for saved in (tmp_path / "checkpoints").glob("*/weights.safetensors"):  # only good states are kept
        assert all(bool(torch.isfinite(t).all()) for t in load_file(str(saved)).values())


# ---- rank and generation -------------------------------------------------------------------------------


class _Scores:
    """A fake model whose log-probs are given (NaN, inf, positive): `predict_tasks` must refuse them."""

    def __init__(self, value: float) -> None:
        self.identity, self.value = f"fake-{value}", value

    def generate(self, prompts: Sequence[str], decoding: Decoding) -> list[str]:
        return ["yes"] * len(prompts)

    def score_choices(
        self, prompts: Sequence[str], choices: Sequence[Sequence[str]]
    ) -> list[list[ChoiceScore]]:
        return [[ChoiceScore(self.value, 1) for _ in cs] for cs in choices]


def _task() -> Task:
    return Task(
        "task_yn",
        "Answer yes or no.",
        tuple(Instance(f"i{i}", f"question {i}", ("yes" if i % 2 else "no",)) for i in range(3)),
        output_space=OutputSpace(("yes", "no"), "declared"),
    )


# positive log-probs are refused where they come from a server (test_refusals_served.py); the test fakes
# of other files use shifted scores, which rank the same
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_rank_refuses_a_non_finite_log_prob(value: float, tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"task_yn.*i0") as err:
        predict_tasks(
            _Scores(value), [_task()], PromptConfig(), mode="rank", progress=False, cache_dir=tmp_path
        )
    _one_line(err.value)
    cached = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert b"NaN" not in cached and b"Infinity" not in cached


@pytest.mark.parametrize("kind", ["llama", "t5"])
@pytest.mark.parametrize("mode", ["generate", "rank"])
def test_a_model_with_a_nan_weight_is_refused(kind: str, mode: str, tokenizer: Any, tmp_path: Path) -> None:
    from tiny_models import save_tiny_llama, save_tiny_t5

    from itprobe.models import HFLanguageModel, load_model

    save = save_tiny_llama if kind == "llama" else save_tiny_t5
    loaded = load_model(str(save(tokenizer, tmp_path / "m")), precision="fp32")
    with torch.no_grad():
        next(loaded.model.get_output_embeddings().parameters()).view(-1)[0] = math.nan  # every logit: NaN
    lm = HFLanguageModel(loaded, batch_size=2)
    with pytest.raises(UserError, match=r"task_yn.*i0.*not finite") as err:
        predict_tasks(lm, [_task()], PromptConfig(num_pos=0), mode=mode, progress=False)  # type: ignore[arg-type]
    _one_line(err.value)


def test_prediction_files_never_hold_bare_nan(tmp_path: Path) -> None:
    from itprobe.fsio import write_jsonl

    with pytest.raises(UserError, match="not finite"):
        write_jsonl(tmp_path / "p.jsonl", [{"x": math.nan}])
    assert not (tmp_path / "p.jsonl").exists()
