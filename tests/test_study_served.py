"""A study whose untuned row is a served model (``eval.untuned_model``) while training stays local."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fake_openai import scripted_app, serve_http
from test_study_support import FakeEngine, FakeModel, tiny_raw

from itprobe.decoding import Decoding
from itprobe.errors import UserError
from itprobe.models.served import ServedLanguageModel
from itprobe.study import ResultsStore, RunOptions, run_study, validate_config
from itprobe.study.engine import HFEngine

QUIET = RunOptions(progress=False, report=False)
SERVED = "openai:http://127.0.0.1:8000/v1#deployed-base"


def _cells(run_dir: Path) -> dict[str, Any]:
    with ResultsStore.in_dir(run_dir) as store:
        return {c.name: c for c in store.cells()}


def test_untuned_row_is_the_served_model_and_trained_cells_are_unchanged(tmp_path: Path) -> None:
    plain = run_study(validate_config(tiny_raw()), tmp_path / "plain", options=QUIET, engine=FakeEngine())
    engine = FakeEngine()
    raw = tiny_raw(eval={"modes": ["rank", "generate"], "untuned_model": SERVED, "cache": False})
    served = run_study(validate_config(raw), tmp_path / "served", options=QUIET, engine=engine)
    assert plain.cells_run == served.cells_run == 12 and len(engine.trained) == 6  # 5 baselines
    a, b = _cells(tmp_path / "plain"), _cells(tmp_path / "served")
    assert b["untuned"].model_identity == SERVED and a["untuned"].model_identity == "fake-base"
    assert a["untuned"].cell_id != b["untuned"].cell_id
    trained = [name for name, cell in a.items() if cell.kind == "trained"]
    assert [a[n].cell_id for n in trained] == [b[n].cell_id for n in trained]  # training is unaffected
    # the fake answers by identity: the untuned row's answers are the served model's
    assert [r.prediction for r in b["untuned"].rows] != [r.prediction for r in a["untuned"].rows]
    assert not (tmp_path / "served" / "cache").exists() and (tmp_path / "plain" / "cache").exists()


class _NoLogprobs(FakeModel):
    def rank_unavailable(self) -> str:
        return "the server returns no prompt log-probs"


class _ServedEngine(FakeEngine):
    def load(self, spec: str) -> FakeModel:
        return _NoLogprobs(spec) if spec.startswith("openai:") else super().load(spec)


def test_rank_on_a_served_untuned_model_without_logprobs_fails_before_training(tmp_path: Path) -> None:
    engine = _ServedEngine()
    raw = tiny_raw(eval={"modes": ["rank", "generate"], "untuned_model": SERVED})
    with pytest.raises(
        UserError, match="eval.untuned_model: rank classification is not possible: the server"
    ):
        run_study(validate_config(raw), tmp_path / "run", options=QUIET, engine=engine)
    assert engine.trained == []
    raw = tiny_raw(eval={"modes": ["generate"], "untuned_model": SERVED})
    assert run_study(validate_config(raw), tmp_path / "gen", options=QUIET, engine=engine).cells_run == 12


def test_the_trained_model_must_be_local() -> None:
    with pytest.raises(UserError, match="training needs local weights.*eval.untuned_model"):
        validate_config(tiny_raw(model=SERVED))


def test_hf_engine_routes_a_served_spec() -> None:
    with serve_http(scripted_app(lambda p: " yes\n", name="deployed-base")) as base:
        model = HFEngine(validate_config(tiny_raw())).load(f"openai:{base}#deployed-base")
        assert isinstance(model, ServedLanguageModel)
        assert model.generate(["Input: x\nOutput: "], Decoding(4, ("\n",))) == [" yes"]
