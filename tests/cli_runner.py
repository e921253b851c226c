"""Run the real `itprobe` entry point in-process, as a user would, and capture what it prints."""

from __future__ import annotations

import pytest

from itprobe import cli
from itprobe.cli import main


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Return (exit code, stdout, stderr) of ``itprobe ARGV``, as a fresh process would print them: the
    CLI shows each warning text once per process, so what earlier tests printed is forgotten first."""
    cli._shown.clear()
    try:
        main(list(argv))
        code = 0
    except SystemExit as ex:
        code = int(ex.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
