"""The study's engine over the model backends: a model opens through its SPEC's backend and the base model
is tuned by the trainer registered for its backend (`itprobe.study.backend_trainer`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_study_support import FakeEngine, FakeModel, tiny_raw

from itprobe.errors import UserError
from itprobe.models import model_backend
from itprobe.models.backends import unregister_backend
from itprobe.study import (
    HFEngine,
    Trained,
    TrainJob,
    backend_trainer,
    unregister_trainer,
    validate_config,
)

SCHEME = "engine-test"


@pytest.fixture
def registered() -> Iterator[FakeEngine]:
    """A backend for ``engine-test:*`` SPECs (the fake study models) and its trainer."""
    fake = FakeEngine()
    model_backend(SCHEME)(lambda spec, settings: FakeModel(spec))
    backend_trainer(SCHEME)(lambda config, job: fake.train(job))
    yield fake
    unregister_backend(SCHEME)
    unregister_trainer(SCHEME)


def _job(tmp_path: Path) -> TrainJob:
    config = validate_config(tiny_raw())
    return TrainJob(
        tasks=(), arm=config.arms.train[0].to_spec(0), size=2, seed=0, out_dir=tmp_path, resume=False
    )


def test_the_base_model_trains_through_its_backends_trainer(registered: FakeEngine, tmp_path: Path) -> None:
    engine = HFEngine(validate_config(tiny_raw(model=f"{SCHEME}:base")))
    base = engine.load(f"{SCHEME}:base")
    assert isinstance(base, FakeModel) and base.identity == f"{SCHEME}:base"
    trained = engine.train(_job(tmp_path))
    assert isinstance(trained, Trained) and registered.trained == [trained.model_spec]
    assert (tmp_path / "STARTED").exists()  # the registered trainer ran, nothing else


def test_a_backend_without_a_trainer_cannot_be_tuned(tmp_path: Path) -> None:
    engine = HFEngine(validate_config(tiny_raw(model="fake:first")))
    with pytest.raises(UserError, match=r"model 'fake:first': the fake backend cannot be trained"):
        engine.train(_job(tmp_path))
    assert not any(tmp_path.iterdir())


def test_a_trainer_is_registered_once(registered: FakeEngine) -> None:
    with pytest.raises(ValueError, match="already registered"):
        backend_trainer(SCHEME)(lambda config, job: registered.train(job))
