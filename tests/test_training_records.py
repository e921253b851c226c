"""Training's typed records across the seams: notes are `TrainingNote`s from the data builder to the study
report, and a `TrainResult` becomes a stored cell's info and ``itprobe train --json`` by its own methods."""

from __future__ import annotations

from pathlib import Path

from itprobe.arms import ArmSpec
from itprobe.prompts import PromptConfig
from itprobe.study.notes import training_note_summary
from itprobe.study.store import CellRecord
from itprobe.tasks.types import Instance, Negation, Task
from itprobe.training import TrainingNote, TrainResult
from itprobe.training.data import build_text_examples

KEPT = Task(
    "t1",
    "Say a word.",
    instances=(Instance("1", "x", ("a",)), Instance("2", "y", ())),
    negation=Negation("Say another word.", (("a", "b"),)),
)
SKIPPED = Task("t2", "Say a word.", instances=(Instance("1", "x", ("a",)),))  # no negation: skipped


def test_the_data_builder_writes_typed_notes() -> None:
    _, notes = build_text_examples(
        [KEPT, SKIPPED],
        arms=ArmSpec(definition="negated"),
        prompt=PromptConfig(),
        instances_per_task=2,
        seed=0,
    )
    assert TrainingNote("t2", "negated: the task provides no negated definition") in notes
    assert TrainingNote("t2", "skipped by the arm") in notes
    _, notes = build_text_examples([KEPT], arms=None, prompt=PromptConfig(), instances_per_task=2, seed=0)
    assert notes == (TrainingNote("t1", "no reference output, skipped", "2"),)
    assert notes[0].text() == "t1/2: no reference output, skipped"


RESULT = TrainResult(
    Path("out/model"), 0.5, (0.9, 0.5), 123.456, 2, 4, 2, 1.234567, None,
    (TrainingNote("t1", "delusive: variant permuted"), TrainingNote("t2", "skipped by the arm")),
)  # fmt: skip


def test_a_result_is_stored_and_summarised_by_its_own_methods() -> None:
    stored = RESULT.stored()
    assert stored["losses"] == [0.9, 0.5] and "model_dir" not in stored
    assert stored["notes"][1] == {"task": "t2", "note": "skipped by the arm", "instance": ""}
    assert [TrainingNote.from_stored(n) for n in stored["notes"]] == list(RESULT.notes)
    # the keys and rounding `itprobe train --json` printed when the CLI built the dict by hand
    assert RESULT.summary() == {
        "model_dir": "out/model", "final_loss": 0.5, "tokens_per_s": 123.5, "steps": 2, "n_examples": 4,
        "n_tasks": 2, "train_seconds": 1.23, "resumed_from": None,
        "notes": ["t1: delusive: variant permuted", "t2: skipped by the arm"],
    }  # fmt: skip


def test_the_study_report_reads_stored_notes_old_and_new() -> None:
    def cell(notes: list) -> CellRecord:
        return CellRecord("c", "trained", "c", "delusive", 1, 0, "", "m", {}, info={"notes": notes})

    new = training_note_summary([cell(RESULT.stored()["notes"])])
    old = training_note_summary([cell([n.text() for n in RESULT.notes])])  # a store written before
    assert (
        new
        == old
        == [
            "Training with delusive: skipped by the arm (1 training task: t2).",
            "Training with delusive: variant permuted (1 training task: t1).",
        ]
    )
