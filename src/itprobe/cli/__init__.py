"""The `itprobe` command. Thin: each command group lives in its own module and registers itself here.

Heavy imports (torch, transformers) happen inside the commands, so `itprobe --help` stays fast.

Error rule (docs/design.md): whatever the user can get wrong (a usage mistake, a bad file, a bad value)
is ONE line on stderr, ``itprobe: error: ...``, and exit status 2; a usage mistake adds the usage and
where to find help on that same line. Only programming errors show a traceback.
"""

from __future__ import annotations

import errno
import importlib
import sys
import warnings
from typing import Any

import typer

from itprobe.errors import ItprobeWarning, UserError

PROG = "itprobe"

app = typer.Typer(
    name=PROG,
    help="Did the model learn to follow the instructions, or only the output format?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# registration order = order in --help
from itprobe.cli import audit as _audit  # noqa: E402
from itprobe.cli import data as _data  # noqa: E402
from itprobe.cli import evaluate as _evaluate  # noqa: E402
from itprobe.cli import gate as _gate  # noqa: E402
from itprobe.cli import model as _model  # noqa: E402
from itprobe.cli import study as _study  # noqa: E402
from itprobe.cli import tune as _tune  # noqa: E402

for _module in (_study, _audit, _gate, _tune, _model, _evaluate, _data):
    _module.register(app)


def _click_modules() -> list[Any]:
    """The exception modules in use: typer >= 0.22 raises its vendored ``typer._click`` classes, which are
    not subclasses of plain click's; older typer raises click's own. Both are handled, whichever is present."""
    found = []
    for name in ("typer._click.exceptions", "click.exceptions"):
        try:
            found.append(importlib.import_module(name))
        except ImportError:
            continue
    return found


def _one_line(text: str) -> str:
    return " ".join(text.split())


def usage_message(err: Any) -> str:
    """One line for a click/typer usage error: the message, the command's usage, and where help is."""
    message = _one_line(err.format_message())
    ctx = getattr(err, "ctx", None)
    if ctx is None:
        return message
    usage = _one_line(ctx.get_usage()).removeprefix("Usage: ")
    return f"{message} (usage: {usage}; see '{ctx.command_path} --help')"


def _handle_click(err: BaseException) -> int | None:
    """Exit status for a click/typer exception (after printing it), or None when it is not one."""
    for module in _click_modules():
        if type(err).__name__ == "NoArgsIsHelpError":  # a group called without a subcommand: its help
            text = err.format_message().strip()  # type: ignore[attr-defined]  # (rich help is already printed)
            if text:
                typer.echo(text, err=True)
            return 2
        if isinstance(err, module.UsageError):
            typer.echo(f"{PROG}: error: {usage_message(err)}", err=True)
            return int(err.exit_code)
        if isinstance(err, module.ClickException):  # e.g. FileError
            typer.echo(f"{PROG}: error: {_one_line(err.format_message())}", err=True)
            return int(err.exit_code) or 1
        if isinstance(err, getattr(module, "Abort", ())):  # plain click; typer has its own (above)
            typer.echo(f"{PROG}: aborted", err=True)
            return 130
    return None


def _show_warning(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
    """itprobe's own warnings as one line on stderr, each text once per process (a warning raised per task
    or per pass would otherwise repeat: libraries reset Python's once-per-place registry with
    `warnings.catch_warnings`); others as Python shows them."""
    if issubclass(category, ItprobeWarning):
        line = f"{PROG}: warning: {_one_line(str(message))}"
        if line not in _shown:
            _shown.add(line)
            typer.echo(line, err=True)
    else:
        _python_show_warning(message, category, *args, **kwargs)


_python_show_warning = warnings.showwarning
_shown: set[str] = set()


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; user errors and usage mistakes become one line on stderr and exit status 2."""
    warnings.showwarning = _show_warning
    _audit.refresh_help()
    try:
        code = app(args=argv, prog_name=PROG, standalone_mode=False)
    except UserError as err:
        typer.echo(f"{PROG}: error: {_one_line(str(err))}", err=True)
        sys.exit(2)
    except typer.Exit as ex:
        sys.exit(ex.exit_code)
    except OSError as err:
        if err.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        # writes are atomic (itprobe.fsio) and stores transactional: what was finished is kept
        where = f" writing {err.filename}" if err.filename else ""
        typer.echo(
            f"{PROG}: error: no space left on the device{where}; finished work is kept: free space and rerun",
            err=True,
        )
        sys.exit(2)
    except typer.Abort:
        typer.echo(f"{PROG}: aborted", err=True)
        sys.exit(130)
    except Exception as err:
        status = _handle_click(err)
        if status is None:
            raise
        sys.exit(status)
    # non-standalone mode returns the code of a `typer.Exit` raised inside a command (130 on Ctrl-C)
    if isinstance(code, int) and not isinstance(code, bool) and code:
        sys.exit(code)
