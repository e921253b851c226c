"""`itprobe.progress`: the one progress-bar helper draws on stderr only, and does nothing when disabled."""

from __future__ import annotations

import pytest

from itprobe.progress import counting_bar, progress_lines, stderr_progress


def test_counting_bar_draws_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    with counting_bar("predict", 3, rate="inst/s") as advance:
        advance(1)
        advance(2, "last task")
    out, err = capsys.readouterr()
    assert out == "" and "3/3" in err


def test_disabled_bars_are_silent(capsys: pytest.CaptureFixture[str]) -> None:
    with counting_bar("audit", 3, enabled=False) as advance:
        advance(3, "x")
    with stderr_progress("train", "loss {task.fields[loss]}", enabled=False) as bar:
        bar.add_task("train", total=1, loss="-")
    assert capsys.readouterr() == ("", "")


def test_lines_when_stderr_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    ticks = iter([0.0, 10.0, 31.0, 45.0, 70.0])  # start, then one reading per advance
    with progress_lines("audit", 4, period_s=30, clock=lambda: next(ticks)) as advance:
        advance(1, "original (rank) alpha-task")  # 10 s: too soon for a line
        advance(1)  # 31 s: a line
        advance(1, "simplified (rank) beta-task")  # 45 s: 14 s after the last line
        advance(1)  # 70 s: a line
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "audit: 2/4 (50%) original (rank) alpha-task; 31s elapsed, about 31s left",
        "audit: 4/4 (100%) simplified (rank) beta-task; 1m10s elapsed",
    ]  # the end adds no line: its state is already out


def test_a_grid_run_in_the_background_writes_a_line_at_most_every_minute(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from itprobe.study.progress import GridProgress

    ticks = iter([0.0, 30.0, 61.0, 70.0, 130.0])  # start, then one reading per step or pass
    work = [(10.0, [5.0, 5.0]), (0.0, [20.0])]  # two cells: 40 units in all
    with GridProgress(2, 0, work, lines=True, clock=lambda: next(ticks)) as grid:
        grid.start_cell("original n=4 seed=0")
        grid.train_step(1, 2)  # 30 s: too soon
        grid.train_step(2, 2)  # 61 s: a line
        grid.advance()  # 70 s: 9 s after the last line
        grid.advance()  # 130 s: a line
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("grid:")]
    assert lines == [
        "grid: cells 0/2, 25% of this run's work; original n=4 seed=0: training step 2/2; 1m01s elapsed, "
        "about 3m03s left",
        "grid: cells 0/2, 50% of this run's work; original n=4 seed=0: evaluation pass 2/2 done; 2m10s "
        "elapsed, about 2m10s left",
    ]


def test_durations_read_in_hours_past_an_hour() -> None:
    from itprobe.progress import duration_text

    assert [duration_text(s) for s in (45, 130, 3 * 3600 + 5 * 60 + 9)] == ["45s", "2m10s", "3h05m"]


def test_a_resumed_grid_weighs_its_cells_by_the_seconds_its_finished_cells_took() -> None:
    """Default ratios (a training example = 4 rank instances, a generated answer = 3) are the 135M model's;
    a resumed run takes the median seconds per unit of its finished cells, and what none of them ran
    keeps its default ratio, scaled to the measured ones."""
    from types import SimpleNamespace

    from itprobe.study.progress import WorkRates, cell_work
    from itprobe.study.store import CellRecord

    tasks = [SimpleNamespace(instances=[0] * 10) for _ in range(2)]  # 2 tasks x 10: 20 per pass
    data = SimpleNamespace(train=tasks, test=tasks)
    config = SimpleNamespace(training=SimpleNamespace(max_steps=None, epochs=1.0, batch_size=4, grad_accum=1))

    def record(kind: str, size: int | None, **timings: float) -> CellRecord:
        return CellRecord("id", kind, "n", "", size, 0, "", "m", {}, timings=timings)

    records = [
        record("trained", 4, train=16.0, **{"predict/original/rank": 2.0, "predict/original/generate": 4.0}),
        record("trained", 4, train=24.0, **{"predict/original/rank": 4.0, "predict/x/generate": 0.02}),
        record("trained", 1, train=400.0),  # a crowded machine: one outlier of three does not move a median
        record("baseline", None, total=0.1),
    ]
    rates = WorkRates.measured(records, config, data)  # type: ignore[arg-type]
    assert rates.train_example == 3.0  # median of 16/8, 24/8, 400/2 seconds per example
    assert rates.per_instance("trained", "rank") == pytest.approx(0.15)  # median of 2/20 and 4/20
    assert rates.per_instance("trained", "generate") == pytest.approx(0.1005)  # 4/20 and a cached 0.02/20
    # the untuned model's generation was never timed: the default 3 rank instances, at the median scale of
    # the measured rates against their defaults (3/4, 0.15/1, 0.1005/3 -> 0.15)
    assert rates.per_instance("untuned", "generate") == pytest.approx(0.45)
    cell = SimpleNamespace(kind="trained", size=4, test_arms=("same", "original"), modes=("rank",))
    train, passes = cell_work(cell, config, data, rates)  # type: ignore[arg-type]
    assert (train, passes) == (24.0, pytest.approx([3.0, 3.0]))
    assert WorkRates.measured([], config, data) == WorkRates()  # type: ignore[arg-type]
    assert cell_work(cell, config, data) == (32.0, [20.0, 20.0])  # type: ignore[arg-type]


def test_a_resumed_grid_says_the_measured_seconds_left_not_an_extrapolation(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A resumed run's first cell may finish in seconds (its passes in the prediction cache, its training
    checkpointed): extrapolating the elapsed time then says minutes where hours are left. With weights in
    measured seconds (`WorkRates.measured`), the time left is the work left."""
    from itprobe.study.progress import GridProgress

    work = [(0.0, [600.0, 600.0]), (3000.0, [600.0])]  # seconds: a cached cell, then a 1 h cell
    for seconds, left in [(False, "about 3m03s left"), (True, "about 1h00m left")]:
        ticks = iter([0.0, 30.0, 61.0])
        with GridProgress(2, 0, work, lines=True, clock=ticks.__next__, seconds=seconds) as grid:
            grid.start_cell("delusive n=4 seed=1")
            grid.advance()  # 30 s (from the cache): too soon for a line
            grid.advance()  # 61 s: a line, a quarter of the work done
        (line,) = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("grid:")]
        assert line.endswith(f"1m01s elapsed, {left}"), line


def test_a_pass_slower_than_its_weight_reweighs_the_cells_passes_of_its_kind(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The untuned cell's generation passes are weighed at the trained cells' rate (a tuned model stops
    after its label, the base model runs to the 128-token cap): once one has taken 40 minutes, the time
    left counts the others of its weight at 40 minutes too (sitting 7 of natinst-curve said "about 57m
    left" with about 2 h to go). A pass faster than its weight (a cache hit) changes nothing."""
    from itprobe.study.progress import GridProgress

    work = [(0.0, [600.0, 60.0, 600.0, 60.0])]  # generation, rank, generation, rank (seconds)
    for first_pass, left in [(2400.0, "about 42m00s left"), (65.0, "about 12m00s left")]:
        ticks = iter([0.0, first_pass])
        with GridProgress(1, 0, work, lines=True, clock=ticks.__next__, seconds=True) as grid:
            grid.start_cell("untuned")
            grid.advance()  # the first generation pass
        (line,) = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("grid:")]
        assert line.endswith(left), line
