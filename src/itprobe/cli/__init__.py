"""The `itprobe` command. Thin: each command group lives in its own module and registers itself here.

Heavy imports (torch, transformers) happen inside the commands, so `itprobe --help` stays fast.
"""

from __future__ import annotations

import sys

import typer

from itprobe.errors import UserError

app = typer.Typer(
    name="itprobe",
    help="Did the model learn to follow the instructions, or only the output format?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# registration order = order in --help
from itprobe.cli import audit as _audit  # noqa: E402
from itprobe.cli import data as _data  # noqa: E402
from itprobe.cli import evaluate as _evaluate  # noqa: E402
from itprobe.cli import model as _model  # noqa: E402
from itprobe.cli import study as _study  # noqa: E402
from itprobe.cli import tune as _tune  # noqa: E402

for _module in (_study, _audit, _tune, _model, _evaluate, _data):
    _module.register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app and turn `UserError` into one line on stderr and exit status 2."""
    try:
        app(args=argv, standalone_mode=False)
    except UserError as err:
        typer.echo(f"itprobe: error: {err}", err=True)
        sys.exit(2)
    except typer.Exit as ex:
        sys.exit(ex.exit_code)
    except typer.Abort:
        typer.echo("itprobe: aborted", err=True)
        sys.exit(130)
    except Exception as err:  # click usage errors arrive here in non-standalone mode
        import click

        if isinstance(err, click.ClickException):
            err.show()
            sys.exit(err.exit_code)
        raise
