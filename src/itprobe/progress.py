"""The one way itprobe draws progress: rich bars on stderr (stdout stays for results).

`stderr_progress` builds the bar from the columns a caller wants between the bar and the ETA;
`counting_bar` is the common case, a bar over a count of instances with ``advance(n, description)``.
When stderr is not a terminal (a CI log, ``2> file``, a pipeline) a bar would show nothing until the end,
so `counting_bar` writes one plain line every `LINE_PERIOD_S` seconds instead (and one at the end).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)


class Advance(Protocol):
    """Move a `counting_bar` on by ``n`` items (and show ``text`` as its description, if given)."""

    def __call__(self, n: int, text: str | None = None) -> None: ...


def _silent(n: int, text: str | None = None) -> None:
    return None


def stderr_progress(
    first: ProgressColumn | str,
    *middle: ProgressColumn | str,
    count: bool = True,
    eta: bool = True,
    trailing: tuple[ProgressColumn | str, ...] = (),
    enabled: bool = True,
) -> Progress:
    """A bar on stderr: ``first`` column, the bar, ``M/N`` (``count``), the ``middle`` columns, the ETA
    (``eta``), then ``trailing``; strings are text columns (rich markup and ``{task...}`` fields)."""
    columns: list[ProgressColumn | str] = [first, BarColumn()]
    columns += [MofNCompleteColumn()] if count else []
    columns += [*middle, *([TimeRemainingColumn()] if eta else []), *trailing]
    return Progress(
        *(TextColumn(c) if isinstance(c, str) else c for c in columns),
        console=Console(stderr=True),
        transient=False,
        disable=not enabled,
    )


LINE_PERIOD_S = 30.0


def duration_text(seconds: float) -> str:
    """``45s``, ``2m10s``, ``3h05m``: a progress line's elapsed time and ETA."""
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


@dataclass
class _LineState:
    last: float
    done: int = 0
    text: str = ""
    shown: int = -1


@contextmanager
def progress_lines(
    description: str,
    total: int,
    *,
    period_s: float = LINE_PERIOD_S,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[Advance]:
    """Progress as a plain line on stderr at most every ``period_s`` seconds, and a last line at the end
    unless it is already out: ``audit: 120/480 (25%) original (rank) alpha-task; 2m10s elapsed, about 6m30s
    left``."""
    start = clock()
    state = _LineState(last=start)

    def line(now: float) -> None:
        done, elapsed = state.done, now - start
        left = f", about {duration_text(elapsed * (total - done) / done)} left" if 0 < done < total else ""
        pct = f" ({100 * done / total:.0f}%)" if total else ""
        text = f" {state.text}" if state.text else ""
        state.shown, state.last = done, now
        print(
            f"{description}: {done}/{total}{pct}{text}; {duration_text(elapsed)} elapsed{left}",
            file=sys.stderr,
            flush=True,
        )

    def advance(n: int, text: str | None = None) -> None:
        state.done += n
        state.text = text[:60] if text is not None else state.text
        now = clock()
        if now - state.last >= period_s:
            line(now)

    yield advance
    if state.shown != state.done:
        line(clock())


@contextmanager
def counting_bar(description: str, total: int, *, enabled: bool = True, rate: str = "") -> Iterator[Advance]:
    """A bar over ``total`` items: yields ``advance(n, description=None)``; with ``rate`` (a unit such as
    "inst/s") the speed is shown after the count. A no-op when disabled; plain periodic lines when stderr
    is not a terminal (`progress_lines`)."""
    if not enabled:
        yield _silent
        return
    if not Console(stderr=True).is_terminal:
        with progress_lines(description, total) as advance_line:
            yield advance_line
        return
    middle = ("{task.fields[rate]}",) if rate else ()
    with stderr_progress("[progress.description]{task.description}", *middle) as bar:
        ident = bar.add_task(description, total=total, rate="")

        def advance(n: int, text: str | None = None) -> None:
            bar.update(ident, advance=n, description=text[:60] if text is not None else None)
            if rate:
                speed = bar.tasks[0].speed
                bar.update(ident, rate=f"{speed:.2f} {rate}" if speed else "")

        yield advance
