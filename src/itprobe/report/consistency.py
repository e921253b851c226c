"""Contrast consistency of report rows: the one computation behind the study's and the audit's contrast
sections (each renders its own table).

Rows are grouped by a key (the condition, or the audit's (probe, mode)) and by seed, the answers are
turned back into `Prediction`s and scored by `itprobe.contrast.contrast_consistency`. Trained conditions
count at their largest training size; rows without a size (untuned, baselines, audits) always count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

from itprobe.contrast import ContrastReport, contrast_consistency
from itprobe.records import InstanceResult, Mode, Prediction
from itprobe.tasks.types import Task

K = TypeVar("K", bound=Hashable)


def consistency_by_seed(
    results: Sequence[InstanceResult],
    tasks: Sequence[Task],
    key: Callable[[InstanceResult], K],
) -> dict[K, dict[int, ContrastReport]]:
    """{key: {seed: contrast consistency}} for the rows on tasks that declare a contrast pair, keys in
    the order first seen."""
    names = {t.name for t in tasks if t.contrast is not None}
    largest: dict[str, int] = {}
    for r in results:
        if r.size is not None:
            largest[r.condition] = max(largest.get(r.condition, r.size), r.size)
    runs: dict[K, dict[int, list[Prediction]]] = defaultdict(lambda: defaultdict(list))
    for r in results:
        if r.task in names and r.size == largest.get(r.condition):
            mode: Mode = "rank" if r.mode == "rank" else "generate"
            runs[key(r)][r.seed].append(
                Prediction(r.task, r.id, r.prediction, r.references, mode, labels=r.labels)
            )
    return {
        k: {seed: contrast_consistency(preds, tasks) for seed, preds in by_seed.items()}
        for k, by_seed in runs.items()
    }
