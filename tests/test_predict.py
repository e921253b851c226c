"""The evaluation engine on tiny random models: rank classification against brute force, batch-size
invariance, causal and seq2seq paths, the prediction cache and the prediction file format."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
import torch
from tiny_models import one_torch_thread, save_tiny_gemma3, save_tiny_llama, save_tiny_t5

from itprobe.decoding import Decoding, protocol
from itprobe.models import ChoiceScore, HFLanguageModel, LoadedModel, load_model
from itprobe.models.hf import prefix_batches
from itprobe.models.prefix import common_prefix_length
from itprobe.predict import (
    Prediction,
    predict_tasks,
    read_predictions,
    write_predictions,
)
from itprobe.prompts import PromptConfig, encode
from itprobe.tasks.types import Example, Instance, OutputSpace, Task

LABEL_SETS = [("Yes", "No"), ("positive", "negative", "neutral"), ("the first one", "second", "None of them")]


pytestmark = pytest.mark.usefixtures("one_torch_thread")
_ = one_torch_thread  # imported for pytest's fixture lookup


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ITPROBE_CACHE", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="module")
def causal(tokenizer, tmp_path_factory: pytest.TempPathFactory) -> LoadedModel:
    return load_model(str(save_tiny_llama(tokenizer, tmp_path_factory.mktemp("llama"))), precision="fp32")


@pytest.fixture(scope="module")
def gemma(tokenizer, tmp_path_factory: pytest.TempPathFactory) -> LoadedModel:
    """Gemma 3 layout (sliding-window and global layers) with a window of 8: the prompts are longer."""
    return load_model(str(save_tiny_gemma3(tokenizer, tmp_path_factory.mktemp("gemma"))), precision="fp32")


@pytest.fixture(scope="module")
def seq2seq(tokenizer, tmp_path_factory: pytest.TempPathFactory) -> LoadedModel:
    return load_model(str(save_tiny_t5(tokenizer, tmp_path_factory.mktemp("t5"))), precision="fp32")


def _prompts(n: int) -> tuple[list[str], list[tuple[str, ...]]]:
    """Prompts of varied length ending like Tk-Instruct's ("Output: "), with label sets of varied size.

    Two "tasks" whose prompts share a long definition (the shared-prefix path of causal scoring) and
    one-off prompts sharing nothing (the plain left-padded path).
    """
    definitions = [
        "Definition: decide whether the statement that follows is supported by the passage; " * 3,
        "Definition: classify the sentiment of the review as one of the given labels, nothing else. " * 2,
    ]
    prompts = []
    for i in range(n):
        head = definitions[i % 2] if i % 4 < 3 else f"Question {i} stands alone here."
        prompts.append(f"{head}\n\nNow complete the following example -\nInput: item {i}" + " more" * (i % 7))
        prompts[-1] += ".\nOutput: "
    return prompts, [LABEL_SETS[i % 3] for i in range(n)]


def _brute_force(lm: HFLanguageModel, prompt: str, labels: Sequence[str]) -> list[float]:
    """Each label scored by its own unpadded forward pass over prompt + label (no cache, no batching)."""
    enc = lm.encode_choices(prompt, labels)
    model = lm.loaded.model
    scores = []
    with torch.no_grad():
        for label in enc.labels:
            if lm.kind == "causal":
                logits = model(torch.tensor([[*enc.prompt, *label]])).logits[0]
                offset = len(enc.prompt) - 1
            else:
                out = model(input_ids=torch.tensor([list(enc.prompt)]), labels=torch.tensor([list(label)]))
                logits, offset = out.logits[0], 0
            logp = torch.log_softmax(logits.float(), dim=-1)
            scores.append(sum(float(logp[offset + t, tok]) for t, tok in enumerate(label)))
    return scores


@pytest.mark.parametrize("which", ["causal", "gemma", "seq2seq"])
def test_rank_scores_equal_brute_force(which: str, request: pytest.FixtureRequest) -> None:
    lm = HFLanguageModel(request.getfixturevalue(which), batch_size=8)
    prompts, labels = _prompts(12)
    scores = lm.score_choices(prompts[:12], labels[:12])
    multi_token = 0
    for prompt, label_set, row in zip(prompts, labels, scores, strict=False):
        expected = _brute_force(lm, prompt, label_set)
        assert [s.logprob for s in row] == pytest.approx(expected, abs=1e-4)
        multi_token += sum(s.n_tokens > 1 for s in row)
    assert multi_token > 0  # the second (cached continuation) pass was exercised


def test_prefix_batches_group_prompts_of_a_task() -> None:
    shared = list(range(100, 140))
    prompts = [[*shared, 1], [7, 8], [*shared, 2, 3], [9], [*shared, 4, 5, 6]]
    batches = prefix_batches(prompts, size=2)
    assert sorted(i for b in batches for i in b) == [0, 1, 2, 3, 4]
    assert batches[:2] == [[4, 2], [0]]  # the task's prompts, longest first, never mixed with others
    assert batches[2:] == [[1, 3]]
    assert common_prefix_length([prompts[0], prompts[2], prompts[4]]) == 40


@pytest.mark.parametrize("which", ["causal", "gemma", "seq2seq"])
def test_rank_scores_do_not_depend_on_batch_size(which: str, request: pytest.FixtureRequest) -> None:
    loaded = request.getfixturevalue(which)
    prompts, labels = _prompts(40)
    runs = {bs: HFLanguageModel(loaded, batch_size=bs).score_choices(prompts, labels) for bs in (1, 8, 32)}
    for bs in (8, 32):
        for row_1, row_b in zip(runs[1], runs[bs], strict=True):
            assert [s.n_tokens for s in row_1] == [s.n_tokens for s in row_b]
            assert [s.logprob for s in row_b] == pytest.approx([s.logprob for s in row_1], abs=1e-4)
            assert max(range(len(row_1)), key=lambda j: row_1[j].logprob) == max(
                range(len(row_b)), key=lambda j: row_b[j].logprob
            )


def test_causal_label_tokens_take_the_prompts_trailing_space(causal: LoadedModel) -> None:
    lm = HFLanguageModel(causal)
    tok = causal.tokenizer
    enc = lm.encode_choices("Input: x.\nOutput: ", ["positive"])
    assert tok.decode(enc.prompt) == "Input: x.\nOutput:"
    assert tok.decode(enc.labels[0]) == " positive"


@pytest.mark.parametrize("which", ["causal", "seq2seq"])
def test_generation_is_greedy_and_batch_size_invariant(which: str, request: pytest.FixtureRequest) -> None:
    loaded = request.getfixturevalue(which)
    prompts, _ = _prompts(10)
    one = HFLanguageModel(loaded, batch_size=1).generate(prompts, Decoding(6, ()))
    eight = HFLanguageModel(loaded, batch_size=8).generate(prompts, Decoding(6, ()))
    assert one == eight
    assert all(isinstance(t, str) for t in one)
    assert any(t.strip() for t in one)
    # the returned text is the greedy continuation only, never the prompt
    assert not any(t.startswith("Definition") for t in one)


class CountingModel:
    """A fake `LanguageModel`: prefers the shortest label, answers "x" when generating; counts calls."""

    def __init__(self, identity: str) -> None:
        self.identity = identity
        self.calls = 0

    def generate(self, prompts: Sequence[str], decoding: Decoding) -> list[str]:
        self.calls += len(prompts)
        return [f"x{decoding.max_new_tokens}"] * len(prompts)

    def score_choices(
        self, prompts: Sequence[str], choices: Sequence[Sequence[str]]
    ) -> list[list[ChoiceScore]]:
        self.calls += len(prompts)
        return [[ChoiceScore(-float(len(c)), len(c)) for c in cs] for cs in choices]


def _tasks() -> list[Task]:
    space = OutputSpace(("positive", "negative"), "declared")
    cls = Task(
        name="task_cls",
        definition="Classify the sentiment.",
        instances=tuple(
            Instance(f"c{i}", f"review {i}", ("positive" if i % 2 else "negative",)) for i in range(5)
        ),
        positive_examples=(Example("great", "positive"),),
        categories=("Sentiment Analysis",),
        output_space=space,
    )
    gen = Task(
        name="task_gen",
        definition="Write a title.",
        instances=tuple(Instance(f"g{i}", f"text {i}", ("a short title",)) for i in range(3)),
        categories=("Title Generation",),
    )
    return [cls, gen]


def test_predict_tasks_rank_mode_falls_back_to_generation_without_output_space() -> None:
    preds = predict_tasks(CountingModel("m"), _tasks(), PromptConfig(), mode="rank", progress=False)
    assert [p.mode for p in preds] == ["rank"] * 5 + ["generate"] * 3
    cls = preds[0]
    # both labels have 8 characters, so the fake scores them alike (-8.0 over 8 tokens): the tie goes to the
    # first label, and the summed log-likelihoods and token counts are stored as the model gave them
    assert cls.prediction == "positive"
    assert cls.labels == ("positive", "negative")
    assert cls.label_logprobs == (-8.0, -8.0)
    assert cls.label_ntokens == (8, 8)
    assert (
        cls.category == "Sentiment Analysis" and cls.input == "review 0" and cls.references == ("negative",)
    )
    # generation cap: the fixed default, whatever the references say
    assert preds[-1].prediction == f"x{Decoding().max_new_tokens}"


def test_rank_ties_go_to_the_first_label_and_length_normalisation_is_optional() -> None:
    tasks = [
        Task("t", "d", (Instance("1", "i", ("aa",)),), output_space=OutputSpace(("aaaa", "b"), "declared"))
    ]
    summed = predict_tasks(CountingModel("m"), tasks, PromptConfig(), mode="rank", progress=False)
    mean = predict_tasks(
        CountingModel("m"), tasks, PromptConfig(), mode="rank", progress=False, length_normalized=True
    )
    assert summed[0].prediction == "b"  # -1 > -4
    assert mean[0].prediction == "aaaa"  # both -1 per token: tie -> first label


def test_cache_hits_for_the_same_model_and_misses_for_another(tmp_path: Path) -> None:
    first = CountingModel("model-a@sha256:1")
    preds = predict_tasks(first, _tasks(), PromptConfig(), mode="rank", cache_dir=tmp_path, progress=False)
    assert first.calls == 8
    again = CountingModel("model-a@sha256:1")
    assert (
        predict_tasks(again, _tasks(), PromptConfig(), mode="rank", cache_dir=tmp_path, progress=False)
        == preds
    )
    assert again.calls == 0
    other = CountingModel("model-b@sha256:2")
    predict_tasks(other, _tasks(), PromptConfig(), mode="rank", cache_dir=tmp_path, progress=False)
    assert other.calls == 8
    # another prompt configuration or mode changes the prompt text / decoding: a miss too
    # (the generation task has no examples, so its prompts do not change with num_pos)
    predict_tasks(again, _tasks(), PromptConfig(num_pos=0), mode="rank", cache_dir=tmp_path, progress=False)
    assert again.calls == 5
    predict_tasks(again, _tasks(), PromptConfig(), mode="generate", cache_dir=tmp_path, progress=False)
    assert again.calls == 5 + 5


def test_cache_never_shares_results_between_real_models(
    tokenizer, causal: LoadedModel, tmp_path: Path
) -> None:
    other = load_model(str(save_tiny_llama(tokenizer, tmp_path / "other", seed=7)), precision="fp32")
    a, b = HFLanguageModel(causal), HFLanguageModel(other)
    assert a.fingerprint != b.fingerprint
    preds_a = predict_tasks(
        a, _tasks(), PromptConfig(), mode="rank", cache_dir=tmp_path / "c", progress=False
    )
    preds_b = predict_tasks(
        b, _tasks(), PromptConfig(), mode="rank", cache_dir=tmp_path / "c", progress=False
    )
    fresh_b = predict_tasks(b, _tasks(), PromptConfig(), mode="rank", progress=False)
    assert preds_b == fresh_b
    assert [p.label_logprobs for p in preds_a[:5]] != [p.label_logprobs for p in preds_b[:5]]
    bf16 = HFLanguageModel(load_model(str(tmp_path / "other"), precision="bf16"))
    assert bf16.fingerprint != b.fingerprint  # same weights, other precision: another cache entry
    # outside fp32 the batch size decides near-ties, so it names the cache entry too; in fp32 it does not
    assert HFLanguageModel(bf16.loaded, batch_size=4).fingerprint != bf16.fingerprint
    assert HFLanguageModel(b.loaded, batch_size=4).fingerprint == b.fingerprint


class RecordingModel(CountingModel):
    """Records what reaches the decoder; answers ' yes\nInput: more' (a base model's run-on line)."""

    def __init__(self, identity: str) -> None:
        super().__init__(identity)
        self.seen: list[tuple[tuple[str, ...], Decoding]] = []

    def generate(self, prompts: Sequence[str], decoding: Decoding) -> list[str]:
        self.seen.append((tuple(prompts), decoding))
        return [" yes\nInput: more"] * len(prompts)


def test_no_reference_reaches_the_decoder() -> None:
    """The cap and the stop rule are the same whatever the gold answers are; gold text never reaches it."""
    short = Task("t", "d", (Instance("1", "i", ("a",)),))
    long = Task("t", "d", (Instance("1", "i", ("word " * 500,)),))
    seen = []
    for task in (short, long):
        model = RecordingModel("m")
        predict_tasks(model, [task], PromptConfig(), progress=False, decoding=Decoding(32, ("\n",)))
        seen.append(model.seen)
    assert seen[0] == seen[1]
    ((prompts, decoding),) = seen[0]
    assert (decoding.max_new_tokens, decoding.stop) == (32, ("\n",))
    assert all("word" not in p for p in prompts)


def test_the_model_receives_the_decoding_the_caller_chose_whole() -> None:
    """The `Decoding` reaches the adapter as one object, protocol name and overrides included (it was
    unpacked into a cap and stop sequences, which lost the name)."""
    task = Task("t", "d", (Instance("1", "i", ("yes",)),))
    chosen = protocol("tk-instruct", max_new_tokens=16)
    model = RecordingModel("m")
    predict_tasks(model, [task], PromptConfig(), progress=False, decoding=chosen)
    ((_, received),) = model.seen
    assert (
        received == chosen and received.protocol == "tk-instruct" and received.label == "tk-instruct, cap 16"
    )


def test_answer_is_cut_at_the_stop_and_raw_text_kept() -> None:
    task = Task("t", "d", (Instance("1", "i", ("yes",)),))
    (pred,) = predict_tasks(RecordingModel("m"), [task], PromptConfig(), progress=False)
    assert pred.prediction == "yes" and pred.raw == " yes\nInput: more"
    (whole,) = predict_tasks(
        RecordingModel("m"), [task], PromptConfig(), progress=False, decoding=Decoding(8, ())
    )
    assert whole.prediction == "yes\nInput: more"


def test_cache_misses_when_the_stop_rule_or_cap_changes(tmp_path: Path) -> None:
    task = Task("t", "d", (Instance("1", "i", ("yes",)),))
    model = RecordingModel("m")
    for decoding in (Decoding(), Decoding(), Decoding(stop=("\n\n",)), Decoding(max_new_tokens=9)):
        predict_tasks(model, [task], PromptConfig(), progress=False, cache_dir=tmp_path, decoding=decoding)
    assert len(model.seen) == 3  # the repeated default hit the cache; each change missed it


@pytest.mark.parametrize("name", ["preds.jsonl", "preds.jsonl.gz"])
def test_prediction_files_round_trip_with_diagnostics(tmp_path: Path, name: str) -> None:
    import gzip
    import json

    preds = predict_tasks(CountingModel("m"), _tasks(), PromptConfig(), mode="generate", progress=False)
    preds[0] = Prediction(**{**preds[0].__dict__, "prediction": "Positive."})
    path = write_predictions(preds, tmp_path / name)
    assert read_predictions(path) == preds
    opener = gzip.open if name.endswith(".gz") else open
    with opener(path, "rt") as fh:
        lines = [json.loads(line) for line in fh]
    assert lines[0]["in_space_strict"] is True and lines[0]["in_space_loose"] is True
    assert lines[1]["in_space_strict"] is False  # "x14" is no label
    assert lines[-1]["in_space_strict"] is None  # generation task: no output space
    assert {"task", "id", "prediction", "references", "category", "mode"} <= set(lines[0])
    assert list(tmp_path.iterdir()) == [path]  # no temp file left behind


def test_bf16_precision_runs_under_autocast_close_to_fp32(causal: LoadedModel) -> None:
    from dataclasses import replace

    prompts, labels = _prompts(6)
    exact = HFLanguageModel(causal).score_choices(prompts, labels)
    rounded = HFLanguageModel(replace(causal, dtype=torch.bfloat16)).score_choices(prompts, labels)
    diffs = [
        abs(a.logprob - b.logprob)
        for ra, rb in zip(exact, rounded, strict=True)
        for a, b in zip(ra, rb, strict=True)
    ]
    assert 0 < max(diffs) < 0.5  # bf16 matmuls did run, and stayed close


@pytest.mark.slow
def test_packaged_model_on_natinst_classification(natinst_dir: Path) -> None:
    from itprobe.metrics import in_space_strict
    from itprobe.tasks import load_tasks

    names = ["task1344_glue_entailment_classification", "task242_tweetqa_classification"]
    tasks = load_tasks(natinst_dir / "test_tasks.jsonl.gz", names=names)
    lm = HFLanguageModel(load_model("smollm2-135m-instruct", precision="fp32"), batch_size=4)
    preds = predict_tasks(lm, tasks, PromptConfig(), mode="rank", max_instances=6, progress=False)
    assert [p.task for p in preds] == [names[0]] * 6 + [names[1]] * 6
    assert all(p.mode == "rank" and in_space_strict(p.prediction, p.labels) for p in preds)
    assert any(n > 1 for p in preds for n in p.label_ntokens)  # "0"/"1" are two tokens after "Output:"
    for task in tasks:  # the shared-prefix, cached scoring equals one unbatched forward per label
        first = next(p for p in preds if p.task == task.name)
        prompt = encode(task, task.instances[0], PromptConfig()).text
        assert list(first.label_logprobs) == pytest.approx(_brute_force(lm, prompt, first.labels), abs=1e-4)
    generated = predict_tasks(lm, tasks[:1], PromptConfig(), mode="generate", max_instances=2, progress=False)
    assert all(isinstance(p.prediction, str) and p.mode == "generate" for p in generated)
