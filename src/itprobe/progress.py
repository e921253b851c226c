"""The one way itprobe draws progress: rich bars on stderr (stdout stays for results).

`stderr_progress` builds the bar from the columns a caller wants between the bar and the ETA;
`counting_bar` is the common case, a bar over a count of instances with ``advance(n, description)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def counting_bar(description: str, total: int, *, enabled: bool = True, rate: str = "") -> Iterator[Advance]:
    """A bar over ``total`` items: yields ``advance(n, description=None)``; with ``rate`` (a unit such as
    "inst/s") the speed is shown after the count. A no-op when disabled."""
    if not enabled:
        yield _silent
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
