"""`itprobe predict` end to end through the real CLI on a tiny random Llama."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tiny_models import one_torch_thread, save_tiny_llama

from itprobe.cli import main
from itprobe.metrics import exact_match
from itprobe.predict import read_predictions
from itprobe.tasks import save_tasks
from itprobe.tasks.types import Example, Instance, OutputSpace, Task

pytestmark = pytest.mark.usefixtures("one_torch_thread")
_ = one_torch_thread  # imported for pytest's fixture lookup


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ITPROBE_CACHE", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="module")
def model_dir(tokenizer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_llama(tokenizer, tmp_path_factory.mktemp("llama"))


@pytest.fixture(scope="module")
def tasks_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cls = Task(
        name="task001_sentiment",
        definition="Is the review positive or negative?",
        instances=tuple(
            Instance(f"s{i}", f"review number {i}", ("positive" if i % 2 else "negative",)) for i in range(6)
        ),
        positive_examples=(Example("I loved it", "positive"), Example("awful", "negative")),
        categories=("Sentiment Analysis",),
        output_space=OutputSpace(("positive", "negative"), "declared"),
    )
    gen = Task(
        name="task002_title",
        definition="Write a title for the text.",
        instances=tuple(Instance(f"t{i}", f"some text {i}", ("a title",)) for i in range(3)),
        categories=("Title Generation",),
    )
    return save_tasks([cls, gen], tmp_path_factory.mktemp("data") / "tasks.jsonl")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        main(list(argv))
        code = 0
    except SystemExit as ex:
        code = int(ex.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_predict_rank_writes_scorable_predictions(model_dir, tasks_file, tmp_path, capsys) -> None:
    out = tmp_path / "preds.jsonl"
    code, stdout, _ = _run(
        capsys, "predict", "--model", str(model_dir), "--tasks", str(tasks_file), "--mode", "rank",
        "--out", str(out), "--precision", "fp32", "--batch-size", "4", "--json",
    )  # fmt: skip
    assert code == 0
    summary = json.loads(stdout)
    assert summary["n_instances"] == 9 and summary["modes"] == {"rank": 6, "generate": 3}
    assert summary["dtype"] == "float32"
    preds = read_predictions(out)
    assert [p.id for p in preds] == [f"s{i}" for i in range(6)] + [f"t{i}" for i in range(3)]
    ranked = preds[:6]
    assert all(p.prediction in ("positive", "negative") and len(p.label_logprobs) == 2 for p in ranked)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert all(line["in_space_strict"] is True for line in lines[:6])
    assert all(line["in_space_strict"] is None for line in lines[6:])

    code, stdout, _ = _run(capsys, "score", "--predictions", str(out), "--json")
    assert code == 0
    report = json.loads(stdout)
    ranked_em = 100 * sum(p.prediction == p.references[0] for p in ranked) / 6
    overall_em = 100 * sum(exact_match(p.prediction, p.references) for p in preds) / 9
    assert report["per_task"]["task001_sentiment"]["exact_match"] == pytest.approx(ranked_em, abs=1e-3)
    assert report["overall"]["exact_match"] == pytest.approx(overall_em, abs=1e-3)


def test_predict_generate_with_task_filter_arms_and_instances(
    model_dir, tasks_file, tmp_path, capsys
) -> None:
    out = tmp_path / "gen.jsonl.gz"
    code, _, _ = _run(
        capsys, "predict", "--model", str(model_dir), "--tasks", str(tasks_file), "--task", "task001_sentiment",
        "--out", str(out), "--max-instances", "2", "--definition-arm", "simplified", "--pos", "0",
        "--precision", "fp32",
    )  # fmt: skip
    assert code == 0
    preds = read_predictions(out)
    assert [p.id for p in preds] == ["s0", "s1"]
    assert all(p.mode == "generate" and p.labels == ("positive", "negative") for p in preds)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--mode", "beam"], "unknown mode"),
        (["--definition-arm", "nonsense"], "unknown definition arm"),
        (["--precision", "fp8"], "unknown precision"),
    ],
)
def test_predict_user_errors_leave_no_file(model_dir, tasks_file, tmp_path, capsys, extra, message) -> None:
    out = tmp_path / "never.jsonl"
    code, _, err = _run(
        capsys, "predict", "--model", str(model_dir), "--tasks", str(tasks_file), "--out", str(out), *extra
    )
    assert code == 2
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_predict_missing_model_is_a_user_error(tasks_file, tmp_path, capsys) -> None:
    out = tmp_path / "never.jsonl"
    code, _, err = _run(
        capsys, "predict", "--model", str(tmp_path / "nowhere"), "--tasks", str(tasks_file), "--out", str(out)
    )
    assert code == 2 and "not a directory" in err
    assert not out.exists()
