"""The shared-prefix prompt encoding (itprobe.models.prefix) and greedy generator (itprobe.models.generation)
against unbatched forwards and transformers' ``generate``, token for token in fp32, on a tiny Llama and a
tiny Gemma 3 whose sliding window (8) is shorter than the prompts."""

from __future__ import annotations

import itertools
import os
import random
from collections.abc import Sequence
from pathlib import Path

import pytest
import torch
from tiny_models import one_torch_thread, save_tiny_gemma3, tiny_llama

from itprobe.decoding import Decoding, stop_reached
from itprobe.models import HFLanguageModel, LoadedModel, attention, load_model
from itprobe.models.generation import StopRule, eos_ids, greedy_causal
from itprobe.models.hf import StopAfterContent, prefix_batches
from itprobe.models.prefix import encode_prompts, length_groups

pytestmark = pytest.mark.usefixtures("one_torch_thread")
_ = one_torch_thread  # imported for pytest's fixture lookup
CAP = 10


@pytest.fixture(scope="module")
def llama(tokenizer, tmp_path_factory: pytest.TempPathFactory) -> LoadedModel:
    """A tiny Llama with weights large enough for sharp attention: with the usual 0.02 init its attention is
    near-uniform and its greedy tokens would not notice a wrong position."""
    folder = tmp_path_factory.mktemp("llama")
    tiny_llama(tokenizer, initializer_range=0.15, max_position_embeddings=4096).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return load_model(str(folder), precision="fp32")


@pytest.fixture(scope="module")
def gemma(tokenizer, tmp_path_factory: pytest.TempPathFactory) -> LoadedModel:
    return load_model(str(save_tiny_gemma3(tokenizer, tmp_path_factory.mktemp("gemma"))), precision="fp32")


def _prompts(n: int = 12) -> list[str]:
    """Two "tasks" (long shared definitions; inputs of 4 to 60 tokens, so that their suffix passes split
    into groups) and one-off prompts."""
    definitions = [
        "Definition: decide whether the statement that follows is supported by the passage; " * 3,
        "Definition: classify the sentiment of the review as one of the given labels, nothing else. " * 2,
    ]
    prompts = []
    for i in range(n):
        head = definitions[i % 2] if i % 4 < 3 else f"Question {i} stands alone here."
        tail = " more" * (i % 7) + " and then some more words" * (8 if i % 3 == 0 else 0)
        prompts.append(f"{head}\n\nInput: item {i}{tail}.\nOutput: ")
    return prompts


def _group_cost(lengths: list[int], groups: list[list[int]], overhead: int) -> int:
    return sum(len(g) * max(lengths[i] for i in g) + overhead for g in groups if lengths[g[0]])


def test_length_groups_split_at_the_least_cost() -> None:
    assert length_groups([5, 5, 5, 5]) == [[0, 1, 2, 3]]
    assert length_groups([0, 30, 0, 400, 390], overhead=24) == [[3, 4], [1], [0, 2]]
    rng = random.Random(0)
    for _ in range(200):
        lengths = [rng.choice([0, rng.randint(1, 40), rng.randint(1, 400)]) for _ in range(rng.randint(1, 8))]
        groups = length_groups(lengths, overhead=24)
        assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
        order = sorted((i for i in range(len(lengths)) if lengths[i]), key=lambda i: (-lengths[i], i))
        best = (
            min(  # every split of the sorted rows into runs
                _group_cost(lengths, [order[a:b] for a, b in itertools.pairwise((0, *cuts, len(order)))], 24)
                for k in range(len(order))
                for cuts in itertools.combinations(range(1, len(order)), k)
            )
            if order
            else 0
        )
        assert _group_cost(lengths, groups, 24) == best


@pytest.mark.parametrize("which", ["llama", "gemma"])
def test_encoded_prompts_equal_unbatched_forwards(which: str, request: pytest.FixtureRequest) -> None:
    lm = HFLanguageModel(request.getfixturevalue(which))
    model, pad = lm.loaded.model, lm.tokenizer.pad_token_id
    prompts = [lm._prompt_ids(p) for i, p in enumerate(_prompts(12)) if i % 2 == 0 and i % 4 < 3]
    shared = min(len(p) for p in prompts) - 1
    assert len(length_groups([len(p) - shared for p in prompts])) > 1  # the merge path runs
    with torch.inference_mode():
        encoded = encode_prompts(model, prompts, pad)
        for row, prompt in enumerate(prompts):
            alone = model(torch.tensor([list(prompt)])).logits[0, -1]
            assert torch.allclose(encoded.logits[row], alone, atol=1e-4)
            assert int(encoded.lengths[row]) == len(prompt) == int(encoded.mask[row].sum())
            assert bool(encoded.mask[row, -len(prompt) :].all())  # [padding | prompt]


def test_encoding_runs_the_prefix_and_one_pass_per_suffix_group(llama: LoadedModel) -> None:
    """Each prompt's last token runs in its suffix pass: no pass beyond the prefix and the length groups."""
    lm = HFLanguageModel(llama)
    model, pad = llama.model, lm.tokenizer.pad_token_id
    task = [lm._prompt_ids(p) for i, p in enumerate(_prompts(12)) if i % 2 == 0 and i % 4 < 3]
    shared = min(len(p) for p in task) - 1  # the task's prompts share all but their inputs
    lone = [
        lm._prompt_ids(p) for p in ("x", "Question 3 stands alone here.", "Another one, longer than that.")
    ]
    calls = []
    hook = model.register_forward_hook(lambda *_: calls.append(1))
    try:
        with torch.inference_mode():
            for prompts, passes in (
                (task, 1 + len(length_groups([len(p) - shared for p in task]))),
                (lone[:1], 1),  # one token: one pass
                (lone[1:2], 1),
                (lone, len(length_groups([len(p) for p in lone]))),  # no shared prefix: no prefix pass
            ):
                calls.clear()
                encoded = encode_prompts(model, prompts, pad)
                assert len(calls) == passes
                for row, prompt in enumerate(prompts):
                    alone = model(torch.tensor([list(prompt)])).logits[0, -1]
                    assert torch.allclose(encoded.logits[row], alone, atol=1e-4)
    finally:
        hook.remove()


def test_encoding_under_the_older_logits_to_keep_indexing(
    llama: LoadedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """transformers before `slice_logits_to_keep` took per-row columns indexed ``hidden[:, keep, :]``."""
    from transformers.models.llama import modeling_llama

    def older(hidden: torch.Tensor, keep: int | torch.Tensor) -> torch.Tensor:
        return hidden[:, slice(-keep, None) if isinstance(keep, int) else keep, :]

    monkeypatch.setattr(modeling_llama, "slice_logits_to_keep", older)
    lm = HFLanguageModel(llama)
    prompts = [lm._prompt_ids(p) for p in _prompts(12)]
    with torch.inference_mode():
        encoded = encode_prompts(llama.model, prompts, lm.tokenizer.pad_token_id)
        for row, prompt in enumerate(prompts):
            alone = llama.model(torch.tensor([list(prompt)])).logits[0, -1]
            assert torch.allclose(encoded.logits[row], alone, atol=1e-4)


def _reference(lm: HFLanguageModel, prompt: str, cap: int, stop: Sequence[str]) -> list[int]:
    """transformers' greedy ``generate`` on one unpadded prompt: the new tokens."""
    from transformers import GenerationConfig, StoppingCriteriaList

    ids = torch.tensor([list(lm._prompt_ids(prompt))])
    model = lm.loaded.model
    config = GenerationConfig(
        max_new_tokens=cap,
        do_sample=False,
        num_beams=1,
        pad_token_id=lm.tokenizer.pad_token_id,
        eos_token_id=model.generation_config.eos_token_id,
    )
    criteria = StoppingCriteriaList([StopAfterContent(lm.tokenizer, stop, ids.shape[1])]) if stop else None
    with torch.inference_mode():
        out = model.generate(
            ids, attention_mask=torch.ones_like(ids), generation_config=config, stopping_criteria=criteria
        )
    return out[0, ids.shape[1] :].tolist()


def _kernel(
    lm: HFLanguageModel, prompts: Sequence[str], cap: int, stop: Sequence[str], size: int
) -> list[list[int]]:
    """`greedy_causal` with the batches and pool `HFLanguageModel.generate` uses; new tokens in input order."""
    encoded = [lm._prompt_ids(p) for p in prompts]
    rule = StopRule(Decoding(cap, tuple(stop)), eos_ids(lm.loaded.model, lm.tokenizer))
    batches = prefix_batches(encoded, size)
    with torch.inference_mode():
        return greedy_causal(
            lm.loaded.model, encoded, batches, lm.tokenizer.pad_token_id, rule, lm.tokenizer.decode, size
        )


def _stops_that_split(lm: HFLanguageModel, free: list[list[int]]) -> tuple[str, ...]:
    """Stop sequences taken from the unstopped outputs, so that rows stop at different steps."""
    stops = []
    for row, step in ((0, 2), (1, 5), (4, 3)):
        text = lm.tokenizer.decode(free[row][step : step + 1]).strip()
        if text:
            stops.append(text)
    return tuple(stops)


@pytest.mark.parametrize("which", ["llama", "gemma"])
def test_tokens_equal_unbatched_transformers_generate(which: str, request: pytest.FixtureRequest) -> None:
    lm = HFLanguageModel(request.getfixturevalue(which))
    prompts = _prompts()
    free = [_reference(lm, p, CAP, ()) for p in prompts]
    stop = _stops_that_split(lm, free)
    stopped = [_reference(lm, p, CAP, stop) for p in prompts]
    lengths = {len(t) for t in stopped}
    assert len(lengths) > 2 and min(lengths) < CAP  # rows stop at different steps, some before the cap
    for tokens in stopped:
        text = lm.tokenizer.decode(tokens, skip_special_tokens=True)
        assert len(tokens) == CAP or stop_reached(text, stop)
    for size in (1, 4, 8):
        assert _kernel(lm, prompts, CAP, (), size) == free
        assert _kernel(lm, prompts, CAP, stop, size) == stopped


@pytest.mark.parametrize("which", ["llama", "gemma"])
def test_generate_equals_the_transformers_implementation(which: str, request: pytest.FixtureRequest) -> None:
    loaded = request.getfixturevalue(which)
    prompts = _prompts()
    lm = HFLanguageModel(loaded, batch_size=1)
    free = [lm.tokenizer.decode(_reference(lm, p, CAP, ()), skip_special_tokens=True) for p in prompts]
    stop = _stops_that_split(lm, [_reference(lm, p, CAP, ()) for p in prompts[:5]])
    for size in (1, 4, 8):
        lm = HFLanguageModel(loaded, batch_size=size)
        assert lm.generate(prompts, Decoding(CAP, ())) == free
        assert lm.generate(prompts, Decoding(CAP, stop)) == lm.generate(
            prompts, Decoding(CAP, stop), implementation="transformers"
        )


def test_kernels_read_grouped_kv_heads_without_repeating_them(
    llama: LoadedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tiny Llama has 2 key/value heads for 4 query heads. itprobe's kernels hand sdpa the 2 heads
    (``enable_gqa``) instead of transformers' per-layer copy of each head (`itprobe.models.attention`);
    transformers' own generate, the benchmarks' baseline, stays as shipped; the switch ends with the call."""
    calls: list[tuple[int, bool]] = []
    real = torch.nn.functional.scaled_dot_product_attention

    def spy(query: torch.Tensor, key: torch.Tensor, *args: object, **kwargs: object) -> torch.Tensor:
        calls.append((key.shape[1], bool(kwargs.get("enable_gqa", False))))
        return real(query, key, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", spy)
    monkeypatch.delenv(attention.SWITCH, raising=False)
    lm = HFLanguageModel(llama, batch_size=4)
    prompts = _prompts(6)
    lm.generate(prompts, Decoding(6, ()))
    lm.score_choices(prompts, [("yes", "no", "not at all")] * len(prompts))
    assert calls and set(calls) == {(2, True)}
    assert attention.SWITCH not in os.environ
    calls.clear()
    lm.generate(prompts, Decoding(3, ()), implementation="transformers")
    assert (4, False) in calls  # its padded prompt pass repeats the heads


@pytest.mark.parametrize("which", ["llama", "gemma"])
def test_eos_list_stops_rows_as_transformers_does(which: str, request: pytest.FixtureRequest) -> None:
    loaded = request.getfixturevalue(which)
    lm = HFLanguageModel(loaded)
    prompts = _prompts()
    free = [_reference(lm, p, CAP, ()) for p in prompts]
    config = loaded.model.generation_config
    before = config.eos_token_id
    config.eos_token_id = [lm.tokenizer.eos_token_id, free[0][3], free[2][1]]  # a list, as Gemma 3 ships
    try:
        expected = [_reference(lm, p, CAP, ()) for p in prompts]
        assert min(len(t) for t in expected) < CAP
        assert _kernel(lm, prompts, CAP, (), 8) == expected
    finally:
        config.eos_token_id = before


def test_one_token_prompt_and_lone_prompts(llama: LoadedModel) -> None:
    lm = HFLanguageModel(llama)
    prompts = ["", "x", *_prompts(3)]  # an empty prompt becomes BOS alone
    expected = [_reference(lm, p, 6, ()) for p in prompts]
    assert _kernel(lm, prompts, 6, (), 8) == expected
    assert _kernel(lm, prompts[:1], 6, (), 8) == expected[:1]


def test_stop_rule() -> None:
    rule = StopRule(Decoding(3, ("\n",)), frozenset({7}))
    text = {(1,): " a", (1, 2): " a\n", (1, 5): " a b"}

    def decode(ids: Sequence[int]) -> str:
        return text[tuple(ids)]

    assert rule.done([1, 7], decode)  # EOS
    assert rule.done([1, 2], decode)  # stop sequence after content
    assert not rule.done([1, 5], decode)
    assert rule.done([1, 5, 9], decode)  # the cap, decode not needed
    with pytest.raises(ValueError):
        StopRule(Decoding(0))


@pytest.mark.slow
def test_packaged_smollm2_on_natinst_equals_transformers_generate(natinst_dir: Path) -> None:
    from itprobe.prompts import PromptConfig, encode_task
    from itprobe.tasks import load_tasks

    tasks = [t for t in load_tasks(natinst_dir / "test_tasks.jsonl.gz") if t.is_classification][:3]
    prompts = [p.text for t in tasks for p in encode_task(t, PromptConfig(), max_instances=4)]
    lm = HFLanguageModel(load_model("smollm2-135m-instruct", precision="fp32", device="cpu"), batch_size=4)
    fast = lm.generate(prompts, Decoding(16, ("\n",)))
    assert fast == lm.generate(prompts, Decoding(16, ("\n",)), implementation="transformers")
    assert sum(bool(t.strip()) for t in fast) >= len(fast) // 2  # some rows may end at EOS straight away


@pytest.mark.parametrize("implementation", ["auto", "transformers"])
def test_greedy_ignores_the_models_generation_config_processors(
    llama: LoadedModel, implementation: str
) -> None:
    """transformers' ``generate`` merges unset fields from the model's generation config (a Hub model may ship
    ``repetition_penalty``, ``no_repeat_ngram_size``, ...); greedy is the arg-max of the raw logits."""
    lm = HFLanguageModel(llama, batch_size=4)
    prompts = _prompts(6)
    plain = [lm.tokenizer.decode(_reference(lm, p, CAP, ()), skip_special_tokens=True) for p in prompts]
    config = llama.model.generation_config
    saved = config.to_dict()
    config.update(repetition_penalty=1.5, no_repeat_ngram_size=1, min_new_tokens=CAP, do_sample=True, top_k=3)
    try:
        assert lm.generate(prompts, Decoding(CAP, ()), implementation=implementation) == plain
    finally:
        for key in ("repetition_penalty", "no_repeat_ngram_size", "min_new_tokens", "do_sample", "top_k"):
            setattr(config, key, saved.get(key))


def test_reserved_layer_behaves_as_a_dynamic_layer() -> None:
    from transformers.cache_utils import DynamicLayer

    from itprobe.models.generation import ReservedLayer

    torch.manual_seed(0)
    keys, values = torch.randn(3, 2, 5, 4), torch.randn(3, 2, 5, 4)
    plain, reserved = DynamicLayer(), ReservedLayer(keys, values, reserve=2)
    plain.update(keys, values)
    for extra in (1, 1, 3, 1):  # the third update outgrows the reserve
        new = torch.randn(3, 2, extra, 4), torch.randn(3, 2, extra, 4)
        for a, b in zip(plain.update(*new), reserved.update(*new), strict=True):
            assert torch.equal(a, b)
    index = torch.tensor([2, 0])
    plain.batch_select_indices(index)
    reserved.batch_select_indices(index)
    assert reserved.get_seq_length() == plain.get_seq_length() == 11
    assert torch.equal(reserved.keys, plain.keys) and torch.equal(reserved.values, plain.values)
    step = torch.randn(2, 2, 1, 4), torch.randn(2, 2, 1, 4)
    assert torch.equal(reserved.update(*step)[0], plain.update(*step)[0])


@pytest.mark.slow
def test_packaged_gemma3_beyond_its_sliding_window(natinst_dir: Path) -> None:
    """gemma-3-270m (window 512) on NatInst prompts of ~1,000 tokens: rank scores equal unbatched forwards
    and greedy tokens equal transformers' generate, in fp32."""
    from itprobe.models.packaged import PackagedModelMissing, packaged_model_dir
    from itprobe.prompts import PromptConfig, encode_task
    from itprobe.tasks import load_tasks

    try:
        packaged_model_dir("gemma-3-270m")
    except PackagedModelMissing as err:
        pytest.skip(str(err))
    names = ["task1439_doqa_cooking_isanswerable", "task1344_glue_entailment_classification"]
    tasks = load_tasks(natinst_dir / "test_tasks.jsonl.gz", names=names)
    prompts = [p.text for t in tasks for p in encode_task(t, PromptConfig(), max_instances=4)]
    labels = [t.output_space.labels for t in tasks for _ in range(4)]
    lm = HFLanguageModel(load_model("gemma-3-270m", precision="fp32", device="cpu"), batch_size=4)
    assert max(len(lm._prompt_ids(p)) for p in prompts) > lm.loaded.model.config.sliding_window
    scores = lm.score_choices(prompts, labels)
    model = lm.loaded.model
    with torch.inference_mode():
        for prompt, label_set, row in list(zip(prompts, labels, scores, strict=True))[::3]:
            enc = lm.encode_choices(prompt, label_set)
            for label, score in zip(enc.labels, row, strict=True):
                ids = torch.tensor([[*enc.prompt, *label]])
                logits = model(ids, logits_to_keep=len(label) + 1).logits[0, :-1]
                logp = torch.log_softmax(logits.float(), dim=-1)
                expected = sum(float(logp[t, tok]) for t, tok in enumerate(label))
                assert score.logprob == pytest.approx(expected, abs=1e-3)
    fast = lm.generate(prompts, Decoding(12, ("\n",)))
    assert fast == lm.generate(prompts, Decoding(12, ("\n",)), implementation="transformers")


def _decode_calls(lm: HFLanguageModel, prompts: list[str], cap: int, draft_tokens: int) -> tuple[list, int]:
    """Tokens of `greedy_causal` (batches of 4, no pool wait) and its number of single-column-or-block
    decode forwards (prompt passes not counted)."""
    from itprobe.models import generation

    encoded = [lm._prompt_ids(p) for p in prompts]
    rule = StopRule(Decoding(cap, ()), eos_ids(lm.loaded.model, lm.tokenizer))
    calls = []
    step = generation._step

    def counted(*args: object) -> object:
        calls.append(1)
        return step(*args)  # type: ignore[arg-type]

    generation._step = counted  # type: ignore[assignment]
    try:
        with torch.inference_mode():
            tokens = greedy_causal(
                lm.loaded.model,
                encoded,
                prefix_batches(encoded, 4),
                lm.tokenizer.pad_token_id,
                rule,
                lm.tokenizer.decode,
                pool_rows=1,
                draft_tokens=draft_tokens,
            )
    finally:
        generation._step = step  # type: ignore[assignment]
    return tokens, len(calls)


def test_prompt_lookup_drafts_save_steps_and_change_no_token(smollm2_dir: Path) -> None:
    """Rows that copy their prompt (a real model asked to repeat a sentence, in fp32) take fewer decode steps
    with drafts, and their tokens still equal transformers' ``generate``."""
    lm = HFLanguageModel(load_model(str(smollm2_dir), precision="fp32", device="cpu"))
    sentences = ["the quick brown fox jumps over the lazy dog near the river bank", "all cats sleep at noon"]
    prompts = [f"Copy the sentence.\nSentence: {s}\nCopy: {s.split()[0]}" for s in sentences]
    prompts.append("Name a colour.\nAnswer:")
    expected = lm.generate(prompts, Decoding(24, ()), implementation="transformers")
    plain, plain_steps = _decode_calls(lm, prompts, 24, 0)
    drafted, drafted_steps = _decode_calls(lm, prompts, 24, 8)
    assert lm.tokenizer.batch_decode(plain, skip_special_tokens=True) == expected
    assert drafted == plain
    assert sentences[0][4:40] in expected[0]  # the model copies, so there is something to draft
    assert drafted_steps < plain_steps


def test_windowed_models_decode_without_drafts(llama: LoadedModel, gemma: LoadedModel) -> None:
    from itprobe.models.generation import windowed

    assert not windowed(llama.model)
    assert windowed(gemma.model)  # rejected drafts would leave masked columns inside its window
