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
