"""The CLI error rule: a usage mistake or a user error is one line on stderr, exit status 2, no traceback.

Commands are enumerated from the typer app itself, so a new command is covered without editing this file.
Checked with typer 0.29 (vendored ``typer._click``) and typer 0.12.5 + click 8.1.7 (plain click), the two
ends of the range pyproject.toml allows.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import typer
from cli_runner import run_cli

from itprobe.cli import app


def _leaf_commands() -> Iterator[tuple[list[str], object]]:
    """(path, click command) of every command of the app, e.g. (["data", "info"], <command>)."""
    root = typer.main.get_command(app)

    def walk(path: list[str], command: object) -> Iterator[tuple[list[str], object]]:
        children = getattr(command, "commands", None)
        if children is None:
            yield path, command
            return
        for name, child in children.items():
            yield from walk([*path, name], child)

    yield from walk([], root)


def _mistakes() -> list[tuple[str, list[str]]]:
    """For each command: an unknown option; no arguments when it needs some; a below-minimum number."""
    cases: list[tuple[str, list[str]]] = [("unknown command", ["no-such-command"])]
    for path, command in _leaf_commands():
        name = " ".join(path)
        cases.append((f"{name}: unknown option", [*path, "--no-such-option"]))
        params = getattr(command, "params", [])
        if any(getattr(p, "required", False) for p in params):
            cases.append((f"{name}: missing required", list(path)))
        for param in params:
            # typer >= 0.22 keeps `min` on the option; click's IntRange (older typer) on its type
            low = getattr(param, "min", None)
            if low is None:
                low = getattr(getattr(param, "type", None), "min", None)
            if isinstance(low, int) and param.opts and param.opts[0].startswith("--"):
                cases.append((f"{name}: {param.opts[0]} {low - 1}", [*path, param.opts[0], str(low - 1)]))
    for group in ("data",):
        cases.append((f"{group}: unknown subcommand", [group, "no-such-command"]))
    return cases


def test_every_command_is_enumerated() -> None:
    names = {" ".join(path) for path, _ in _leaf_commands()}
    assert {"run", "report", "merge", "audit", "train", "predict", "score", "baseline", "prompts"} <= names
    assert {"data info", "data convert", "data suite"} <= names


@pytest.mark.parametrize(("label", "argv"), _mistakes(), ids=[label for label, _ in _mistakes()])
def test_usage_mistake_is_one_line_and_exit_2(capsys, label: str, argv: list[str]) -> None:
    code, out, err = run_cli(capsys, *argv)
    assert code == 2, (label, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("itprobe: error: ")
    assert "Traceback" not in err + out
    assert "--help" in lines[0]  # where to look next


def test_group_without_subcommand_shows_its_help(capsys) -> None:
    code, out, err = run_cli(capsys, "data")
    assert code in (0, 2)  # click < 8.2 exits 0 here, click >= 8.2 and typer >= 0.22 exit 2
    assert "info" in out + err and "Traceback" not in out + err
