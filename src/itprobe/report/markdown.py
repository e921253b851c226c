"""`ReportData` → Markdown. Data text is escaped: it cannot open HTML tags, links, or break a table."""

from __future__ import annotations

import html

from itprobe.report.model import ReportData, Section, Table, format_cell


def md_escape(text: str, *, cell: bool = False) -> str:
    """Neutralise HTML, link/image syntax and headings in user text; in a cell also pipes and newlines."""
    out = html.escape(text, quote=False).replace("\\", "\\\\").replace("](", "\\](").replace("![", "!\\[")
    if cell:
        return " ".join(out.split("\n")).replace("|", "\\|")
    return "\\" + out if out.startswith(("#", ">", "-", "+", "=")) else out


def table_md(table: Table) -> list[str]:
    lines = [f"**{md_escape(table.title)}**", ""] if table.title else []
    lines.append("| " + " | ".join(md_escape(c, cell=True) for c in table.columns) + " |")
    lines.append("|" + "|".join("---" for _ in table.columns) + "|")
    for row in table.rows:
        lines.append(
            "| " + " | ".join(md_escape(format_cell(v, table.digits), cell=True) for v in row) + " |"
        )
    if table.note:
        lines += ["", f"*{md_escape(table.note)}*"]
    return lines + [""]


def section_md(section: Section) -> list[str]:
    lines = [f"## {md_escape(section.title, cell=True)}", ""]
    for paragraph in section.paragraphs:
        lines += [md_escape(paragraph), ""]
    for table in section.tables:
        lines += table_md(table)
    for figure in section.figures:
        # the path is ours (validated to stay under the report directory); the caption is escaped
        lines += [f"![{md_escape(figure.caption, cell=True)}]({figure.path})", ""]
    return lines


def to_markdown(report: ReportData) -> str:
    """The whole report as GitHub-flavoured Markdown (figures linked relative to the report)."""
    lines = [f"# {md_escape(report.title, cell=True)}", ""]
    for line in report.summary:
        lines += [f"- {md_escape(line, cell=True)}"]
    lines += [""] if report.summary else []
    for section in report.sections:
        lines += section_md(section)
    if report.skipped:
        lines += ["## Skipped probes", "", "| probe | task | reason |", "|---|---|---|"]
        lines += [
            f"| {md_escape(s.probe, cell=True)} | {md_escape(s.task, cell=True)} | "
            f"{md_escape(s.reason, cell=True)} |"
            for s in report.skipped
        ]
        lines.append("")
    if report.notes:
        lines += ["## Notes", ""] + [f"- {md_escape(n, cell=True)}" for n in report.notes] + [""]
    lines += _provenance_md(report)
    return "\n".join(lines).rstrip() + "\n"


def _provenance_md(report: ReportData) -> list[str]:
    p = report.provenance
    items = [
        ("model", p.model),
        ("config hash", p.config_hash),
        ("command", p.command),
        ("created", p.created),
    ]
    items += [(f"version {k}", v) for k, v in sorted(p.versions.items())]
    items += [(f"time {k}", f"{v:.1f} s") for k, v in sorted(p.timings.items())]
    items += sorted(p.extra.items())
    shown = [(k, v) for k, v in items if v]
    if not shown:
        return []
    return (
        ["## Provenance", ""]
        + [f"- {md_escape(k, cell=True)}: {md_escape(v, cell=True)}" for k, v in shown]
        + [""]
    )
