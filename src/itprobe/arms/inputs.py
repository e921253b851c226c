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


@input_arm("shuffled-input", probe="shuffled-input")
def shuffled(task: Task, rng: random.Random, pool: Sequence[Task]) -> Task:
    """Inputs shuffled among the task's instances; instruction, demonstrations and each position's
    references unchanged (the input-dependence probe).

    Every instance keeps its id and gold and receives another instance's input (a derangement where the
    task has two or more distinct inputs), so the label distribution is the original one: a model whose score
    does not fall has not shown that it reads the input. Instances whose drawn input happens to carry the
    same text keep it; the share is small and the same for every model compared.
    """
    n = len(task.instances)
    if n < 2:
        return task
    order = list(range(n))
    # Sattolo's algorithm: a uniformly drawn cyclic permutation, so no instance keeps its own input
    for i in range(n - 1, 0, -1):
        j = rng.randrange(i)
        order[i], order[j] = order[j], order[i]
    instances = tuple(
        dataclasses.replace(inst, input=task.instances[order[k]].input)
        for k, inst in enumerate(task.instances)
    )
    return dataclasses.replace(task, instances=instances)
