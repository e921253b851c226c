"""File plumbing shared by the loaders: gzip-aware reading with per-line UTF-8 checks, JSON lines,
pydantic errors turned into one-line `UserError`s, and atomic writes (temp file + rename)."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from itprobe.errors import UserError
from itprobe.fsio import atomic_file

Line = tuple[int, str]  # (1-based line number, text without the newline)


def is_gzip(path: Path) -> bool:
    return path.name.endswith(".gz")


def read_bytes(path: Path) -> bytes:
    """The whole file, decompressed when the name ends in ``.gz``."""
    if not path.exists():
        raise UserError("no such file", path=path)
    if path.is_dir():
        raise UserError("is a directory, expected a file", path=path)
    try:
        if is_gzip(path):
            with gzip.open(path, "rb") as fh:
                return fh.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as err:
        raise UserError(f"cannot read the file ({err})", path=path) from None


def decode_utf8(path: Path, data: bytes, first_line: int = 1) -> str:
    """Decode ``data`` as UTF-8 (a leading BOM is dropped); a bad byte is reported with its line."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = first_line + data.count(b"\n", 0, err.start)
        raise UserError(
            f"not valid UTF-8 (byte 0x{data[err.start]:02x}); save the file as UTF-8", path=path, line=line
        ) from None
    return text.removeprefix("\ufeff")


def read_lines(path: Path) -> list[Line]:
    """Non-blank lines of a text file, each with its line number.

    Splits on ``\\n`` only: JSON strings may legally hold U+2028 and friends, which `str.splitlines` would cut.
    """
    data = read_bytes(path)
    lines: list[Line] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if raw.strip():
            lines.append((number, decode_utf8(path, raw, number).rstrip("\r")))
    return lines


def read_text(path: Path) -> str:
    return decode_utf8(path, read_bytes(path))


def parse_json_line(path: Path, line: Line) -> dict[str, Any]:
    """One JSON Lines record, which must be an object."""
    number, text = line
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise UserError(f"malformed JSON ({err.msg} at column {err.colno})", path=path, line=number) from None
    if not isinstance(value, dict):
        raise UserError(f"expected a JSON object, got {type(value).__name__}", path=path, line=number)
    return value


def field_name(loc: tuple[int | str, ...]) -> str:
    """``("instances", 3, "output")`` -> ``"instances[3].output"``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def user_error(err: ValidationError, path: Path, line: int | None) -> UserError:
    """The first pydantic error as a `UserError` naming file, line and field."""
    first = err.errors(include_url=False)[0]
    message = first["msg"]
    if first["type"] != "missing":
        message += f" (got {type(first['input']).__name__})"
    elif first["loc"]:
        message = "required field is missing"
    return UserError(message, path=path, line=line, field=field_name(first["loc"]) or None)


def atomic_write(path: Path, lines: Iterable[str]) -> None:
    """Write text lines to ``path`` through a temp file in the same folder, so a failure leaves nothing.

    Gzip output (name ends in ``.gz``) has a zero timestamp so equal content gives equal bytes.
    """
    with atomic_file(path) as raw:
        if is_gzip(path):
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
                for line in lines:
                    gz.write(line.encode("utf-8"))
        else:
            for line in lines:
                raw.write(line.encode("utf-8"))
