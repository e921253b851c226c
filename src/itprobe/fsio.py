"""What itprobe writes: output paths checked before any work, atomic writes, one permission rule.

Permission rule (docs/design.md): every file itprobe writes gets ``0666 & ~umask`` and every folder
``0777 & ~umask`` (0644 / 0755 under the usual umask 022): what a plain ``open`` or ``mkdir`` gives.
Atomic writes go through a temporary file or folder beside the target, created private by ``mkstemp`` /
``mkdtemp`` (0600 / 0700), which is given those modes before it is renamed into place; on failure the
temporary is removed, so a target is either complete or untouched.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from itprobe.errors import UserError


def umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def file_mode() -> int:
    return 0o666 & ~umask()


def dir_mode() -> int:
    return 0o777 & ~umask()


def _existing_ancestor(path: Path) -> Path:
    """The nearest existing ancestor of ``path``; a file in the way is a `UserError`."""
    for parent in path.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise UserError(f"{parent} is a file, not a directory", path=path)
            if not os.access(parent, os.W_OK | os.X_OK):
                raise UserError(f"cannot write in {parent} (permission denied)", path=path)
            return parent
    raise UserError("no existing folder above it", path=path)  # pragma: no cover (the root exists)


def check_not_input(path: str | Path, inputs: Iterable[str | Path | None]) -> None:
    """Refuse an output path that is one of the command's ``inputs``, a folder holding one (it would be
    overwritten or replaced: docs/refusals.md), or an existing file inside an input folder. Symlinks and
    relative spellings are resolved first.

    Raises:
        UserError: naming the input.
    """
    target = Path(path).resolve()
    for item in inputs:
        if item is None:
            continue
        source = Path(item).resolve()
        if source == target:
            raise UserError(f"is also an input ({item}); writing it would destroy it", path=path)
        if target in source.parents:
            raise UserError(
                f"holds an input ({item}) that writing here would replace; choose another", path=path
            )
        if source.is_dir() and source in target.parents and target.exists():
            raise UserError(
                f"is part of the input folder {item}; writing it would change that input", path=path
            )


def check_output_file(path: str | Path, inputs: Iterable[str | Path | None] = ()) -> Path:
    """Refuse, before any work, an output file that cannot be written: a directory, a path under a file,
    a folder without write permission, one of the command's ``inputs``. Creates nothing."""
    path = Path(path)
    check_not_input(path, inputs)
    if path.is_dir():
        raise UserError("is a directory; give a file name", path=path)
    if path.exists() and not os.access(path, os.W_OK):
        raise UserError("cannot be overwritten (permission denied)", path=path)
    _existing_ancestor(path)
    return path


def check_output_dir(path: str | Path, inputs: Iterable[str | Path | None] = ()) -> Path:
    """Refuse, before any work, an output folder that cannot be used: an existing file, a path under a
    file, a folder without write permission, a folder that is or holds one of the command's ``inputs``.
    Creates nothing."""
    path = Path(path)
    check_not_input(path, inputs)
    if path.exists():
        if not path.is_dir():
            raise UserError("exists and is not a directory; give a folder", path=path)
        if not os.access(path, os.W_OK | os.X_OK):
            raise UserError("cannot write in it (permission denied)", path=path)
        return path
    _existing_ancestor(path)
    return path


@contextmanager
def atomic_file(path: str | Path, mode: str = "wb") -> Iterator[IO]:
    """A handle on a temporary file beside ``path``, renamed onto ``path`` (with `file_mode`) when the
    block succeeds and removed when it fails."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
        os.chmod(tmp, file_mode())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(path: str | Path, data: str | bytes) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically (see `atomic_file`)."""
    with atomic_file(path) as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)


def temp_dir(parent: Path, prefix: str) -> Path:
    """A new temporary folder in ``parent`` with `dir_mode` (mkdtemp makes 0700), to fill and rename."""
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    os.chmod(tmp, dir_mode())
    return tmp


def apply_modes(root: Path) -> None:
    """Give ``root`` and everything under it the rule's modes (for a folder filled by other libraries:
    safetensors, for one, writes 0600 files)."""
    for path in [root, *root.rglob("*")]:
        if not path.is_symlink():
            os.chmod(path, dir_mode() if path.is_dir() else file_mode())


def touch(path: Path) -> Path:
    """Create ``path`` if absent, with `file_mode` (before sqlite opens it: sqlite would make it 0644 and
    give its -wal and -shm files the database's mode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o666, exist_ok=True)
    return path


def remove_tree(path: Path) -> None:
    """Remove a folder atomically from readers' point of view: rename it to a hidden name first, then
    delete, so an interrupted removal never leaves a half-deleted folder under its real name."""
    if not path.exists():
        return
    trash = Path(tempfile.mkdtemp(prefix=f".{path.name}.trash-", dir=path.parent))
    os.replace(path, trash / path.name)
    shutil.rmtree(trash, ignore_errors=True)


def json_line(row: Mapping[str, Any], path: str | Path) -> bytes:
    """One strict JSON line: NaN and infinities are not JSON (other readers reject them), so a row holding
    one is refused instead of written (docs/refusals.md)."""
    try:
        return (json.dumps(row, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
    except ValueError:
        bad = sorted(k for k, v in row.items() if _not_finite(v))
        raise UserError(
            f"refusing to write a number that is not finite (field {', '.join(bad) or '?'})", path=path
        ) from None


def _not_finite(value: Any) -> bool:
    if isinstance(value, float):
        return value != value or value in (float("inf"), float("-inf"))
    if isinstance(value, list | tuple):
        return any(_not_finite(v) for v in value)
    if isinstance(value, dict):
        return any(_not_finite(v) for v in value.values())
    return False


@contextmanager
def exclusive(lock_file: Path, what: str) -> Iterator[None]:
    """Hold an advisory lock on ``lock_file`` for the block; a second holder is refused at once, not queued
    (two runs of one grid in one folder would train the same cells into the same model folders).

    Raises:
        UserError: the lock is held (by the process the file names).
    """
    import fcntl

    touch(lock_file)
    with open(lock_file, "r+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = handle.read().strip() or "?"
            raise UserError(
                f"{what} is in use by another itprobe process (pid {holder}); wait for it to end"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_jsonl(path: str | Path, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write one JSON object per line (UTF-8, non-ASCII kept; gzip when the name ends in .gz) atomically
    (see `atomic_file`); a row with a non-finite number is a `UserError` and the target is left untouched."""
    target = Path(path)
    with atomic_file(target) as handle:
        if target.name.endswith(".gz"):
            with gzip.GzipFile(filename=target.name, mode="wb", fileobj=handle) as packed:
                for row in rows:
                    packed.write(json_line(row, target))
        else:
            for row in rows:
                handle.write(json_line(row, target))
    return target


def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line of a JSON Lines file (gzip when the name ends in .gz);
    a missing file, bad JSON, a non-object or bad encoding is a UserError naming the line."""
    if not path.is_file():
        raise UserError("no such file", path=path)
    opener = gzip.open if path.suffix == ".gz" else open
    lineno = 0
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            for lineno, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as err:
                    raise UserError(f"not valid JSON ({err.msg})", path=path, line=lineno) from None
                if not isinstance(obj, dict):
                    raise UserError("expected a JSON object", path=path, line=lineno)
                yield lineno, obj
    except UnicodeDecodeError:
        raise UserError("not UTF-8 text", path=path, line=lineno + 1) from None
    except (OSError, EOFError) as err:  # e.g. a truncated or fake .gz
        raise UserError(f"cannot read ({err})", path=path) from None
