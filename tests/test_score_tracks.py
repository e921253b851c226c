"""`itprobe score` against the official NatInst evaluation script (eval/automatic/evaluation.py):

- a reference's ``track`` decides the ROUGE tokenizer: ``default`` is rouge-score's (lower-cased, Porter
  stemmed), ``xlingual`` a GPT-2 tokenizer with the "Ġ" space marks removed (no lower-casing, no stemming);
  the official script reports each track on its own;
- a reference id with no prediction is scored as the empty string (with a message), not refused.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import run_cli

from itprobe.metrics import instance_scores, rouge1, rouge_l
from itprobe.predict import Prediction

REFS = [
    {"id": "a-1", "references": ["yes"], "task_id": "taskA", "task_category": "Cat One", "track": "default"},
    {"id": "a-2", "references": ["no"], "task_id": "taskA", "task_category": "Cat One", "track": "default"},
    {"id": "x-1", "references": ["cat"], "task_id": "taskX", "task_category": "Cat Two", "track": "xlingual"},
]
PAIRS = [
    {"id": "a-1", "prediction": "Yes."},
    {"id": "a-2", "prediction": "yes"},
    {"id": "x-1", "prediction": "Cats"},
]


class SplitTokenizer:
    """A stand-in for the GPT-2 tokenizer: whitespace split, case kept (the official xlingual scorer
    neither lower-cases nor stems)."""

    def tokenize(self, text: str) -> list[str]:
        return text.split()


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_rouge_with_a_given_tokenizer_is_case_sensitive_and_unstemmed() -> None:
    assert rouge_l("Cats", ["cat"]) == 1.0 and rouge1("Cats", ["cat"]) == 1.0  # default: stemmed, lower
    assert rouge_l("Cats", ["cat"], tokenizer=SplitTokenizer()) == 0.0
    assert rouge1("the Cat", ["the Cat sat"], tokenizer=SplitTokenizer()) == pytest.approx(0.8)


def test_instance_scores_use_the_xlingual_tokenizer_only_on_that_track() -> None:
    preds = [Prediction("t", str(i), "Cats", ("cat",), "generate") for i in range(2)]
    scores = instance_scores(preds, tracks=["default", "xlingual"], xlingual_tokenizer=SplitTokenizer())
    assert [s.rougeL for s in scores] == [1.0, 0.0]
    with pytest.raises(ValueError, match="xlingual"):
        instance_scores(preds, tracks=["default", "xlingual"])


def test_score_reports_each_track_and_needs_a_tokenizer_for_xlingual(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], smollm2_dir: Path
) -> None:
    refs = _write(tmp_path / "refs.jsonl", REFS)
    preds = _write(tmp_path / "preds.jsonl", PAIRS)
    argv = ["score", "--predictions", str(preds), "--references", str(refs), "--json"]
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == "" and "xlingual" in err and "--xlingual-tokenizer" in err
    code, out, err = run_cli(capsys, *argv, "--xlingual-tokenizer", str(smollm2_dir))
    assert code == 0, err
    doc = json.loads(out)
    assert doc["per_track"]["default"]["exact_match"] == 50.0
    # "Cats" against "cat": 0 with the GPT-2-style tokens (the default stemmed tokenizer would give 100)
    assert doc["per_track"]["xlingual"] == {"exact_match": 0.0, "rouge1": 0.0, "rougeL": 0.0}
    assert doc["n_missing"] == 0


def test_a_missing_prediction_is_scored_as_the_empty_string(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refs = _write(tmp_path / "refs.jsonl", [{k: v for k, v in r.items() if k != "track"} for r in REFS])
    preds = _write(tmp_path / "preds.jsonl", PAIRS[:1])
    code, out, err = run_cli(
        capsys, "score", "--predictions", str(preds), "--references", str(refs), "--json"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["n_missing"] == 2 and doc["n_instances"] == 3
    assert doc["overall"]["exact_match"] == pytest.approx(100 / 3, abs=1e-3)  # "Yes." right, "" wrong twice
    assert "2 reference ids have no prediction" in err and "empty string" in err
    assert list(doc["per_track"]) == ["default"]  # no track field: the official default
