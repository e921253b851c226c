"""User-facing errors. Anything raised as `UserError` is printed as one clear line by the CLI (exit 2),
never as a traceback; programming errors still surface as tracebacks."""

from __future__ import annotations

from pathlib import Path


class UserError(Exception):
    """Bad input from the user: a file, a line, a field, an option."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        self.field = field
        where = ""
        if self.path is not None:
            where = self.path + (f":{line}" if line is not None else "")
        if field is not None:
            where += f" field '{field}'" if where else f"field '{field}'"
        super().__init__(f"{where}: {message}" if where else message)


class ItprobeWarning(UserWarning):
    """Something the user should know that does not stop the work; the CLI prints it as one line
    (``itprobe: warning: ...``) on stderr."""
