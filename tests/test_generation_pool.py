"""Decode pools larger than a prompt batch (`greedy_causal(pool_rows=..., pool_bytes=...)`,
`HFLanguageModel(pool_rows=...)`): rows of several prompt batches step together, as the paper's protocol needs
when rows never stop early, and their tokens still equal transformers' ``generate`` in fp32, token for token,
on a tiny Llama and a tiny Gemma 3 whose sliding window (8) is shorter than the prompts."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import torch
from tiny_models import one_torch_thread, save_tiny_gemma3, save_tiny_llama
from transformers import StoppingCriteriaList

from itprobe.decoding import Decoding
from itprobe.models import HFLanguageModel, LoadedModel, generation, load_model
from itprobe.models.generation import StopRule, eos_ids, greedy_causal
from itprobe.models.hf import POOL_ROWS, StopAfterContent, prefix_batches

pytestmark = pytest.mark.usefixtures("one_torch_thread")
_ = one_torch_thread  # imported for pytest's fixture lookup
CAP = 8
BATCH = 2


@pytest.fixture(scope="module")
def llama(tokenizer, tmp_path_factory: pytest.TempPathFactory) -> LoadedModel:
    return load_model(str(save_tiny_llama(tokenizer, tmp_path_factory.mktemp("llama"))), precision="fp32")


@pytest.fixture(scope="module")
def gemma(tokenizer, tmp_path_factory: pytest.TempPathFactory) -> LoadedModel:
    return load_model(str(save_tiny_gemma3(tokenizer, tmp_path_factory.mktemp("gemma"))), precision="fp32")


def _prompts() -> list[str]:
    """Two "tasks" of 4 prompts (batches of `BATCH`: two batches each) whose inputs differ in length by up to
    40 tokens, and two lone prompts: a pool of all rows mixes prompt lengths from about 10 to 90 tokens."""
    heads = [
        "Definition: say whether the claim follows from the passage. " * 3,
        "Definition: name the topic. ",
    ]
    prompts = [
        f"{heads[t]}\n\nInput: item {i}{' and more words' * (i * 3)}.\nOutput:"
        for t in (0, 1)
        for i in range(4)
    ]
    return [*prompts, "Question: what comes next?", "x"]


def _reference(lm: HFLanguageModel, prompt: str, cap: int, stop: tuple[str, ...] = ()) -> list[int]:
    """transformers' greedy ``generate`` on one unpadded prompt (the study's stop rule as its stopping
    criterion): the new tokens."""
    ids = torch.tensor([list(lm._prompt_ids(prompt))])
    model = lm.loaded.model
    criteria = StoppingCriteriaList([StopAfterContent(lm.tokenizer, stop, ids.shape[1])]) if stop else None
    with torch.inference_mode():
        out = model.generate(
            ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=cap,
            do_sample=False,
            pad_token_id=lm.tokenizer.pad_token_id,
            eos_token_id=model.generation_config.eos_token_id,
            stopping_criteria=criteria,
        )
    return out[0, ids.shape[1] :].tolist()


@pytest.fixture
def step_rows(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The number of rows of each decode step (`generation._step`)."""
    rows: list[int] = []
    step = generation._step

    def counted(model: object, pool: generation._Rows, *args: object) -> object:
        rows.append(len(pool.ids))
        return step(model, pool, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(generation, "_step", counted)
    yield rows


def _kernel(
    lm: HFLanguageModel, prompts: Sequence[str], stop: tuple[str, ...], **pool: int
) -> list[list[int]]:
    encoded = [lm._prompt_ids(p) for p in prompts]
    rule = StopRule(Decoding(CAP, stop), eos_ids(lm.loaded.model, lm.tokenizer))
    with torch.inference_mode():
        return greedy_causal(
            lm.loaded.model,
            encoded,
            prefix_batches(encoded, BATCH),
            lm.tokenizer.pad_token_id,
            rule,
            lm.tokenizer.decode,
            **pool,
        )


@pytest.mark.parametrize("which", ["llama", "gemma"])
def test_a_pool_of_several_batches_with_rows_that_never_stop(
    which: str, request: pytest.FixtureRequest, step_rows: list[int]
) -> None:
    """Every row runs to the cap (no EOS, no stop sequence): by default the 10 rows of 5 prompt batches step
    as one pool, and each row's tokens equal transformers' ``generate`` on its prompt alone."""
    lm = HFLanguageModel(request.getfixturevalue(which), batch_size=BATCH)
    prompts = _prompts()
    expected = [_reference(lm, p, CAP) for p in prompts]
    assert all(len(tokens) == CAP for tokens in expected)  # nobody stops early
    lengths = {len(lm._prompt_ids(p)) for p in prompts}
    assert (
        max(lengths) - min(lengths) > 40 and len(prefix_batches([lm._prompt_ids(p) for p in prompts], 2)) == 5
    )
    assert lm.pool_rows == POOL_ROWS > BATCH
    assert lm.generate(prompts, Decoding(CAP, ())) == lm.tokenizer.batch_decode(
        expected, skip_special_tokens=True
    )
    assert max(step_rows) == len(prompts)  # rows of all batches in one step
    step_rows.clear()
    assert _kernel(lm, prompts, (), pool_rows=len(prompts)) == expected
    assert step_rows[0] == len(prompts) and len(step_rows) <= CAP - 1
    step_rows.clear()
    assert _kernel(lm, prompts, (), pool_rows=BATCH) == expected  # the old pool: one batch at a time
    assert max(step_rows) == BATCH


@pytest.mark.parametrize("which", ["llama", "gemma"])
def test_rows_join_a_pool_that_has_stepped(
    which: str, request: pytest.FixtureRequest, step_rows: list[int]
) -> None:
    """With a stop sequence some rows leave early, the pool falls below ``pool_rows`` and the next batches'
    rows join it after it has taken steps (their caches narrower than its own): the tokens still equal
    transformers' ``generate`` on each prompt alone."""
    lm = HFLanguageModel(request.getfixturevalue(which), batch_size=BATCH)
    prompts = _prompts()
    free = [_reference(lm, p, CAP) for p in prompts]
    stop = tuple(text for text in (lm.tokenizer.decode(free[row][2:3]).strip() for row in (0, 3, 5)) if text)
    assert stop
    expected = [_reference(lm, p, CAP, stop) for p in prompts]
    assert len({len(tokens) for tokens in expected}) > 1
    for pool_rows in (3, 5, 16):
        step_rows.clear()
        assert _kernel(lm, prompts, stop, pool_rows=pool_rows) == expected
        assert max(step_rows) > BATCH


def test_the_pool_steps_once_its_cache_reaches_pool_bytes(llama: LoadedModel, step_rows: list[int]) -> None:
    """The memory bound: a pool whose cache store already holds ``pool_bytes`` takes no more rows."""
    lm = HFLanguageModel(llama, batch_size=BATCH)
    prompts = _prompts()
    free = _kernel(lm, prompts, (), pool_rows=16)
    assert max(step_rows) == len(prompts)
    step_rows.clear()
    assert _kernel(lm, prompts, (), pool_rows=16, pool_bytes=1) == free
    assert max(step_rows) == BATCH  # each batch's rows decode before the next batch joins


def test_reserved_layer_counts_its_bytes() -> None:
    layer = generation.ReservedLayer(torch.zeros(3, 2, 5, 4), torch.zeros(3, 2, 5, 4), reserve=7)
    assert layer.nbytes == 2 * 3 * 2 * (5 + 7) * 4 * 4
    layer.batch_select_indices(torch.tensor([0]))
    assert layer.nbytes == 2 * 1 * 2 * 12 * 4 * 4


def test_pool_setting_and_fingerprint(llama: LoadedModel, tmp_path: Path) -> None:
    """The pool decides bf16 near-ties as the batch does, so outside fp32 it names the cache entry."""
    assert HFLanguageModel(llama, batch_size=4).pool_rows == max(4, POOL_ROWS)
    assert HFLanguageModel(llama, batch_size=100).pool_rows == 100
    assert HFLanguageModel(llama, pool_rows=3).pool_rows == 3
    with pytest.raises(ValueError, match="pool_rows"):
        HFLanguageModel(llama, pool_rows=0)
    assert HFLanguageModel(llama, pool_rows=3).fingerprint == HFLanguageModel(llama).fingerprint
    llama.model.save_pretrained(tmp_path)
    llama.tokenizer.save_pretrained(tmp_path)
    bf16 = load_model(str(tmp_path), precision="bf16")
    assert HFLanguageModel(bf16, pool_rows=3).fingerprint != HFLanguageModel(bf16).fingerprint
