"""CLI commands (module 'audit'); see docs/design.md for the command contract."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
