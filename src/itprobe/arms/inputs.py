"""Input arms: what the model is asked about. ``content-free`` measures the label prior (Zhao et al.)."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence

from itprobe.arms.registry import input_arm
from itprobe.tasks.types import Task

CONTENT_FREE_INPUT = "N/A"


@input_arm("original")
def original(task: Task, rng: random.Random, pool: Sequence[Task]) -> Task:
    """The instances as they are."""
    return task


@input_arm("content-free")
def content_free(task: Task, rng: random.Random, pool: Sequence[Task]) -> Task:
    """Every instance input replaced by "N/A"; instruction, demonstrations and references unchanged.

    The references stay so the run can still be scored, but with no content to go on, the answer
    distribution is the model's prior over the labels under this instruction.
    """
    instances = tuple(dataclasses.replace(inst, input=CONTENT_FREE_INPUT) for inst in task.instances)
    return dataclasses.replace(task, instances=instances)
