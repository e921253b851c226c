"""The notes under a study report: what the untuned row is, how complete the grid is, what the arms did to
the tasks and what training said about them (counted per arm and note; every task's note stays in
report.json and the store)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from itprobe.baselines import get_baseline
from itprobe.models.packaged import PACKAGED
from itprobe.study.config import StudyConfig
from itprobe.study.grid import expand_grid
from itprobe.study.store import ArmNote, CellRecord
from itprobe.training.config import TrainingNote


def expected_cells(config: StudyConfig) -> int:
    """How many cells the config's grid has (the grid itself, so the count cannot drift from it)."""
    return len(expand_grid(config, model_identity="", train_digest="", test_digest=""))


def untuned_note(model: str) -> str:
    """What the 'untuned' row is: not tuned *here*; for a packaged model, whether its makers tuned it."""
    packaged = PACKAGED.get(model)
    if packaged is None:
        return (
            f"'untuned' is the studied model `{model}` as given, not tuned here; itprobe cannot tell whether "
            "its makers instruction-tuned it (the paper's untuned baseline is a never-instruction-tuned model)."
        )
    if packaged.instruction_tuned:
        return (
            f"'untuned' is {packaged.describes}, not tuned here: it is not the paper's never-instruction-tuned "
            "baseline, and a gain over it is a gain over an instruction-tuned model."
        )
    return f"'untuned' is {packaged.describes}: the paper's untuned baseline."


def arm_notes(cells: Sequence[CellRecord]) -> list[ArmNote]:
    """Every cell's arm notes, once each, in the cells' order."""
    return list(dict.fromkeys(n for cell in cells for n in cell.notes))


def study_notes(
    config: StudyConfig,
    cells: Sequence[CellRecord],
    mode: str,
    left_out: Sequence[CellRecord] = (),
) -> list[str]:
    expected = expected_cells(config)
    notes = [untuned_note(config.model)]
    if config.arms.test_sizes is not None:
        notes.append(
            "Test arms other than the training arm are run only for models trained at "
            f"{', '.join(map(str, config.arms.test_sizes))} instances per task (arms.test_sizes); the untuned "
            "model is tested under all of them."
        )
    notes.append(f"Cells in the store: {len(cells)} of the {expected} in the latest config's grid.")
    if left_out:
        names = ", ".join(sorted({c.name for c in left_out}))
        notes.append(
            f"Left out: {len(left_out)} finished cell(s) made under an earlier config of this run directory "
            f"and not in the latest config's grid, or recomputed under it ({names})."
        )
    if len(cells) < expected:
        notes.append("The study is incomplete: rerun `itprobe run` with the same config to finish it.")
    for cell in cells:
        if cell.kind == "baseline" and not cell.rows and get_baseline(cell.baseline).needs_training_data:
            notes.append(
                f"Control {cell.baseline} answered no task: it learns only from a test task's labelled instances "
                "beyond the scored ones (test_tasks.instances_per_task), and no task has any."
            )
    notes += [
        "Conditions: an arm's name means 'trained and tested with that arm'; 'A@B' means trained with A and "
        "tested with B; 'untuned@B' is the base model tested with B.",
        f"Evaluation mode of this report: {mode}"
        + (
            " (rank classification: the answer is the label with the highest log-likelihood)."
            if mode == "rank"
            else " (greedy generation, scored by exact match and ROUGE-L against the references)."
        ),
    ]
    notes += arm_note_summary(arm_notes(cells))
    notes += training_note_summary(cells)
    return notes


def arm_note_summary(notes: Sequence[ArmNote], *, listed: int = 3) -> list[str]:
    """One line per (test arm, note) with the number of tasks it applies to; notes that differ per task
    (which other definition, which new label words) are counted, with up to ``listed`` named."""
    by_arm: dict[str, Counter[str]] = defaultdict(Counter)
    for n in notes:
        if not n.skipped:
            by_arm[n.test_arm][n.note] += 1
    lines = []
    for arm, counts in sorted(by_arm.items()):
        single = sorted(note for note, k in counts.items() if k == 1)
        for note, k in sorted(counts.items()):
            if k > 1 or len(single) <= listed:
                lines.append(f"Arm {arm}: {_unprefixed(note)} ({k} task{'s' if k > 1 else ''}).")
        if len(single) > listed:
            lines.append(
                f"Arm {arm}: a task-specific note on {len(single)} tasks (e.g. {'; '.join(single[:listed])}); "
                "every task's note is in report.json (data.arm_notes)."
            )
    return lines


def training_note_summary(cells: Sequence[CellRecord], *, listed: int = 3) -> list[str]:
    """One line per (trained arm, note) with the tasks it applies to (up to ``listed`` named); the cells'
    ``info.notes`` in the store keep every line."""
    tasks: dict[tuple[str, str], set[str]] = defaultdict(set)
    for cell in cells:
        for stored in cell.info.get("notes", []):
            record = TrainingNote.from_stored(stored)
            where = f"{record.task}/{record.instance}" if record.instance else record.task
            tasks[(cell.train_arm, _unprefixed(record.note) if record.task else record.note)].add(where)
    lines = []
    for (arm, note), names in sorted(tasks.items()):
        named = sorted(n for n in names if n)
        shown = ", ".join(named[:listed]) + (", …" if len(named) > listed else "")
        which = (
            f"{len(named)} training task{'s' if len(named) != 1 else ''}: {shown}" if named else "all tasks"
        )
        lines.append(f"Training with {arm}: {note} ({which}).")
    return lines


def _unprefixed(note: str) -> str:
    # arms start their notes with their own name ("delusive: variant wrong-label"); the line names the arm
    head, sep, rest = note.partition(": ")
    return rest if sep and " " not in head else note
