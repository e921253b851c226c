"""The input-length guard (issue #16, item 7): prompts never exceed the model's context; the cut follows the
Tk-Instruct rule and is announced, before any model time is spent."""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import pytest
from cli_runner import run_cli
from tiny_models import one_torch_thread, tiny_llama

from itprobe import cli
from itprobe.prompts import PromptConfig, PromptTruncated, fit_to_context
from itprobe.tasks.types import Instance, Task

pytestmark = pytest.mark.usefixtures("one_torch_thread")
_ = one_torch_thread  # imported for pytest's fixture lookup
CONTEXT = 256


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ITPROBE_CACHE", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="module")
def short_model(tokenizer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("short")
    tiny_llama(tokenizer, 0, max_position_embeddings=CONTEXT).save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder


class _Model:
    """A stand-in with the context attributes of `HFLanguageModel`."""

    def __init__(self, kind: str, max_positions: int | None, tokenizer_max_length: int | None) -> None:
        self.kind, self.max_positions, self.tokenizer_max_length = kind, max_positions, tokenizer_max_length


def test_fit_to_context_caps_the_budget() -> None:
    config = PromptConfig()
    causal = _Model("causal", 1000, 1000)
    assert fit_to_context(config, causal, 64).max_source_tokens == 1000 - 64 - 8
    assert fit_to_context(PromptConfig(max_source_tokens=300), causal, 64).max_source_tokens == 300
    assert fit_to_context(PromptConfig(max_source_tokens=5000), causal, 64).max_source_tokens == 1000 - 64 - 8
    # seq2seq: the answer goes to the decoder; relative positions (T5) have no hard limit, so an explicit budget
    # beyond the tokenizer's model_max_length is kept (Tk-Instruct used 1024 tokens with T5's 512)
    t5 = _Model("seq2seq", None, 512)
    assert fit_to_context(config, t5, 64).max_source_tokens == 512 - 8
    assert fit_to_context(PromptConfig(max_source_tokens=1024), t5, 64).max_source_tokens == 1024
    assert fit_to_context(config, object(), 64) == config  # a model that states no limit (test fakes)


def test_a_context_too_small_for_the_answer_is_refused() -> None:
    from itprobe.errors import UserError

    with pytest.raises(UserError, match="context"):
        fit_to_context(PromptConfig(), _Model("causal", 64, None), 64)


def test_prompts_beyond_the_context_are_cut_and_announced(short_model: Path) -> None:
    from itprobe.models import HFLanguageModel, load_model
    from itprobe.predict import predict_tasks

    lm = HFLanguageModel(load_model(str(short_model), precision="fp32", device="cpu"), batch_size=2)
    seen: list[str] = []
    generate = lm.generate
    lm.generate = lambda prompts, *a, **k: seen.extend(prompts) or generate(prompts, *a, **k)  # type: ignore[method-assign]
    task = Task(
        "t",
        "Summarise the text.",
        (Instance("long", "word " * 3000, ("x",)), Instance("short", "hi", ("y",))),
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        preds = predict_tasks(lm, [task], PromptConfig(), progress=False)
    assert len(preds) == 2
    lengths = [len(lm.tokenizer(p)["input_ids"]) for p in seen]
    assert max(lengths) <= CONTEXT - 64 and min(lengths) < 50
    assert any(issubclass(w.category, PromptTruncated) for w in caught)


def test_a_megabyte_input_is_cut_before_model_time(capsys, short_model: Path, tmp_path: Path) -> None:
    tasks = tmp_path / "big.jsonl"
    row = {"task": "t", "definition": "Summarise.", "input": "lorem ipsum " * 90_000, "output": "x"}
    tasks.write_text(json.dumps(row) + "\n")
    assert tasks.stat().st_size > 1_000_000
    start = time.perf_counter()
    code, _, err = run_cli(capsys, "predict", "--model", str(short_model), "--tasks", str(tasks), "--out",
                           str(tmp_path / "p.jsonl"), "--precision", "fp32")  # fmt: skip
    assert code == 0, err
    assert time.perf_counter() - start < 60
    warning = [line for line in err.splitlines() if line.startswith("itprobe: warning:")]
    assert len(warning) == 1 and "cut" in warning[0] and "--max-source-tokens" in warning[0]


def test_the_cli_prints_each_itprobe_warning_once(capsys: pytest.CaptureFixture[str]) -> None:
    cli._shown.clear()
    for _ in range(3):
        cli._show_warning(PromptTruncated("prompts longer than 8 tokens are cut"), PromptTruncated, "f.py", 1)
    cli._show_warning(PromptTruncated("another text"), PromptTruncated, "f.py", 1)
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "itprobe: warning: prompts longer than 8 tokens are cut",
        "itprobe: warning: another text",
    ]
