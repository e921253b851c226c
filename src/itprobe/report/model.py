"""The report as data (pydantic): what `report.json` holds and what the Markdown and HTML renderers read.

Generic on purpose: a study report and an audit are both a title, a summary, sections of paragraphs,
tables and figures, notes, skipped probes and provenance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from typing import Any, NamedTuple

from pydantic import Field, model_validator

from itprobe import __version__
from itprobe.schema import StrictModel

Cell = str | int | float | None


class Table(StrictModel):
    """A table; float cells are shown with ``digits`` decimals, None as an en dash."""

    title: str = ""
    columns: list[str]
    rows: list[list[Cell]] = Field(default_factory=list)
    note: str = ""
    digits: int = 1

    @model_validator(mode="after")
    def _rows_match_columns(self) -> Table:
        for i, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(f"row {i} has {len(row)} cells for {len(self.columns)} columns")
        return self


class Figure(StrictModel):
    """A PNG under the report's directory: ``path`` is relative to it (e.g. "plots/scores.png")."""

    path: str
    caption: str


class Section(StrictModel):
    title: str
    paragraphs: list[str] = Field(default_factory=list)
    tables: list[Table] = Field(default_factory=list)
    figures: list[Figure] = Field(default_factory=list)


class SectionResult(NamedTuple):
    """What a section builder returns: the section to render and its data for the JSON report (a named
    pair, so ``section, data = builder(...)`` reads as before)."""

    section: Section
    data: dict[str, Any]


class Skipped(StrictModel):
    """A probe that could not run, where, and why."""

    probe: str
    task: str = ""
    reason: str


def package_versions(*names: str) -> dict[str, str]:
    """{"itprobe": its version, name: installed version} for the named distributions that are installed
    (read from their metadata: nothing is imported)."""
    out = {"itprobe": __version__}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


class Provenance(StrictModel):
    """Where the numbers come from."""

    config_hash: str = ""
    model: str = ""
    command: str = ""
    created: str = ""
    versions: dict[str, str] = Field(default_factory=dict)
    timings: dict[str, float] = Field(default_factory=dict)
    extra: dict[str, str] = Field(default_factory=dict)


ENGINE_PACKAGES = ("torch", "transformers")  # the libraries the model side's numbers depend on


def stamped_provenance(
    *,
    model: str,
    command: str,
    timings: Mapping[str, float],
    extra: Mapping[str, str],
    config_hash: str = "",
    packages: Sequence[str] = ENGINE_PACKAGES,
) -> Provenance:
    """A `Provenance` created now (UTC, to the second) with the versions of itprobe and ``packages``: the
    one place study and audit stamp where their numbers come from."""
    return Provenance(
        config_hash=config_hash,
        model=model,
        command=command,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        versions=package_versions(*packages),
        timings=dict(timings),
        extra=dict(extra),
    )


class ReportData(StrictModel):
    """A whole report. ``data`` carries the machine-readable numbers (estimates, tests) for report.json."""

    title: str
    summary: list[str] = Field(default_factory=list)
    sections: list[Section] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    skipped: list[Skipped] = Field(default_factory=list)
    provenance: Provenance = Field(default_factory=Provenance)
    data: dict[str, Any] = Field(default_factory=dict)

    def figures(self) -> list[Figure]:
        return [f for s in self.sections for f in s.figures]


def format_cell(value: Cell, digits: int = 1) -> str:
    """How a cell reads in Markdown and HTML (before escaping)."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)
