"""Rendering: Markdown/HTML/JSON from one ReportData, escaping of user text, confined atomic writes."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from itprobe.report import Estimate, Figure, Provenance, ReportData, Section, Skipped, Table, write_report
from itprobe.report.markdown import md_escape
from itprobe.report.plots import bar_chart, confusion_chart, heatmap, plot_path
from itprobe.report.render import atomic_write, confined, read_report

HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def hostile_report(out_dir: Path) -> ReportData:
    path, rel = plot_path(out_dir, "scores")
    bar_chart(
        path,
        ["original", HOSTILE, "$x^2$"],
        [Estimate(0.5, 0.4, 0.6, 10)] * 3,
        title=HOSTILE,
        ylabel="exact match (%)",
        references={"random $": 0.5},
    )
    table = Table(
        title=HOSTILE,
        columns=["task", "prediction", "score"],
        rows=[[HOSTILE, "a | b\n[link](javascript:alert(3))", 0.123], ["t2", None, 7]],
        digits=2,
    )
    return ReportData(
        title=f"Audit {HOSTILE}",
        summary=[f"verdict about {HOSTILE}"],
        sections=[
            Section(
                title=HOSTILE,
                paragraphs=["# not a heading " + HOSTILE],
                tables=[table],
                figures=[Figure(path=rel, caption=HOSTILE)],
            )
        ],
        notes=[HOSTILE],
        skipped=[Skipped(probe="negated", task=HOSTILE, reason="no negation declared")],
        provenance=Provenance(
            model=HOSTILE, config_hash="deadbeef", versions={"itprobe": "0.1.0"}, timings={"predict": 3.25}
        ),
        data={"numbers": [1, 2.5]},
    )


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_html_escapes_every_data_string_and_embeds_images(tmp_path):
    paths = write_report(hostile_report(tmp_path), tmp_path, stem="audit")
    html = paths["html"].read_text()
    parser = _Tags()
    parser.feed(html)
    names = [t for t, _ in parser.tags]
    assert "script" not in names
    imgs = [a for t, a in parser.tags if t == "img"]
    assert len(imgs) == 1  # only ours: the injected <img> stayed text
    src = imgs[0]["src"] or ""
    assert src.startswith("data:image/png;base64,")
    assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG_MAGIC)
    assert all("onerror" not in a for _, a in parser.tags)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert names.count("table") == 3  # data, skipped probes, provenance
    assert "Content-Security-Policy" in html and "script-src" not in html  # default-src 'none' covers scripts


def test_markdown_escapes_html_links_pipes_and_headings(tmp_path):
    md = write_report(hostile_report(tmp_path), tmp_path)["md"].read_text()
    assert "<script>" not in md and "<img src=x" not in md
    assert "&lt;script&gt;" in md
    assert "a \\| b [link\\](javascript:alert(3))" in md  # the cell stays one cell and the link is dead
    assert "\\# not a heading" in md
    assert "![&lt;script&gt;" in md and "](plots/scores.png)" in md
    for line in md.splitlines():
        if line.startswith("| t2"):
            assert line == "| t2 | – | 7 |"


def test_md_escape_cases():
    assert md_escape("a|b", cell=True) == "a\\|b"
    assert md_escape("line1\nline2", cell=True) == "line1 line2"
    assert md_escape("![x](y)") == "!\\[x\\](y)"
    assert md_escape("-3.0 points") == "\\-3.0 points"
    assert md_escape("-3.0", cell=True) == "-3.0"
    assert md_escape("back\\slash") == "back\\\\slash"


def test_json_round_trip(tmp_path):
    report = hostile_report(tmp_path)
    paths = write_report(report, tmp_path)
    assert read_report(paths["json"]) == report
    assert json.loads(paths["json"].read_text())["provenance"]["timings"] == {"predict": 3.25}


def test_table_rows_must_match_columns():
    with pytest.raises(ValidationError, match="row 0 has 1 cells for 2 columns"):
        Table(columns=["a", "b"], rows=[["x"]])
    with pytest.raises(ValidationError):
        ReportData(title="x", unknown=1)  # type: ignore[call-arg]


def test_paths_are_confined(tmp_path):
    assert confined(tmp_path, "plots/a.png") == (tmp_path / "plots" / "a.png").resolve()
    for bad in ("../x.png", "/etc/passwd", "plots/../../x"):
        with pytest.raises(ValueError, match="output directory"):
            confined(tmp_path, bad)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "link").symlink_to(tmp_path)
    with pytest.raises(ValueError, match="escapes"):
        confined(tmp_path / "out", "link/x.png")


def test_write_report_rejects_escaping_figures_and_bad_stems(tmp_path):
    out = tmp_path / "out"
    (tmp_path / "secret.png").write_bytes(PNG_MAGIC)
    report = ReportData(
        title="t", sections=[Section(title="s", figures=[Figure(path="../secret.png", caption="c")])]
    )
    with pytest.raises(ValueError, match="escapes"):
        write_report(report, out)
    missing = ReportData(
        title="t", sections=[Section(title="s", figures=[Figure(path="plots/no.png", caption="c")])]
    )
    with pytest.raises(ValueError, match="figure not found"):
        write_report(missing, out)
    assert not list(out.glob("report.*"))  # nothing partial was written
    with pytest.raises(ValueError, match="invalid report name"):
        write_report(ReportData(title="t"), out, stem="../report")


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    target = atomic_write(tmp_path / "sub" / "f.txt", "one")
    atomic_write(target, b"two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["f.txt"]
    assert target.stat().st_mode & 0o044  # readable by others like any file the user creates, not 0600


def test_plot_names_are_deterministic_and_distinct(tmp_path):
    a, rel_a = plot_path(tmp_path, "confusion-original-Task A")
    b, rel_b = plot_path(tmp_path, "confusion-original-task-a")
    assert rel_b == "plots/confusion-original-task-a.png"
    assert rel_a.startswith("plots/confusion-original-task-a-") and rel_a != rel_b
    assert plot_path(tmp_path, "../../evil")[1].startswith("plots/evil-")


def test_plots_are_pngs(tmp_path):
    from itprobe.report.costs import confusion_matrix

    conf = confusion_matrix(["yes", "no"], ["yes", "maybe"], ["yes", "no"])
    p1 = confusion_chart(plot_path(tmp_path, "conf")[0], conf, title="$weird$ task")
    p2 = heatmap(
        plot_path(tmp_path, "heat")[0],
        ["t1", "t2"],
        ["a", "b"],
        np.array([[0.5, np.nan], [1.0, 0.0]]),
        title="per task",
    )
    for p in (p1, p2):
        assert p.read_bytes().startswith(PNG_MAGIC)


def test_the_report_api_loads_without_matplotlib():
    """Every name of `itprobe.report` imports without matplotlib (about half a second): it is loaded by the
    first figure drawn, so what imports the report package and draws nothing (`itprobe audit --plan`, a
    gate on a saved audit's data) does not pay for it."""
    code = (
        "import sys, itprobe.report as r; [getattr(r, n) for n in r.__all__]; "
        "print(sorted(m for m in ('matplotlib', 'pandas') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
