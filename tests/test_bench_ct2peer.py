"""The CTranslate2 benchmark peer (benchmarks/ct2peer.py): its stop rule, label scores and precision mapping
on literals, and, where ctranslate2 is installed, a converted tiny Llama against itprobe in fp32."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from tiny_models import one_torch_thread, save_tiny_llama

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import ct2peer  # noqa: E402

_ = one_torch_thread  # imported for pytest's fixture lookup


def test_compute_types_match_precision_and_say_what_is_not_offered() -> None:
    cpu_avx2 = ["float32", "int8", "int8_float32"]
    assert ct2peer.compute_types(["fp32", "bf16"], cpu_avx2) == {
        "fp32": "float32",
        "bf16": None,  # not offered: never replaced by another precision
        "int8": "int8_float32",
    }
    assert ct2peer.compute_types(["bf16"], [*cpu_avx2, "bfloat16"])["bf16"] == "bfloat16"
    assert ct2peer.compute_types(["fp32"], ["float32"])["int8"] is None


def test_bf16_note_names_the_side_without_native_bf16() -> None:
    assert "CTranslate2 and itprobe" in ct2peer.bf16_note(["float32"], itprobe_native=False)
    assert ct2peer.bf16_note(["float32"], itprobe_native=True).endswith(
        "CTranslate2 run(s) no native bf16 on this CPU"
    )
    assert ct2peer.bf16_note(["bfloat16"], itprobe_native=True).startswith("both run bf16")


def _steps(tracker: ct2peer.StopTracker, row: int, tokens: list[int]) -> list[bool]:
    return [tracker(SimpleNamespace(batch_id=row, token_id=t)) for t in tokens]


def test_stop_tracker_applies_the_study_rule_and_keeps_the_stopping_token() -> None:
    text = {1: "\n", 2: "yes", 3: "\nInput", 4: " no"}

    def decode(ids: list[int]) -> str:
        return "".join(text[i] for i in ids)

    tracker = ct2peer.StopTracker(2, ("\n",), decode)
    # a leading newline is exempt (the answer may start on the next line); the newline after it stops
    assert _steps(tracker, 0, [1, 2, 3]) == [False, False, True]
    assert _steps(tracker, 1, [4]) == [False]
    assert tracker.tokens == [[1, 2, 3], [4]]
    endless = ct2peer.StopTracker(1, (), decode)  # tk-instruct: EOS and the cap only (CTranslate2's own)
    assert _steps(endless, 0, [2, 3, 3]) == [False, False, False]


def test_label_logprob_sums_the_last_label_positions() -> None:
    # score_batch on prompt (3 tokens) + label (2 tokens) gives 4 log-probs: tokens 2..5 given the ones before
    assert ct2peer.label_logprob([-1.0, -2.0, -0.5, -0.25], 2) == -0.75
    with pytest.raises(ValueError):
        ct2peer.label_logprob([-1.0], 2)


@pytest.mark.usefixtures("one_torch_thread")
def test_converted_tiny_llama_agrees_with_itprobe_in_fp32(tokenizer, tmp_path: Path) -> None:
    pytest.importorskip("ctranslate2")
    from itprobe.decoding import Decoding
    from itprobe.models import HFLanguageModel, load_model
    from itprobe.models.generation import StopRule, eos_ids

    folder = save_tiny_llama(tokenizer, tmp_path / "llama")
    lm = HFLanguageModel(load_model(str(folder), precision="fp32"), batch_size=4)
    converted = ct2peer.convert(folder, tmp_path)
    gen = ct2peer.generator(converted, "float32", threads=1)
    prompts = [f"Definition: say yes or no.\n\nInput: item {i}{' more' * i}.\nOutput:" for i in range(6)]
    ids = [lm._prompt_ids(p) for p in prompts]
    eos = eos_ids(lm.loaded.model, lm.tokenizer)
    for decoding in (Decoding(12, ()), Decoding(12, ("\n",))):
        ours = lm.generate(prompts, decoding)
        theirs = ct2peer.generate(gen, lm.tokenizer, ids, StopRule(decoding, eos), batch_size=2)
        assert theirs == ours
    # max_length counts new tokens only, as the cap does (the prompts are longer than 12 tokens)
    rows = ct2peer.generate_ids(gen, lm.tokenizer, ids, StopRule(Decoding(12, ()), eos))
    assert max(len(row) for row in rows) == 12
    labels = [("yes", "no", "maybe so")] * len(prompts)
    encoded = [lm.encode_choices(p, lab) for p, lab in zip(prompts, labels, strict=True)]
    theirs_scores = ct2peer.score(gen, lm.tokenizer, encoded, batch_size=4)
    ours_scores = [[s.logprob for s in row] for row in lm.score_choices(prompts, labels)]
    for a, b in zip(ours_scores, theirs_scores, strict=True):
        assert b == pytest.approx(a, abs=1e-4)


def test_where_outputs_part_is_recorded_without_their_text() -> None:
    import bench_generate

    assert bench_generate.where_they_part(3, " his.\n", " her.") == {
        "row": 3,
        "common_prefix_chars": 2,
        "chars": 6,
        "chars_other": 5,
    }
    assert bench_generate.where_they_part(0, "yes", "yes\n")["common_prefix_chars"] == 3
    summary = bench_generate.compare(["a", "Input: secret"], ["a", "Input: other"], ())
    assert "secret" not in str(summary) and summary["identical_outputs"] == 1
