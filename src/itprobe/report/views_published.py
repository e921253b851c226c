"""Published figures beside the run's own: what a reproduction reads first.

A study that reruns a paper (`natinst-curve` reruns Kung & Peng) declares the figures it is compared with in
its config (`report.published`); this section puts each beside the run's estimate of the same condition, at
the same training size, with the run's CI (seed variance included when there are seeds). The difference is
a description, not a test: the model, data and grid differ from the paper's, and a published figure comes
without the instances it was computed on, so no paired statistic exists. A figure whose condition has not
run (yet) gets its row with an en dash, so a partial run shows what is still missing. The uniform guess
(`random`, a paper's "random guess") is its analytic expected exact match over each test instance's label
set, as the gate uses it, unless the run stores rows under that name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from itprobe.records import InstanceResult
from itprobe.report.analysis import GUESS, condition_estimate, guess_rate
from itprobe.report.model import Section, Table
from itprobe.report.views import ci_text, jsonable


class PublishedFigure(Protocol):
    """One published number (`itprobe.study.config.PublishedFigure` is the declared form)."""

    @property
    def label(self) -> str: ...  # what the publication calls it, e.g. "IT, < 5 instances per task"
    @property
    def condition(self) -> str: ...  # the condition label here, e.g. "original", "untuned", "random"
    @property
    def sizes(self) -> Sequence[int] | None: ...  # training sizes, one row each; None: an untrained condition
    @property
    def metric(self) -> str: ...  # "exact_match" or "rougeL"
    @property
    def value(self) -> float: ...  # in points (0-100), as published
    @property
    def source(self) -> str: ...  # where it is printed; "second-hand" when quoted from elsewhere


def published_section(
    results: Sequence[InstanceResult],
    figures: Sequence[PublishedFigure],
    *,
    show: Callable[[str], str] = str,
    n_boot: int = 2000,
    seed: int = 0,
) -> tuple[Section, dict[str, Any]] | None:
    """One row per (figure, size): the published value, this run's estimate with its 95% CI, their
    difference in points and the source. None when no figure is declared."""
    if not figures:
        return None
    rows: list[list[Any]] = []
    data: list[dict[str, Any]] = []
    for figure in figures:
        sizes: list[int | None] = [*figure.sizes] if figure.sizes else [None]
        for size in sizes:
            # a trained arm without a size would pool its sizes into one number: declare the sizes instead
            pooled = size is None and any(r.condition == figure.condition and r.size for r in results)
            analytic = (
                figure.condition == GUESS and figure.metric == "exact_match" and not _has(results, GUESS)
            )
            scored = _guess_rows(results) if analytic else results
            est = None if pooled else condition_estimate(
                scored, figure.condition, metric=figure.metric,  # type: ignore[arg-type]
                size=size, n_boot=n_boot, seed=seed,
            )  # fmt: skip
            ours = None if est is None else 100 * est.mean
            rows.append(
                [figure.label, f"{GUESS} (expected uniform guess)" if analytic else show(figure.condition), size, figure.value, ours,
                 ci_text(est), None if ours is None else f"{ours - figure.value:+.1f}",
                 None if est is None else est.n, figure.source]
            )  # fmt: skip
            data.append(
                {"label": figure.label, "condition": figure.condition, "size": size, "metric": figure.metric,
                 "published": figure.value, "estimate": None if est is None else jsonable(est),
                 "difference": None if ours is None else ours - figure.value, "source": figure.source}
            )  # fmt: skip
    missing = sorted({d["condition"] for d in data if d["estimate"] is None})
    text = (
        "Each figure the study is compared with (`report.published` in its config) beside this run's "
        "estimate of the same condition and training size (seeds averaged per instance; the CI includes "
        "seed variance when there are several seeds). The difference is a description, not a test: the "
        "model, the data and the grid are not the publication's, and a published figure comes without the "
        "instances it was computed on, so nothing can be paired with it."
    )
    if missing:
        text += " No result yet for: " + ", ".join(show(c) for c in missing) + "."
    columns = [
        "published figure", "condition here", "size", "published", "this run", "this run (95% CI)",
        "this run − published", "n", "source",
    ]  # fmt: skip
    table = Table(title="Beside the published figures", columns=columns, rows=rows)
    section = Section(title="Beside the published figures", paragraphs=[text], tables=[table])
    return section, {"figures": data}


def _has(results: Sequence[InstanceResult], condition: str) -> bool:
    return any(r.condition == condition for r in results)


def _guess_rows(results: Sequence[InstanceResult]) -> list[InstanceResult]:
    """The uniform guess (`GUESS`) as rows: each test instance with a label set once, scored with the
    expected exact match of a uniform guess over it (`guess_rate`), the figure a paper's "random guess" is."""
    seen: dict[tuple[str, str], InstanceResult] = {}
    for r in results:
        rate = guess_rate(r)
        if rate is not None and (r.task, r.id) not in seen:
            seen[(r.task, r.id)] = dataclasses.replace(
                r, condition=GUESS, exact_match=rate, seed=0, size=None
            )
    return list(seen.values())
