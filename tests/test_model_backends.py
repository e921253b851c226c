"""The backend registry (one per SPEC scheme) and the weightless ``fake:first`` backend, driven by the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from audit_fakes import write_user_jsonl
from cli_runner import run_cli

from itprobe.decoding import Decoding
from itprobe.models import backend_of, model_size, open_model, open_tokenizer, tokenizer_of
from itprobe.models.fake import NO_DEMONSTRATION, first_demonstration_output
from itprobe.prompts import PromptConfig, encode
from itprobe.tasks.types import Example, Instance, Task


@pytest.mark.parametrize(
    ("spec", "scheme"),
    [
        ("fake:first", "fake"),
        ("openai:http://localhost:8000/v1#m", "openai"),
        ("smollm2-135m-instruct", "packaged"),
        ("./some/dir", "local"),
        ("HuggingFaceTB/SmolLM2-135M", "hf"),
    ],
)
def test_each_spec_has_one_backend(spec: str, scheme: str) -> None:
    assert backend_of(spec).scheme == scheme


def test_a_local_directory_is_local(tmp_path: Path) -> None:
    assert backend_of(str(tmp_path)).scheme == "local"


def test_fake_first_reads_the_first_demonstration() -> None:
    task = Task(
        name="t",
        definition="Say yes or no.",
        instances=(Instance("1", "Is it?\nReally?", ("no",)),),
        positive_examples=(Example("First\ninput", "yes", ""), Example("Second", "no", "")),
    )
    prompt = encode(task, task.instances[0], PromptConfig()).text
    assert first_demonstration_output(prompt) == "yes."  # Tk-Instruct's closing period, as printed
    model = open_model("fake:first")
    assert tokenizer_of(model) is None and open_tokenizer("fake:first") is None
    assert model.identity == "fake:first"
    assert model.generate([prompt, "no demonstrations"], Decoding(8, ())) == ["yes.", NO_DEMONSTRATION]
    scores = model.score_choices([prompt], [["no", "yes", "maybe"]])[0]
    assert [s.logprob for s in scores] == [-1.0, -2.0, -3.0]
    assert model_size("fake:first").body_params == 0


def test_predict_runs_on_fake_first_without_weights(tmp_path: Path, capsys) -> None:
    tasks = write_user_jsonl(tmp_path / "tasks.jsonl")
    for mode, expected in (("generate", "yes."), ("rank", "yes")):
        out = tmp_path / f"{mode}.jsonl"
        code, _, err = run_cli(
            capsys, "predict", "--model", "fake:first", "--tasks", str(tasks), "--out", str(out),
            "--mode", mode, "--no-cache",
        )  # fmt: skip
        assert code == 0, err
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        assert len(rows) == 14
        # every task's first demonstration answers "yes"; "yes" is the first label of every task
        assert {r["prediction"] for r in rows} == {expected}
        if mode == "rank":
            assert {tuple(r["label_logprobs"]) for r in rows} == {(-1.0, -2.0)}


def test_audit_runs_on_fake_first_without_weights(tmp_path: Path, capsys) -> None:
    tasks = write_user_jsonl(tmp_path / "tasks.jsonl")
    code, _, err = run_cli(
        capsys, "audit", "--model", "fake:first", "--tasks", str(tasks), "--out", str(tmp_path / "a"),
        "--n-boot", "100", "--no-progress", "--no-cache", "--probes", "original,simplified",
    )  # fmt: skip
    assert code == 0, err
    report = json.loads((tmp_path / "a" / "audit.json").read_text(encoding="utf-8"))
    assert report["provenance"]["model"] == "fake:first"
    # gold "yes": alpha 3 of 8, beta 4 of 6; the fake answers "yes" under every probe
    rows = report["data"]["modes"]["rank"]["scores"]
    assert abs(_em(rows, "original") - 7 / 14) < 1e-9


def _em(scores: dict, condition: str) -> float:
    """The exact match of ``condition`` in a scores payload (condition -> its estimates)."""
    return float(scores[condition]["exact_match"]["mean"])


def test_an_unknown_fake_is_one_line(tmp_path: Path, capsys) -> None:
    tasks = write_user_jsonl(tmp_path / "tasks.jsonl")
    code, _, err = run_cli(
        capsys, "predict", "--model", "fake:nope", "--tasks", str(tasks), "--out", str(tmp_path / "p.jsonl")
    )
    assert code == 2
    assert err.strip() == "itprobe: error: unknown fake model 'fake:nope'; known: fake:first"
