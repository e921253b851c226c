"""Write a `ReportData` as ``<stem>.md``, ``<stem>.html`` and ``<stem>.json`` into an output directory.

Every write is atomic (temporary file in the same directory, then rename), and every path is confined to
the output directory: a figure path or stem that would escape it is rejected.
"""

from __future__ import annotations

import re
from pathlib import Path

from itprobe import fsio
from itprobe.errors import UserError
from itprobe.report.html import to_html
from itprobe.report.markdown import to_markdown
from itprobe.report.model import ReportData

_STEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class EscapesOutput(UserError, ValueError):
    """A report path outside the output folder (a ValueError to callers, one line to the user)."""


def confined(out_dir: str | Path, relative: str | Path) -> Path:
    """``out_dir / relative``, resolved; `EscapesOutput` (a ValueError) when it is absolute or resolves
    outside ``out_dir`` (e.g. through a symlinked ``plots/``)."""
    base = Path(out_dir).resolve()
    rel = Path(relative)
    if rel.is_absolute():
        raise EscapesOutput(f"path must be relative to the output directory: {relative}")
    target = (base / rel).resolve()
    if target != base and base not in target.parents:
        raise EscapesOutput(f"{relative} escapes the output directory {base} (a symlink there?); remove it")
    return target


def atomic_write(path: str | Path, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file and a rename, so readers never see half a file."""
    return fsio.atomic_write(path, data)


def write_report(
    report: ReportData,
    out_dir: str | Path,
    *,
    stem: str = "report",
    formats: tuple[str, ...] = ("md", "html", "json"),
) -> dict[str, Path]:
    """Render and write the report; returns {format: path}. Figures must already exist under ``out_dir``.

    All documents are rendered before the first write, so a failure leaves no new partial report.
    """
    if not _STEM.match(stem):
        raise ValueError(f"invalid report name: {stem!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for figure in report.figures():
        if not confined(out, figure.path).is_file():
            raise ValueError(f"figure not found under the output directory: {figure.path}")
    rendered: dict[str, str] = {}
    for fmt in formats:
        if fmt == "md":
            rendered[fmt] = to_markdown(report)
        elif fmt == "html":
            rendered[fmt] = to_html(report, out.resolve())
        elif fmt == "json":
            rendered[fmt] = report.model_dump_json(indent=2) + "\n"
        else:
            raise ValueError(f"unknown report format: {fmt}")
    return {fmt: atomic_write(confined(out, f"{stem}.{fmt}"), text) for fmt, text in rendered.items()}


def read_report(path: str | Path) -> ReportData:
    """Load a ``report.json`` back into a `ReportData`."""
    return ReportData.model_validate_json(Path(path).read_text(encoding="utf-8"))
