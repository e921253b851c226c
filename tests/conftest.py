"""Shared fixtures: paths to ../shared (tests skip cleanly when it is absent) and tiny random models."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
NATINST = SHARED / "data" / "natinst"
GOLDEN = SHARED / "golden"


@pytest.fixture(scope="session")
def natinst_dir() -> Path:
    if not (NATINST / "test_tasks.jsonl.gz").exists():
        pytest.skip("../shared/data/natinst is absent")
    return NATINST


@pytest.fixture(scope="session")
def golden_dir() -> Path:
    if not (GOLDEN / "metrics.json").exists():
        pytest.skip("../shared/golden is absent")
    return GOLDEN


@pytest.fixture(scope="session")
def smollm2_dir() -> Path:
    """The packaged SmolLM2 converted to safetensors (cached after the first call; ~30 s once)."""
    from itprobe.models.packaged import PackagedModelMissing, packaged_model_dir

    try:
        return packaged_model_dir("smollm2-135m-instruct")
    except PackagedModelMissing as err:
        pytest.skip(str(err))


@pytest.fixture(scope="session")
def tokenizer(smollm2_dir: Path):
    """The SmolLM2 tokenizer (real vocabulary, no pretrained weights needed by the tests that use it)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smollm2_dir)
