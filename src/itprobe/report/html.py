"""`ReportData` → one self-contained HTML file: inline CSS, PNGs as base64 data URIs, every text escaped.

Task names, labels and predictions come from users, so each string passes through `html.escape`; a
Content-Security-Policy that forbids scripts and remote loads is a second line of defence.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from itprobe.report.model import Cell, Figure, ReportData, Section, Table, format_cell

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;
color:#1d1d1f;line-height:1.45}
h1{font-size:1.7rem;border-bottom:2px solid #ddd;padding-bottom:.3rem}h2{font-size:1.3rem;margin-top:2rem}
.summary{background:#f4f7fb;border-left:4px solid #3b6ea5;padding:.6rem 1rem}
table{border-collapse:collapse;margin:.6rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.25rem .55rem;text-align:left;vertical-align:top}
th{background:#f0f0f0}td.num{text-align:right;font-variant-numeric:tabular-nums}
caption{caption-side:top;text-align:left;font-weight:600;padding-bottom:.3rem}
figure{margin:1rem 0}img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.9rem;color:#555}.note{font-size:.9rem;color:#555}
""".strip()


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def table_html(table: Table) -> str:
    parts = ["<table>"]
    if table.title:
        parts.append(f"<caption>{_e(table.title)}</caption>")
    parts.append("<thead><tr>" + "".join(f"<th>{_e(c)}</th>" for c in table.columns) + "</tr></thead><tbody>")
    for row in table.rows:
        cells = []
        for value in row:
            cls = ' class="num"' if isinstance(value, int | float) and not isinstance(value, bool) else ""
            cells.append(f"<td{cls}>{_e(format_cell(value, table.digits))}</td>")
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</tbody></table>")
    if table.note:
        parts.append(f'<p class="note">{_e(table.note)}</p>')
    return "".join(parts)


def figure_html(figure: Figure, base_dir: Path) -> str:
    """An <img> with the PNG inlined; ``figure.path`` must already be validated to stay in ``base_dir``."""
    data = base64.b64encode((base_dir / figure.path).read_bytes()).decode("ascii")
    caption = _e(figure.caption)
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{caption}">'
        f"<figcaption>{caption}</figcaption></figure>"
    )


def section_html(section: Section, base_dir: Path) -> str:
    parts = [f"<section><h2>{_e(section.title)}</h2>"]
    parts += [f"<p>{_e(p)}</p>" for p in section.paragraphs]
    parts += [table_html(t) for t in section.tables]
    parts += [figure_html(f, base_dir) for f in section.figures]
    return "".join(parts) + "</section>"


def to_html(report: ReportData, base_dir: str | Path) -> str:
    """The whole report as one HTML document; figures are read from ``base_dir``."""
    base = Path(base_dir)
    body = [f"<h1>{_e(report.title)}</h1>"]
    if report.summary:
        body.append(
            '<div class="summary"><ul>' + "".join(f"<li>{_e(s)}</li>" for s in report.summary) + "</ul></div>"
        )
    body += [section_html(s, base) for s in report.sections]
    if report.skipped:
        rows: list[list[Cell]] = [[s.probe, s.task, s.reason] for s in report.skipped]
        body.append(
            "<section><h2>Skipped probes</h2>"
            + table_html(Table(columns=["probe", "task", "reason"], rows=rows))
            + "</section>"
        )
    if report.notes:
        body.append(
            "<section><h2>Notes</h2><ul>"
            + "".join(f"<li>{_e(n)}</li>" for n in report.notes)
            + "</ul></section>"
        )
    body.append(_provenance_html(report))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(report.title)}</title><style>{CSS}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def _provenance_html(report: ReportData) -> str:
    p = report.provenance
    rows: list[list[Cell]] = [
        [k, v]
        for k, v in (
            ("model", p.model),
            ("config hash", p.config_hash),
            ("command", p.command),
            ("created", p.created),
        )
        if v
    ]
    rows += [[f"version {k}", v] for k, v in sorted(p.versions.items())]
    rows += [[f"time {k}", f"{v:.1f} s"] for k, v in sorted(p.timings.items())]
    rows += [[k, v] for k, v in sorted(p.extra.items())]
    if not rows:
        return ""
    return (
        "<section><h2>Provenance</h2>"
        + table_html(Table(columns=["item", "value"], rows=rows))
        + "</section>"
    )
