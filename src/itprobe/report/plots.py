"""Report figures (matplotlib, Agg, object API: no pyplot global state), written atomically as PNG.

Each function takes already-computed numbers and a target path and returns the path. `plot_path` turns a
figure name into a deterministic, safe file name under ``plots/``.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from itprobe.report.costs import Confusion
from itprobe.report.curves import CurvePoint
from itprobe.report.render import atomic_write, confined
from itprobe.report.stats import Estimate

if TYPE_CHECKING:  # matplotlib is loaded by the first figure drawn (`_figure`)
    from matplotlib.figure import Figure

PLOTS_DIR = "plots"
# one (line style, colour) per reference line; 5 styles × 6 colours cycle with period 30, so no two of the
# first 30 lines share a style
_REF_STYLES = ("--", ":", "-.", (0, (5, 1)), (0, (1, 3)))
_REF_COLORS = ("#c0392b", "#7f8c8d", "#8e44ad", "#16a085", "#d35400", "#2c3e50")


def plot_path(out_dir: str | Path, name: str) -> tuple[Path, str]:
    """(absolute path, path relative to ``out_dir``) of the PNG for figure ``name``.

    The file name is ``name`` slugged; a short hash of ``name`` is appended whenever slugging changed it,
    so distinct names never collide.
    """
    slug = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-")[:60] or "figure"
    if slug != name:
        slug += "-" + hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
    rel = f"{PLOTS_DIR}/{slug}.png"
    return confined(out_dir, rel), rel


def _figure(figsize: tuple[float, float]) -> Figure:
    """A new figure. matplotlib (about half a second to import) is loaded here, on the first figure, so
    that importing the report package, whose API includes this module, does not load it."""
    import matplotlib  # lazy: matplotlib, needed only to draw

    matplotlib.use("Agg")  # no GUI backend, should anything import pyplot later
    from matplotlib.figure import Figure  # lazy: matplotlib

    return Figure(figsize=figsize)


def _text(s: str, limit: int = 40) -> str:
    # user strings must not trigger mathtext ($...$) and must fit on an axis
    s = s if len(s) <= limit else s[: limit - 1] + "…"
    return s.replace("$", r"\$")


def _save(fig: Figure, path: Path) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    return atomic_write(path, buf.getvalue())


def reference_style(i: int) -> tuple[object, str]:
    """(line style, colour) of the i-th reference line."""
    return _REF_STYLES[i % len(_REF_STYLES)], _REF_COLORS[i % len(_REF_COLORS)]


def _reference_lines(ax, references: Mapping[str, float], scale: float) -> None:
    for i, (name, value) in enumerate(references.items()):
        style, color = reference_style(i)
        ax.axhline(value * scale, linestyle=style, color=color, linewidth=1.4, label=_text(name))


def _label(ax, title: str, ylabel: str, *, legend: bool = True) -> None:
    """The y label, the title and (``legend``) the legend beside the axes."""
    ax.set_ylabel(_text(ylabel, 60))
    ax.set_title(_text(title, 80))
    if legend:
        _legend_outside(ax)


def _legend_outside(ax) -> None:
    # beside the axes, never over the bars or lines
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False)


def bar_chart(
    path: Path,
    labels: Sequence[str],
    estimates: Sequence[Estimate],
    *,
    title: str,
    ylabel: str,
    references: Mapping[str, float] | None = None,
    scale: float = 100.0,
) -> Path:
    """Bars with 95% CI error bars, one per label, and horizontal reference lines (e.g. random, untuned)."""
    fig = bar_figure(labels, estimates, title=title, ylabel=ylabel, references=references, scale=scale)
    return _save(fig, path)


def bar_figure(
    labels: Sequence[str],
    estimates: Sequence[Estimate],
    *,
    title: str,
    ylabel: str,
    references: Mapping[str, float] | None = None,
    scale: float = 100.0,
) -> Figure:
    """The figure `bar_chart` saves (the legend of the reference lines sits outside the axes)."""
    fig = _figure(figsize=(max(5.0, 0.8 * len(labels) + 2.5) + (1.8 if references else 0.0), 4.0))
    ax = fig.add_subplot()
    means = np.array([e.mean for e in estimates]) * scale
    err = np.array([[e.mean - e.low for e in estimates], [e.high - e.mean for e in estimates]]) * scale
    x = np.arange(len(labels))
    ax.bar(x, means, yerr=err, capsize=4, color="#3b6ea5", alpha=0.85)
    _reference_lines(ax, references or {}, scale)
    ax.set_xticks(
        x,
        [_text(s, 24) for s in labels],
        rotation=30 if len(labels) > 4 else 0,
        ha="right" if len(labels) > 4 else "center",
    )
    _label(ax, title, ylabel, legend=bool(references))
    return fig


def stacked_parts(
    path: Path,
    labels: Sequence[str],
    format_parts: Sequence[float],
    meaning_parts: Sequence[float],
    totals: Sequence[Estimate],
    *,
    title: str,
    ylabel: str,
    scale: float = 100.0,
) -> Path:
    """Per label, the format and meaning parts of a difference stacked (negative parts stack below 0),
    with the total's 95% CI as an error bar at the total."""
    fig = _figure(figsize=(max(5.0, 0.8 * len(labels) + 2.5) + 1.8, 4.0))
    ax = fig.add_subplot()
    x = np.arange(len(labels))
    f = np.asarray(format_parts, dtype=float) * scale
    m = np.asarray(meaning_parts, dtype=float) * scale
    # a part stacks on the same-signed part before it, so positive and negative segments never overlap
    f_base = np.zeros_like(f)
    m_base = np.where(np.sign(m) == np.sign(f), f, 0.0)
    ax.bar(x, f, bottom=f_base, color="#e67e22", label="format part (in/out of the label set)")
    ax.bar(x, m, bottom=m_base, color="#3b6ea5", hatch="//", label="meaning part (label choice)")
    mean = np.array([t.mean for t in totals]) * scale
    err = np.array([[t.mean - t.low for t in totals], [t.high - t.mean for t in totals]]) * scale
    ax.errorbar(x, mean, yerr=err, fmt="o", color="black", capsize=4, markersize=4, label="total, 95% CI")
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_xticks(
        x,
        [_text(s, 24) for s in labels],
        rotation=30 if len(labels) > 4 else 0,
        ha="right" if len(labels) > 4 else "center",
    )
    _label(ax, title, ylabel)
    return _save(fig, path)


def curve_chart(
    path: Path,
    points: Sequence[CurvePoint],
    *,
    title: str,
    ylabel: str,
    references: Mapping[str, float] | None = None,
    scale: float = 100.0,
) -> Path:
    """Score vs training instances per task (log2 axis), one line with a 95% CI band per condition."""
    fig = _figure(figsize=(8.0, 4.2))
    ax = fig.add_subplot()
    for condition in dict.fromkeys(p.condition for p in points):
        pts = sorted((p for p in points if p.condition == condition), key=lambda p: p.size)
        x = np.array([p.size for p in pts], dtype=float)
        mean = np.array([p.estimate.mean for p in pts]) * scale
        ax.plot(x, mean, marker="o", label=_text(condition))
        ax.fill_between(
            x, [p.estimate.low * scale for p in pts], [p.estimate.high * scale for p in pts], alpha=0.18
        )
    _reference_lines(ax, references or {}, scale)
    sizes = sorted({p.size for p in points})
    if sizes and min(sizes) > 0:
        ax.set_xscale("log", base=2)
        ax.set_xticks(sizes, [str(s) for s in sizes])
    ax.set_xlabel("training instances per task")
    _label(ax, title, ylabel)
    return _save(fig, path)


def heatmap(
    path: Path,
    rows: Sequence[str],
    columns: Sequence[str],
    values: np.ndarray,
    *,
    title: str,
    scale: float = 100.0,
    fmt: str = "{:.0f}",
) -> Path:
    """A rows × columns grid (e.g. task × arm scores); NaN cells are left blank."""
    data = np.asarray(values, dtype=float) * scale
    fig = _figure(figsize=(max(5.0, 0.9 * len(columns) + 3.5), min(30.0, max(2.5, 0.32 * len(rows) + 1.5))))
    ax = fig.add_subplot()
    image = ax.imshow(np.ma.masked_invalid(data), aspect="auto", cmap="viridis")
    fig.colorbar(image, ax=ax, fraction=0.04)
    ax.set_xticks(range(len(columns)), [_text(c, 20) for c in columns], rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), [_text(r) for r in rows], fontsize=8)
    if data.size <= 400:
        finite = data[np.isfinite(data)]
        mid = (finite.min() + finite.max()) / 2 if finite.size else 0.0
        for (i, j), v in np.ndenumerate(data):
            if np.isfinite(v):
                ax.text(
                    j,
                    i,
                    fmt.format(v),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if v < mid else "black",
                )
    ax.set_title(_text(title, 80))
    return _save(fig, path)


def confusion_chart(path: Path, confusion: Confusion, *, title: str) -> Path:
    """Counts of gold (rows) × predicted (columns, last = out-of-space)."""
    counts = np.array(confusion.counts, dtype=float)
    fig = _figure(
        figsize=(max(3.5, 0.7 * len(confusion.columns) + 2), max(3.0, 0.5 * len(confusion.rows) + 1.5))
    )
    ax = fig.add_subplot()
    ax.imshow(counts, cmap="Blues")
    ax.set_xticks(
        range(len(confusion.columns)), [_text(c, 16) for c in confusion.columns], rotation=30, ha="right"
    )
    ax.set_yticks(range(len(confusion.rows)), [_text(r, 16) for r in confusion.rows])
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    top = counts.max() if counts.size else 0
    for (i, j), v in np.ndenumerate(counts):
        ax.text(
            j, i, f"{int(v)}", ha="center", va="center", fontsize=8, color="white" if v > top / 2 else "black"
        )
    ax.set_title(_text(title, 60))
    return _save(fig, path)
