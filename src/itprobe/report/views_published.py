"""Published figures beside the run's own: what a reproduction reads first.

A study that reruns a paper (`natinst-curve` reruns Kung & Peng) declares the figures it is compared with in
its config (`report.published`); this section puts each beside the run's estimate of the same condition, at
the same training size, with the run's CI (seed variance included when there are seeds). A figure that is a
difference (``reference`` − condition, e.g. "tuning beats the untuned model by 30 points") is set beside this
run's paired difference, computed as the report's comparisons compute it (`compare_arms`: the seeds both
sides have, a two-level interval); a claim in words ("comparable") has no number to subtract. The difference is
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
from itprobe.report.analysis import GUESS, compare_arms, condition_estimate, guess_rate
from itprobe.report.model import Section, Table
from itprobe.report.results import Metric
from itprobe.report.stats import Estimate
from itprobe.report.views import ci_text, jsonable


class PublishedFigure(Protocol):
    """One published number (`itprobe.study.config.PublishedFigure` is the declared form)."""

    @property
    def label(self) -> str: ...  # what the publication calls it, e.g. "IT, < 5 instances per task"
    @property
    def condition(self) -> str: ...  # the condition label here, e.g. "original", "untuned", "random"
    @property
    def reference(self) -> str | None: ...  # set: the figure is reference − condition
    @property
    def sizes(self) -> Sequence[int] | None: ...  # training sizes, one row each; None: an untrained condition
    @property
    def metric(self) -> str: ...  # "exact_match" or "rougeL"
    @property
    def value(self) -> float | None: ...  # in points, as published; None: a claim in words
    @property
    def claim(self) -> str | None: ...  # the publication's words where it gives no number
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
    """One row per (figure, size): the published value (or claim), this run's estimate with its 95% CI,
    their difference in points (none for a claim) and the source. None when no figure is declared."""
    if not figures:
        return None
    rows: list[list[Any]] = []
    data: list[dict[str, Any]] = []
    for figure in figures:
        sizes: list[int | None] = [*figure.sizes] if figure.sizes else [None]
        analytic = _analytic(results, figure)
        # the analytic guess as rows beside the run's, for a score and a difference alike
        scored = [*results, *_guess_rows(results)] if analytic else results
        for size in sizes:
            est = _estimate(scored, figure, size, n_boot=n_boot, seed=seed)
            ours = None if est is None else 100 * est.mean
            off = None if ours is None or figure.value is None else ours - figure.value
            here = f"{GUESS} (expected uniform guess)" if analytic else show(figure.condition)
            if figure.reference:
                here = f"{show(figure.reference)} − {here}"
            # a difference is signed in both columns, as its interval is
            shown = f"{ours:+.1f}" if ours is not None and figure.reference else ours
            rows.append(
                [figure.label, here, size, figure.value if figure.value is not None else figure.claim, shown,
                 ci_text(est, sign=bool(figure.reference)), None if off is None else f"{off:+.1f}",
                 None if est is None else est.n, figure.source]
            )  # fmt: skip
            data.append(
                {"label": figure.label, "condition": figure.condition, "reference": figure.reference,
                 "size": size, "metric": figure.metric, "published": figure.value, "claim": figure.claim,
                 "estimate": None if est is None else jsonable(est), "difference": off, "source": figure.source}
            )  # fmt: skip
    missing = sorted({d["condition"] for d in data if d["estimate"] is None})
    text = (
        "Each figure the study is compared with (`report.published` in its config) beside this run's "
        "estimate of the same condition and training size (seeds averaged per instance; the CI includes "
        "seed variance when there are several seeds). The difference is a description, not a test: the "
        "model, the data and the grid are not the publication's, and a published figure comes without the "
        "instances it was computed on, so nothing can be paired with it. A figure of the form A − B is "
        "this run's paired difference on the same instances, as the comparisons below compute it; a "
        "published claim in words has no number to subtract."
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


def _estimate(
    results: Sequence[InstanceResult], figure: PublishedFigure, size: int | None, *, n_boot: int, seed: int
) -> Estimate | None:
    """This run's figure for ``figure`` at ``size``: a score, or (``reference``) a paired difference."""
    names = [figure.condition, *([figure.reference] if figure.reference else [])]
    # a trained arm without a size would pool its sizes into one number: declare the sizes instead
    if size is None and any(r.condition in names and r.size for r in results):
        return None
    metric: Metric = figure.metric  # type: ignore[assignment]  # one of them: validated by the config
    if figure.reference:
        found = compare_arms(
            results, figure.reference, [figure.condition], metric=metric, size=size, n_boot=n_boot, seed=seed
        )
        return found[0].test.diff if found else None
    return condition_estimate(results, figure.condition, metric=metric, size=size, n_boot=n_boot, seed=seed)


def _analytic(results: Sequence[InstanceResult], figure: PublishedFigure) -> bool:
    """The figure is the uniform guess's exact match and the run stores no rows under its name."""
    return figure.condition == GUESS and figure.metric == "exact_match" and not _has(results, GUESS)


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
