"""From stored cells to the report's rows: the *condition* each answer belongs to and its context.

A cell's answers get one condition per (cell kind, train arm, test arm) — names as in `itprobe.study.grid`,
built from a `itprobe.records.Condition`, never parsed back from a label — and every row carries its cell's
seed, size and train arm. Also here: which conditions' gold follows a changed instruction, what each arm
changes, and when an arm was applied relative to the reference (what the verdict's words need).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from itprobe.arms import arms_follow
from itprobe.baselines import get_baseline
from itprobe.decoding import Decoding
from itprobe.metrics import rescored
from itprobe.records import UNTUNED, BaselineRole, Condition, InstanceResult
from itprobe.study.config import ArmConfig, StudyConfig
from itprobe.study.store import CellRecord, TaskInfo

if TYPE_CHECKING:
    from itprobe.report import Manipulation


def cell_condition(cell: CellRecord, test_arm: str) -> Condition:
    """The report condition of a cell's answers under ``test_arm`` (as `itprobe.study.grid` names it)."""
    if cell.kind == "trained":
        return Condition(cell.train_arm, "" if test_arm == cell.train_arm else test_arm)
    role: BaselineRole = ""
    name = "untuned"
    if cell.baseline:
        declared = get_baseline(cell.baseline)
        role = "oracle" if declared.oracle else "control"
        name = declared.report_name  # the seeded "random" cell's rows are "random draw" (itprobe.baselines)
    return Condition(name, "" if test_arm == "original" else test_arm, baseline=role)


def condition_of(cell: CellRecord, test_arm: str) -> str:
    """The label of `cell_condition`."""
    return cell_condition(cell, test_arm).label


def study_conditions(cells: Sequence[CellRecord]) -> dict[str, Condition]:
    """Every condition the stored answers form, by label (first seen first)."""
    out: dict[str, Condition] = {}
    for cell in cells:
        for r in cell.rows:
            condition = cell_condition(cell, r.test_arm)
            out.setdefault(condition.label, condition)
    return out


def condition_order(config: StudyConfig, conditions: Iterable[Condition]) -> list[str]:
    """Labels in reading order: the untuned model, then the trained arms in the config's order (each as
    trained, then under its test arms in the config's order), then controls and oracles as given."""
    train = [arm.name for arm in config.arms.train]
    test = ["", *(a.name for a in config.arms.test if a != "same")]

    def place(name: str, names: list[str]) -> int:
        return names.index(name) if name in names else len(names)

    def key(c: Condition) -> tuple[int, int, int]:
        group = 1 if c.trained else 0 if c.trained_with == UNTUNED else 2
        return group, place(c.trained_with, train) if c.trained else 0, place(c.tested_with, test)

    return [c.label for c in sorted(conditions, key=key)]  # stable: ties keep their order


def instance_results(
    cells: Sequence[CellRecord],
    mode: str,
    tasks: dict[str, TaskInfo] | None = None,
    protocol: Decoding | None = None,
) -> list[InstanceResult]:
    """The stored answers of one evaluation mode (baselines' in every mode) with their cell's context
    (condition, seed, size, train arm); with ``tasks``, rows of contrast-pair tasks carry their (group,
    side); with ``protocol``, every generated answer is cut from its stored continuation under that
    protocol and scored again (`recut_protocol_problem` says when that cannot be done)."""
    pairs = {
        t.name: (t.contrast_group, t.contrast_side or "") for t in (tasks or {}).values() if t.contrast_group
    }
    out = []
    for cell in cells:
        held = cell.cuts.get(protocol.protocol) if protocol is not None else None
        cut = {(c.test_arm, c.mode, c.task, c.id): c for c in held or ()}
        for r in cell.rows:
            if cell.kind != "baseline" and r.mode != mode:
                continue
            if protocol is not None and cell.kind != "baseline" and r.mode == "generate":
                key = (r.test_arm, r.mode, r.task, r.id)
                r = cut[key] if held else rescored(r, protocol.recut(r.raw))
            out.append(
                dataclasses.replace(
                    r,
                    condition=condition_of(cell, r.test_arm),
                    seed=cell.seed,
                    train_arm=cell.train_arm,
                    size=cell.size if cell.kind == "trained" else None,
                    contrast=pairs.get(r.task, ()),
                )
            )
    return out


def recut_protocol_problem(cells: Sequence[CellRecord], protocol: Decoding) -> str | None:
    """Why the stored answers cannot be scored under ``protocol`` by cutting, or None when they can: every
    model cell must have been decoded under a protocol it is a cut of, with its continuations stored."""
    for cell in cells:
        if cell.kind == "baseline" or protocol.protocol in cell.cuts:
            continue
        stored = cell.resolved.get("eval", {}).get("decoding", {})
        decoded = Decoding(int(stored.get("max_new_tokens", 0)) or 1, tuple(stored.get("stop", ())))
        if not decoded.derivable(protocol):
            return f"cell {cell.name} was decoded with cap {decoded.max_new_tokens} and stop {list(decoded.stop)}"
        if any(r.mode == "generate" and not r.raw and r.prediction for r in cell.rows):
            return f"cell {cell.name} was stored without its raw continuations (an earlier itprobe)"
    return None


def other_arm_pairs(conditions: Sequence[Condition], reference: str = "original") -> list[tuple[str, str]]:
    """(usual, other) for every model tested with another arm than its usual one (`views_other_arm`): the
    same model under ``reference`` (the original instruction), or, for a model tested with ``reference``,
    under the arm it was trained with. Controls and oracles have no model; a pair whose usual side did not
    run is left out. In the order of ``conditions``."""
    present = {c.label for c in conditions}
    pairs = []
    for c in conditions:
        if not c.tested_with or c.baseline:
            continue
        own = Condition(c.trained_with).label  # the model under its own arm (the untuned one: ``reference``)
        usual = own
        if c.trained and c.trained_with != reference and c.tested_with != reference:
            via = Condition(c.trained_with, reference).label
            usual = via if via in present else own  # not tested with the reference: its own arm is usual
        if usual in present:
            pairs.append((usual, c.label))
    return pairs


def follow_conditions(cells: Sequence[CellRecord], conditions: Sequence[Condition]) -> list[str]:
    """Conditions tested with an arm whose gold follows the changed instruction (declared ``follows``: the
    negated definition, the label arms), found from the stored test arms, so that arms with a custom ``name:`` are recognised too."""
    follow_arms = set()
    for cell in cells:
        for raw in cell.resolved.get("test_arms", []):
            arm = ArmConfig.model_validate(raw)
            if arms_follow(arm):
                follow_arms.add(arm.name)
    return [c.label for c in conditions if c.test_arm in follow_arms]


def condition_parts(
    cells: Sequence[CellRecord], conditions: Sequence[Condition], reference: str = "original"
) -> dict[str, tuple[str, ...]]:
    """What each trained condition's arm changes (`ArmConfig.parts`), from the stored arms, so that an arm
    with a custom ``name:`` is described by what it does: the training arm's, or the test arm's for the
    reference's model tested with another arm (a test-time manipulation); other conditions are left out."""
    arms = {
        arm.name: arm.parts
        for cell in cells
        for raw in [cell.resolved.get("train_arm"), *cell.resolved.get("test_arms", [])]
        if raw is not None
        for arm in [ArmConfig.model_validate(raw)]
    }
    out = {}
    for c in conditions:
        arm = c.test_arm if manipulation(c, reference) == "test" else c.trained_with
        if c.trained and arm in arms:
            out[c.label] = arms[arm]
    return out


def manipulation(condition: Condition, reference: str = "original") -> Manipulation | None:
    """When a trained condition's arm was applied, relative to the reference condition (trained and
    tested with ``reference``): ``test`` (the reference's model under another test arm), ``train``
    (trained with another arm, tested with the reference's), ``train+test`` (both differ); None for the
    reference itself and the conditions nothing was trained for."""
    if not condition.trained or condition.label == reference:
        return None
    if condition.trained_with == reference:
        return "test"
    return "train" if condition.test_arm == reference else "train+test"
