"""A fake study engine (deterministic models, instant "training") and a tiny study config, for the study tests.

Run as a script (``python test_study_support.py RUN_DIR [--slow-train SECONDS] [--shard i/n]``) it runs the
tiny study with the fake engine; the resume test kills such a process in the middle of a cell.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from itprobe.decoding import Decoding
from itprobe.models.base import ChoiceScore
from itprobe.study import RunOptions, Trained, TrainJob, run_study, validate_config
from itprobe.training import TrainResult

TINY_FAMILIES = ["parity", "divisibility", "primality", "magnitude", "number_compare"]


def tiny_raw(**changes: object) -> dict:
    """A small study on a generated suite: 4 training tasks, 2 contrast-pair test tasks."""
    raw = {
        "name": "tiny",
        "model": "fake-base",
        "data": {
            "source": "suite",
            "suite": {
                "families": TINY_FAMILIES[:3],
                "test_families": ["primality"],
                "instances_per_task": 6,
                "test_instances_per_task": 6,
            },
        },
        "train_tasks": {"instances_per_task": [2, 4]},
        "test_tasks": {"instances_per_task": 6},
        "arms": {"train": [{}, {"definition": "simplified"}, {"definition": "empty"}], "test": ["same", {}]},
        "eval": {"modes": ["rank", "generate"]},
        "seeds": [0],
        "report": {"n_boot": 200},
    }
    raw.update(changes)
    return raw


def _unit(*parts: object) -> float:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class FakeModel:
    """Answers depend only on (identity, prompt): the same model gives the same answers in every process."""

    def __init__(self, identity: str) -> None:
        self._identity = identity

    @property
    def identity(self) -> str:
        return self._identity

    def generate(self, prompts: Sequence[str], decoding: Decoding) -> list[str]:
        words = ["Yes", "No", "yes.", "maybe"]
        return [words[int(_unit(self._identity, p) * len(words))] for p in prompts]

    def score_choices(
        self, prompts: Sequence[str], choices: Sequence[Sequence[str]]
    ) -> list[list[ChoiceScore]]:
        return [
            [ChoiceScore(-5 * _unit(self._identity, p, c), 1) for c in options]
            for p, options in zip(prompts, choices, strict=True)
        ]


class FakeEngine:
    """`itprobe.study.Engine` without torch. ``slow_train`` seconds of sleep per training (for kill tests)."""

    def __init__(self, slow_train: float = 0.0) -> None:
        self.slow_train = slow_train
        self.trained: list[str] = []

    def load(self, spec: str) -> FakeModel:
        return FakeModel(spec)

    def train(self, job: TrainJob) -> Trained:
        job.out_dir.mkdir(parents=True, exist_ok=True)
        (job.out_dir / "STARTED").write_text("1")
        names = sorted(t.name for t in job.tasks)
        for step in range(1, 4):
            time.sleep(self.slow_train / 3)
            if job.on_step is not None:
                job.on_step(step, 3)
        # the fake model's identity seeds its answers; it keeps the arm wording the golden outputs were
        # recorded with (definition/examples+input+label), so a renaming of arms cannot move them
        a = job.arm
        arm = f"{a.definition}/{a.examples}" + "".join(f"+{x}" for x in (a.input, a.label) if x != "original")
        spec = f"fake-tuned:{arm}:{job.size}:{job.seed}:{','.join(names)}"
        self.trained.append(spec)
        loss = round(_unit(spec), 6)
        return Trained(spec, TrainResult(Path(spec), loss, (loss,), 0.0, 3, 0, len(names), 0.0))


def store_snapshot(run_dir: Path) -> dict:
    """Every stored cell's id → its answers and scores (what must not depend on how the run went)."""
    from itprobe.study import ResultsStore
    from itprobe.study.schema import STORED_FIELDS

    with ResultsStore.in_dir(run_dir) as store:
        return {
            c.cell_id: (
                c.kind,
                c.name,
                c.info.get("final_loss"),
                [json.dumps({k: getattr(r, k) for k in STORED_FIELDS}, sort_keys=True) for r in c.rows],
            )
            for c in store.cells()
        }


def main(argv: list[str]) -> None:
    run_dir = Path(argv[0])
    slow = float(argv[argv.index("--slow-train") + 1]) if "--slow-train" in argv else 0.0
    shard = argv[argv.index("--shard") + 1] if "--shard" in argv else None
    from itprobe.study import parse_shard

    config = validate_config(tiny_raw())
    options = RunOptions(shard=parse_shard(shard), progress=False, report=False)
    run_study(config, run_dir, options=options, engine=FakeEngine(slow_train=slow))


def test_fake_model_is_deterministic() -> None:
    a, b = FakeModel("m"), FakeModel("m")
    assert a.generate(["x", "y"], Decoding(4)) == b.generate(["x", "y"], Decoding(4))
    assert a.score_choices(["x"], [["Yes", "No"]]) == b.score_choices(["x"], [["Yes", "No"]])
    assert a.score_choices(["x"], [["Yes", "No"]]) != FakeModel("n").score_choices(["x"], [["Yes", "No"]])


if __name__ == "__main__":
    main(sys.argv[1:])
