"""Instruction arms: named, seeded, pure transforms of a task's instruction (see docs/arms.md).

Typical use::

    from itprobe.arms import ArmSpec, apply_arms

    result = apply_arms(task, ArmSpec(definition="simplified", examples="delusive", seed=1), pool=tasks)
    if result.task is None:
        print("skipped:", result.notes)

A new arm is one decorated function in one module (see `registry`).
"""

from itprobe.arms.definition import DEFAULT_SIMPLIFIED_TEMPLATE, simplified_definition
from itprobe.arms.forms import output_form
from itprobe.arms.inputs import CONTENT_FREE_INPUT
from itprobe.arms.labels import (
    RenameScheme,
    label_map_of,
    label_swap_of,
    old_label_leakage,
    old_meaning_rate,
)
from itprobe.arms.registry import (
    ARM_KINDS,
    ArmKind,
    Noted,
    RegisteredArm,
    Skip,
    arm_rng,
    arms_follow,
    arms_relabel,
    definition_arm,
    examples_arm,
    follow_probes,
    get_arm,
    input_arm,
    label_arm,
    list_arms,
    meaning_free_arms,
    probe_arms,
    registered_arms,
)
from itprobe.arms.spec import APPLY_ORDER, ArmResult, ArmSpec, apply_arms, apply_arms_to_tasks

__all__ = [
    "APPLY_ORDER",
    "ARM_KINDS",
    "CONTENT_FREE_INPUT",
    "DEFAULT_SIMPLIFIED_TEMPLATE",
    "ArmKind",
    "ArmResult",
    "ArmSpec",
    "Noted",
    "RegisteredArm",
    "RenameScheme",
    "Skip",
    "apply_arms",
    "apply_arms_to_tasks",
    "arm_rng",
    "arms_follow",
    "arms_relabel",
    "definition_arm",
    "examples_arm",
    "follow_probes",
    "get_arm",
    "input_arm",
    "label_arm",
    "label_map_of",
    "label_swap_of",
    "list_arms",
    "meaning_free_arms",
    "old_label_leakage",
    "old_meaning_rate",
    "output_form",
    "probe_arms",
    "registered_arms",
    "simplified_definition",
]
