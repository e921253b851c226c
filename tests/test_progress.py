"""`itprobe.progress`: the one progress-bar helper draws on stderr only, and does nothing when disabled."""

from __future__ import annotations

import pytest

from itprobe.progress import counting_bar, stderr_progress


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
