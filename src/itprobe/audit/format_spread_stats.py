"""The statistics and the report section of the ``format-spread`` probe (`itprobe.audit.format_spread`,
where the probe is declared): the spread of exact match over the templates with a paired bootstrap CI, the
per-instance sensitivity, and instruction reliance under every template (see that module's doc)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from itprobe.audit.catalogue import meaning_free_probes
from itprobe.audit.format_spread import Template, condition
from itprobe.records import InstanceResult
from itprobe.report import Cell, Estimate, Section, Table, align, jsonable, statistic_ci


@dataclass(frozen=True)
class Spread:
    """Exact match of one mode under each template (aligned instances), and what follows from it."""

    mode: str
    n: int
    scores: tuple[tuple[str, float], ...]  # (template label, mean EM)
    low: float  # min over templates
    high: float  # max over templates
    width: Estimate  # max − min, paired bootstrap CI (both re-taken per resample)
    sensitive_share: float  # share of instances whose correctness changes with the template
    mean_sensitivity: float  # mean of 1 − |2p − 1|
    reliance: tuple[tuple[str, float], ...] = ()  # per template: original − best meaning-free arm
    worst_reliance: Estimate | None = None  # min over templates, paired bootstrap CI


def _width(m: np.ndarray) -> np.ndarray:
    return m.max(axis=1) - m.min(axis=1)


def spread_of(
    rows: Sequence[InstanceResult], mode: str, k: int, labels: Sequence[str], *, n_boot: int, seed: int
) -> Spread | None:
    """The spread of the original instruction over the templates of one mode (None without such rows)."""
    names = [condition("original", i) for i in range(k + 1)]
    aligned = align(rows, names)
    if aligned.n == 0 or not any(r.condition == names[-1] for r in rows):
        return None
    columns = np.column_stack([aligned.scores[c] for c in names])
    cluster = aligned.resampling()
    width = statistic_ci(columns, _width, n_boot=n_boot, seed=seed, cluster=cluster)
    p = columns.mean(axis=1)
    means = columns.mean(axis=0)
    reliance, worst = _reliance(rows, k, n_boot=n_boot, seed=seed)
    return Spread(
        mode=mode,
        n=aligned.n,
        scores=tuple(zip(labels, (float(m) for m in means), strict=True)),
        low=float(means.min()),
        high=float(means.max()),
        width=width,
        sensitive_share=float(np.mean((p > 0) & (p < 1))),
        mean_sensitivity=float(np.mean(1 - np.abs(2 * p - 1))),
        reliance=reliance,
        worst_reliance=worst,
    )


def _reliance(
    rows: Sequence[InstanceResult], k: int, *, n_boot: int, seed: int
) -> tuple[tuple[tuple[str, float], ...], Estimate | None]:
    present = {r.condition for r in rows}
    arms = [a for a in meaning_free_probes() if all(condition(a, i) in present for i in range(k + 1))]
    if not arms:
        return (), None
    names = [condition(a, i) for i in range(k + 1) for a in ("original", *arms)]
    aligned = align(rows, names)
    if aligned.n == 0:
        return (), None
    width = 1 + len(arms)
    m = np.column_stack([aligned.scores[c] for c in names])  # [n, (k+1) * (1 + arms)]

    def worst(x: np.ndarray) -> np.ndarray:
        blocks = x.reshape(x.shape[0], k + 1, width)  # [reps, templates, original + arms]
        return (blocks[:, :, 0] - blocks[:, :, 1:].max(axis=2)).min(axis=1)

    means = m.mean(axis=0).reshape(k + 1, width)
    per_template = tuple((f"template {i}", float(means[i, 0] - means[i, 1:].max())) for i in range(k + 1))
    est = statistic_ci(m, worst, n_boot=n_boot, seed=seed, cluster=aligned.resampling())
    return per_template, est


SPREAD_TEXT = (
    "Format spread: the original instruction scored under K harmless rewrites of the prompt's format (field "
    "names Output/Answer, their casing, the separator after them, the break between blocks, a trailing space, "
    "the order of the labels quoted in the definition), every word of meaning kept; template 0 is the "
    "original format. Spread = max − min over the templates, with a paired 95% bootstrap CI (both re-taken in "
    "every resample). Sensitive instances: answered right under some templates and wrong under others. "
    "Reliance across formats: original − the best meaning-free arm in the same format, for the worst template "
    "(CI: the minimum re-taken per resample); 'relies on the instruction' holds across formats only when its "
    "CI is above 0."
)


def spread_section(spreads: Sequence[Spread], tmpl: Sequence[Template]) -> tuple[Section, dict[str, Any]]:
    """The report section (templates, spread per mode, reliance across formats) and its JSON data."""
    rows: list[list[Cell]] = []
    for s in spreads:
        worst = s.worst_reliance
        rows.append(
            [
                s.mode,
                s.n,
                100 * s.low,
                100 * s.high,
                f"{100 * s.width.mean:.1f} [{100 * s.width.low:.1f}, {100 * s.width.high:.1f}]",
                100 * s.sensitive_share,
                f"{100 * worst.mean:+.1f} [{100 * worst.low:+.1f}, {100 * worst.high:+.1f}]"
                if worst
                else None,
            ]
        )
    columns = [
        "mode",
        "instances",
        "min EM (%)",
        "max EM (%)",
        "spread, points [95% CI]",
        "sensitive instances (%)",
        "reliance, worst format [95% CI]",
    ]
    per_template = Table(
        title="Templates and exact match under each",
        columns=["template", "format", *(s.mode for s in spreads)],
        rows=[
            [str(i), t.label().replace("\n", "\\n"), *(100 * s.scores[i][1] for s in spreads)]
            for i, t in enumerate(tmpl)
        ],
    )
    section = Section(
        title="Format spread",
        paragraphs=[SPREAD_TEXT],
        tables=[Table(columns=columns, rows=rows), per_template],
    )
    data = {
        "templates": [{"index": i, "label": t.label(), **jsonable(t)} for i, t in enumerate(tmpl)],
        "modes": {s.mode: jsonable(s) for s in spreads},
    }
    return section, data
