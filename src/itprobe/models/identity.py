"""A stable name for exact weights: the content hash of a model directory's files.

Prediction caches, cell ids and provenance name a model by this identity, so it must change whenever
what the model computes changes, and never collide between models (docs/design.md, "Model identity").

What is hashed: every regular file at the top level of the directory (weights, config, tokenizer files,
chat template, custom model code), except documentation and weight formats itprobe never loads
(`ignored`). A full SHA-256 of 270 MB takes about a second, so each file's hash is remembered in a small
sqlite table; the memo is trusted only when the file is provably the one that was hashed:

- same device, inode, size, mtime *and ctime* (ctime cannot be set by tar, ``rsync -t`` or ``touch -r``,
  and any write or replacement updates it);
- same digest of the safetensors header and of 16 blocks sampled across the file;
- and the file's last change (ctime, mtime) lies more than `RACY_NS` before the hash was taken, since a
  coarse file-system clock could give a change made right after the hashing the same timestamps (git's
  "racily clean" rule).

Otherwise the file is hashed again in full.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import struct
import time
import warnings
from pathlib import Path

from itprobe.errors import ItprobeWarning
from itprobe.fsio import touch
from itprobe.models.packaged import cache_dir

# weight formats never loaded (safetensors only) and documentation (ITPROBE_SOURCE.txt: where a packaged model
# came from): they do not change what a model computes
IGNORED_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".h5", ".msgpack", ".onnx", ".gguf")
IGNORED_DOCS = ("readme", "license", "licence", "notice", "model_card", "modelcard", "itprobe_source")
RACY_NS = 3_000_000_000  # a change this close to the hashing (coarse ctime clocks) is not trusted
SAMPLES = 16
_CHUNK = 1 << 20
_BLOCK = 4096
_TABLE = "file_hashes_v2"


def ignored(path: Path) -> bool:
    """Whether a file of a model directory is left out of its identity."""
    name = path.name.lower()
    if name.endswith(".py") and not name.startswith("."):
        return False  # remote code may import any module, notice.py or license.py included
    return (
        name.startswith(".")  # .gitattributes, editor and temp files
        or name.endswith(IGNORED_SUFFIXES)
        or name.endswith(".md")
        or name.split(".")[0] in IGNORED_DOCS
    )


def identity_files(folder: Path) -> list[Path]:
    """The files whose content makes up the identity of a model directory, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and not ignored(p))


def _header_digest(path: Path, size: int) -> str:
    """SHA-256 of the safetensors header (or the first MiB) and of `SAMPLES` blocks spread over the file."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        head = fh.read(8)
        n = struct.unpack("<Q", head)[0] if path.suffix == ".safetensors" and len(head) == 8 else 0
        digest.update(head + fh.read(n if 0 < n < 100 * _CHUNK else _CHUNK))
        for i in range(SAMPLES):
            fh.seek(size * i // SAMPLES)
            digest.update(fh.read(_BLOCK))
    return digest.hexdigest()


def _full_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _db() -> sqlite3.Connection:
    root = cache_dir()
    con = sqlite3.connect(touch(root / "file_hashes.sqlite"), timeout=30)
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {_TABLE} (path TEXT PRIMARY KEY, dev INTEGER, inode INTEGER,"
        " size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER, sample TEXT, hashed_at_ns INTEGER, sha256 TEXT)"
    )
    return con


def _fingerprint(stat: os.stat_result) -> tuple[int, int, int, int, int]:
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


def _memo_unusable(err: Exception) -> None:
    """The memo only saves time: an unreadable one (corrupt, a folder in its place, a full disk) is left as
    it is and every file is hashed in full, with one warning."""
    warnings.warn(
        f"the file-hash memo {cache_dir() / 'file_hashes.sqlite'} is unusable ({err}); hashing model files in "
        "full (delete it to rebuild it)",
        ItprobeWarning,
        stacklevel=3,
    )


def file_sha256(path: Path) -> str:
    """Full-file SHA-256, remembered across runs while the file is provably unchanged (module docstring)."""
    path = path.resolve()
    stat = path.stat()
    sample = _header_digest(path, stat.st_size)
    try:
        with _db() as con:
            row = con.execute(
                f"SELECT dev, inode, size, mtime_ns, ctime_ns, sample, hashed_at_ns, sha256 FROM {_TABLE}"
                " WHERE path = ?",
                (str(path),),
            ).fetchone()
    except (sqlite3.DatabaseError, OSError) as err:
        _memo_unusable(err)
        return _full_digest(path)
    if row is not None:
        settled = max(stat.st_ctime_ns, stat.st_mtime_ns) < row[6] - RACY_NS
        if tuple(row[:5]) == _fingerprint(stat) and row[5] == sample and settled:
            return str(row[7])
    hashed_at = time.time_ns()  # taken before reading: a change during the read is never trusted later
    digest = _full_digest(path)
    if _fingerprint(path.stat()) != _fingerprint(stat):
        return digest  # changed while being read: not remembered, so the next call hashes it again
    try:
        with _db() as con:
            con.execute(
                f"INSERT OR REPLACE INTO {_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (str(path), *_fingerprint(stat), sample, hashed_at, digest),
            )
    except (sqlite3.DatabaseError, OSError) as err:
        _memo_unusable(err)
    return digest


def directory_digest(folder: Path) -> str:
    """SHA-256 over the sorted (file name, file SHA-256) pairs of a model directory's `identity_files`."""
    digest = hashlib.sha256()
    for path in identity_files(folder):
        digest.update(f"{path.name}\0{file_sha256(path)}\n".encode())
    return digest.hexdigest()
