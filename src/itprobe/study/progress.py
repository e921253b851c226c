"""Progress across the whole grid on stderr: cells done/total, the current cell, elapsed time and ETA.

On a terminal it is a rich bar; when stderr is not one (a run in the background, ``2> run.log``) a bar
would show nothing for the hour a cell can take, so a plain line is written at most every
`GRID_LINE_PERIOD_S` seconds, at a training step or a finished evaluation pass: the share of this run's
work done, the cell and its stage, elapsed time and an ETA.

The bar counts *work*, not cells, because cells differ by orders of magnitude (a baseline takes
milliseconds, a trained cell minutes). Without finished cells a unit is one test instance scored in rank
mode, and the weights come from measurements on a 2-core CPU with the packaged 135M model (docs/study.md):
a training example costs about four forward passes (forward + backward + optimizer), greedy generation
about three. Those ratios depend on the model and the prompts (gemma-3-270m on 1,024-token NatInst prompts
trains at about 13 rank instances per example, because a task's instances share their prompt prefix when
scored but not when trained), so a resumed run weighs its cells with `WorkRates.measured`: seconds per
training example and per test instance of each kind and mode, from the stage timings of the finished cells
in its store; a kind and mode no finished cell ran keeps its default ratio, scaled to this machine, until
a pass of it takes longer than that (`GridProgress.advance` then re-weighs the cell's other passes of the
same weight).
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import TimeElapsedColumn

from itprobe.progress import duration_text, stderr_progress

if TYPE_CHECKING:
    from itprobe.study.config import StudyConfig
    from itprobe.study.data import StudyData
    from itprobe.study.grid import Cell
    from itprobe.study.store import CellRecord

TRAIN_EXAMPLE_COST = 4.0
GRID_LINE_PERIOD_S = 60.0
MODE_COST = {"rank": 1.0, "generate": 3.0}


@dataclass(frozen=True)
class WorkRates:
    """Work per training example and per test instance of each (cell kind, mode); any one unit."""

    train_example: float = TRAIN_EXAMPLE_COST
    instance: Mapping[tuple[str, str], float] = field(default_factory=dict)  # default: `MODE_COST`
    seconds: bool = False  # the unit is the second (`measured`): the work left is the time left

    def per_instance(self, kind: str, mode: str) -> float:
        return self.instance.get((kind, mode), MODE_COST[mode])

    @classmethod
    def measured(cls, records: Sequence[CellRecord], config: StudyConfig, data: StudyData) -> WorkRates:
        """Seconds per unit from the stage timings of finished cells (``train``, ``predict/ARM/MODE``).

        The median over cells (and passes) of each rate: a pass served from the prediction cache (seconds
        for a thousand answers) or a cell run on a crowded machine would pull a pooled mean far off."""
        n_test = sum(len(t.instances) for t in data.test)
        train: list[float] = []
        spent: dict[tuple[str, str], list[float]] = {}  # (kind, mode) -> seconds per instance, per pass
        for record in records:
            if record.kind == "trained" and record.size is not None and "train" in record.timings:
                train.append(record.timings["train"] / max(train_examples(record.size, config, data), 1))
            for stage, seconds in record.timings.items():
                mode = stage.rsplit("/", 1)[-1]
                if stage.startswith("predict/") and mode in MODE_COST and n_test:
                    spent.setdefault((record.kind, mode), []).append(seconds / n_test)
        instance = {key: statistics.median(values) for key, values in spent.items()}
        per_example = statistics.median(train) if train else None
        if not instance and per_example is None:
            return cls()
        # what no finished cell measured keeps its default ratio to the measured ones
        scales = [v / MODE_COST[mode] for (_, mode), v in instance.items()]
        if per_example is not None:
            scales.append(per_example / TRAIN_EXAMPLE_COST)
        scale = statistics.median(scales)
        return cls(
            train_example=per_example if per_example is not None else TRAIN_EXAMPLE_COST * scale,
            instance={(k, m): instance.get((k, m), MODE_COST[m] * scale) for k in _KINDS for m in MODE_COST},
            seconds=True,
        )


_KINDS = ("trained", "untuned")


def train_examples(size: int, config: StudyConfig, data: StudyData) -> int:
    """The training examples a cell of ``size`` instances per task sees: ``training.max_steps`` full
    batches when set (the trainer stops there, whatever ``epochs`` says), else ``epochs`` passes over the
    first ``size`` instances of each training task."""
    settings = config.training
    if settings.max_steps is not None:
        return settings.max_steps * settings.batch_size * settings.grad_accum
    return math.ceil(settings.epochs * sum(min(size, len(t.instances)) for t in data.train))


def cell_work(
    cell: Cell, config: StudyConfig, data: StudyData, rates: WorkRates | None = None
) -> tuple[float, list[float]]:
    """(training work, [work of each evaluation pass]) of a cell, in the units of ``rates`` (default:
    rank-instance units)."""
    rates = rates or WorkRates()
    n_test = sum(len(t.instances) for t in data.test)
    if cell.kind == "baseline":
        return 0.0, [0.01]
    passes = [n_test * rates.per_instance(cell.kind, mode) for _ in cell.test_arms for mode in cell.modes]
    if cell.kind == "untuned" or cell.size is None:
        return 0.0, passes
    return train_examples(cell.size, config, data) * rates.train_example, passes


class GridProgress:
    """A rich progress bar over a list of cells; every method is a no-op when disabled."""

    def __init__(
        self,
        total_cells: int,
        done_cells: int,
        work: list[tuple[float, list[float]]],
        *,
        enabled: bool = True,
        lines: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        seconds: bool = False,
    ) -> None:
        """``lines``: plain periodic lines instead of a bar (default: when stderr is not a terminal).
        ``seconds``: ``work`` is in measured seconds (`WorkRates.seconds`), so the lines' time left is the
        work left; otherwise it is extrapolated from the elapsed time, which a resumed run misreads (its
        first cell's cached passes and checkpointed training finish in seconds: "about 49m39s left" said a
        natinst-curve restart with about 6 h to go)."""
        self.total_cells, self.done_cells = total_cells, done_cells
        self._seconds = seconds
        self._work = list(work)
        self._index = -1
        self._passes: list[float] = []
        self._n_passes = 0
        self._train_total = 0.0
        self._train_done = 0.0
        self.enabled = enabled
        self._lines = enabled and (not Console(stderr=True).is_terminal if lines is None else lines)
        self._clock = clock
        self._start = self._last_line = self._pass_start = clock()
        self._name = ""
        self._progress = stderr_progress(
            "[bold]cells {task.fields[cells]}[/]", "{task.percentage:>3.0f}%", TimeElapsedColumn(), "ETA",
            count=False, trailing=("{task.description}",), enabled=enabled,
        )  # fmt: skip
        total = sum(train + sum(passes) for train, passes in self._work) or 1.0
        self._task = self._progress.add_task("", total=total, cells=self._cells_text())

    def _cells_text(self) -> str:
        return f"{self.done_cells}/{self.total_cells}"

    def __enter__(self) -> GridProgress:
        self._progress.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._progress.stop()

    def start_cell(self, name: str) -> None:
        self._index += 1
        self._train_total, passes = self._work[self._index]
        self._passes, self._n_passes = list(passes), len(passes)
        self._train_done = 0.0
        self._name = name
        self._progress.update(self._task, description=name)

    def train_step(self, step: int, total: int) -> None:
        """Called after each optimizer step of the current cell's training."""
        now = self._pass_start = self._clock()  # the evaluation passes start after the last step
        target = self._train_total * step / max(total, 1)
        self._progress.advance(self._task, target - self._train_done)
        self._train_done = target
        self._line(f"training step {step}/{total}", now)

    def advance(self) -> None:
        """One evaluation pass (test arm × mode) of the current cell is finished.

        In measured seconds, a pass that took longer than its weight re-weighs the cell's passes still to
        come with the same weight (the same kind and mode) at what it took: a kind and mode that no
        finished cell measured (the untuned model's 128-token generation, weighed at the trained cells'
        rate) would otherwise keep the time left at a fraction of the truth for the whole cell. Only
        upwards: a pass served from the prediction cache takes seconds and says nothing of the others."""
        if not self._passes:
            return
        now = self._clock()
        weight = self._passes.pop(0)
        took, self._pass_start = now - self._pass_start, now
        if self._seconds and took > weight:
            same = sum(w == weight for w in self._passes)
            self._passes = [took if w == weight else w for w in self._passes]
            task = self._progress.tasks[0]
            self._progress.update(self._task, total=(task.total or 0.0) + (took - weight) * (1 + same))
            weight = took
        self._progress.advance(self._task, weight)
        self._line(f"evaluation pass {self._n_passes - len(self._passes)}/{self._n_passes} done", now)

    def _line(self, stage: str, now: float) -> None:
        """The plain line (lines mode), at most every `GRID_LINE_PERIOD_S` seconds."""
        if not self._lines or now - self._last_line < GRID_LINE_PERIOD_S:
            return
        self._last_line = now
        task = self._progress.tasks[0]
        share, elapsed = task.completed / (task.total or 1.0), now - self._start
        to_go = (
            (task.total or 0.0) - task.completed if self._seconds else elapsed * (1 - share) / (share or 1)
        )
        left = f", about {duration_text(to_go)} left" if 0 < share < 1 else ""
        print(
            f"grid: cells {self._cells_text()}, {100 * share:.0f}% of this run's work; {self._name}: {stage}; "
            f"{duration_text(elapsed)} elapsed{left}",
            file=sys.stderr,
            flush=True,
        )

    def finish_cell(self, name: str, seconds: float) -> None:
        self._progress.advance(self._task, self._train_total - self._train_done + sum(self._passes))
        self._passes, self._train_done = [], self._train_total
        self.done_cells += 1
        self._progress.update(self._task, cells=self._cells_text())
        if self.enabled:
            self._progress.console.print(f"cell {self._cells_text()} done: {name} ({seconds:.1f} s)")
