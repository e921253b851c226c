"""The default study's report end to end on a fake engine whose models show the paper's pattern.

`PatternEngine` (no torch, deterministic): the untuned model answers outside the label set on 60% of the
prompts; every tuned model answers with a label. A model that can read its task's definition in the prompt
(original, delusive) gives the task's gold with a fixed probability, else the other label; without the
definition (simplified, empty) it cannot tell the two rules of a contrast pair apart and answers the gold of
either side. So tuning mostly teaches the format, and the definition adds a change in the label choice.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import pytest

from itprobe.decoding import Decoding
from itprobe.models.base import ChoiceScore
from itprobe.study import RunOptions, Trained, TrainJob, load_config, run_study
from itprobe.study.data import load_study_data
from itprobe.tasks.types import Task
from itprobe.training import TrainResult

P_RIGHT = {"original": 0.8, "delusive": 0.75, "base": 0.6}
P_OUT_UNTUNED = 0.6


_MARK = "Now complete the following example -\nInput: "


def _final_input(prompt: str) -> str:
    """The instance input of a Tk-Instruct prompt, without the period the encoder may append."""
    return prompt.rpartition(_MARK)[2].split("\nOutput:", 1)[0].rstrip(".")


def _unit(*parts: object) -> float:
    return int.from_bytes(hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()[:8], "big") / 2**64


class PatternModel:
    def __init__(self, identity: str, arm: str, tasks: Sequence[Task]) -> None:
        self.identity = identity
        self.arm = arm
        self.tasks = tasks
        self.gold = {(t.name, i.input.rstrip(".")): i.outputs[0] for t in tasks for i in t.instances}
        self.sides: dict[str, list[str]] = defaultdict(list)
        for t in tasks:
            for i in t.instances:
                self.sides[i.input.rstrip(".")].append(i.outputs[0])

    def _answer(self, prompt: str) -> str:
        text = _final_input(prompt)
        u = _unit(self.identity, prompt)
        if self.arm == "base" and u < P_OUT_UNTUNED:
            return "Sure! Here is the answer you asked for"
        task = next((t for t in self.tasks if f"Definition: {t.definition}" in prompt), None)
        if task is None:  # no definition to read: the gold of either side of the pair
            options = self.sides.get(text) or ["?"]
            return options[int(_unit("side", self.identity, prompt) * len(options))]
        gold = self.gold[(task.name, text)]
        if _unit("right", self.identity, prompt) < P_RIGHT.get(self.arm, 0.5):
            return gold
        labels = task.output_space.labels if task.output_space else (gold,)
        return next((label for label in labels if label != gold), gold)

    def generate(self, prompts: Sequence[str], decoding: Decoding) -> list[str]:
        return [self._answer(p) for p in prompts]

    def score_choices(
        self, prompts: Sequence[str], choices: Sequence[Sequence[str]]
    ) -> list[list[ChoiceScore]]:
        return [
            [ChoiceScore(0.0 if c == self._answer(p) else -1.0, 1) for c in cs]
            for p, cs in zip(prompts, choices, strict=True)
        ]


class PatternEngine:
    def __init__(self, tasks: Sequence[Task]) -> None:
        self.tasks = tasks

    def load(self, spec: str) -> PatternModel:
        arm = spec.removeprefix("pattern:") if spec.startswith("pattern:") else "base"
        return PatternModel(spec, arm, self.tasks)

    def train(self, job: TrainJob) -> Trained:
        job.out_dir.mkdir(parents=True, exist_ok=True)
        spec = f"pattern:{job.arm.name}"
        return Trained(spec, TrainResult(Path(spec), 0.1, (0.1,), 0.0, 1, 0, len(job.tasks), 0.0))


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # two seeds: with one, no verdict about a training arm is made (issue 25)
    config = load_config("default", ["model=pattern-base", "report.n_boot=300", "seeds=[0, 1]"])
    engine = PatternEngine(load_study_data(config).test)
    run_dir = tmp_path_factory.mktemp("default")
    run_study(config, run_dir, options=RunOptions(progress=False), engine=engine)
    return run_dir


def test_headline_and_tuning_line_use_the_split(default_run: Path) -> None:
    data = json.loads((default_run / "report.json").read_text())
    # the first line says how the answers were produced (the decoding protocol); the verdict follows
    summary = [line for line in data["summary"] if not line.startswith("Answers: ")]
    assert data["data"]["verdict"]["assessable"] is True
    assert summary[0].startswith(
        "simplified: training and testing without the definition beyond its output space costs"
    )
    # every tuned model answers with a label, so original − simplified has no format part ...
    assert "Split: no format part (every answer is in the label set under both)." in summary[0]
    assert "relies on the instruction's meaning to pick the label" in summary[0]
    # ... while most of what tuning changed is the format: the untuned model leaves the label set
    assert summary[1].startswith("Tuning with original: original − untuned = ")
    assert "(format)" in summary[1] and "Tuning with original taught the output format" in summary[1]


def test_gain_split_table_and_plot(default_run: Path) -> None:
    data = json.loads((default_run / "report.json").read_text())
    split = data["data"]["gain_split"]
    assert set(split) == {"original", "simplified", "empty", "delusive"}
    for arm, s in split.items():
        total = s["total"]["mean"]
        parts = s["format"]["estimate"]["mean"] + s["meaning"]["estimate"]["mean"]
        assert parts == pytest.approx(total), arm
        assert s["format"]["estimate"]["low"] > 0.15, (
            arm
        )  # the untuned model leaves the label set 60% of the time
        assert s["in_format_reference"] == 1.0 and s["in_format_other"] < 0.6
    assert (
        split["original"]["meaning"]["estimate"]["mean"] > split["simplified"]["meaning"]["estimate"]["mean"]
    )
    assert (default_run / "plots" / "gain-split.png").is_file()
    md = (default_run / "report.md").read_text()
    assert "## What tuning taught: format or meaning" in md
    assert "| majority (oracle) |" in md


def test_pairs_clustering_and_note_summary(default_run: Path) -> None:
    data = json.loads((default_run / "report.json").read_text())
    # 16 test tasks form 8 contrast pairs: fewer than 10 clusters, so items (shared inputs) are resampled
    # (two seeds: the seeds are resampled too, issue 25)
    assert data["data"]["scores"]["original"]["exact_match"]["method"] == "item-cluster+seed (two-level)"
    arm_lines = [n for n in data["notes"] if n.startswith("Arm ")]
    assert 0 < len(arm_lines) <= 3  # one line per arm and note, not one per task
    assert len(data["data"]["arm_notes"]) >= 16
