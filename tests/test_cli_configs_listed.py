"""`itprobe run --help` names every packaged config."""

from __future__ import annotations

from importlib import resources

from typer.testing import CliRunner

from itprobe.cli import app
from itprobe.study.loading import PACKAGED_CONFIGS


def test_every_shipped_config_is_packaged_and_named_in_the_help() -> None:
    shipped = {p.name.removesuffix(".yaml") for p in (resources.files("itprobe") / "configs").iterdir()}
    assert shipped == set(PACKAGED_CONFIGS)
    text = " ".join(CliRunner().invoke(app, ["run", "--help"], terminal_width=400).output.split())
    for name in PACKAGED_CONFIGS:
        assert name in text
