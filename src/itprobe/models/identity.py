"""A stable name for exact weights: the content hash of a model directory's files.

Prediction caches are keyed by this identity, so it must change whenever the weights change and never
collide between models. Hashing 270 MB of safetensors takes about a second, so each file's full SHA-256 is
remembered in a small sqlite table keyed by (path, size, mtime_ns, sha256 of the safetensors header): a
rewritten file with the same size and mtime but different tensors changes its header hash (offsets or
dtypes) or, failing that, its mtime; the full hash is recomputed then.
"""

from __future__ import annotations

import hashlib
import sqlite3
import struct
from pathlib import Path

from itprobe.models.packaged import cache_dir

# every file that changes what a model computes or how text is tokenised
HASHED_GLOBS = (
    "*.safetensors",
    "config.json",
    "adapter_config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "*.model",  # sentencepiece
)
_CHUNK = 1 << 20


def _header_digest(path: Path) -> str:
    """SHA-256 of a safetensors header (8-byte little-endian length + JSON); of the first MiB otherwise."""
    with path.open("rb") as fh:
        head = fh.read(8)
        if path.suffix == ".safetensors" and len(head) == 8:
            (n,) = struct.unpack("<Q", head)
            if n < 100 * _CHUNK:
                return hashlib.sha256(head + fh.read(n)).hexdigest()
        return hashlib.sha256(head + fh.read(_CHUNK)).hexdigest()


def _full_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _db() -> sqlite3.Connection:
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(root / "file_hashes.sqlite", timeout=30)
    con.execute(
        "CREATE TABLE IF NOT EXISTS hashes (path TEXT, size INTEGER, mtime_ns INTEGER, header TEXT,"
        " sha256 TEXT, PRIMARY KEY (path, size, mtime_ns, header))"
    )
    return con


def file_sha256(path: Path) -> str:
    """Full-file SHA-256, remembered across runs by (path, size, mtime_ns, header hash)."""
    path = path.resolve()
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns, _header_digest(path))
    with _db() as con:
        row = con.execute(
            "SELECT sha256 FROM hashes WHERE path=? AND size=? AND mtime_ns=? AND header=?", key
        ).fetchone()
        if row:
            return str(row[0])
        digest = _full_digest(path)
        con.execute("INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?, ?)", (*key, digest))
    return digest


def directory_digest(folder: Path) -> str:
    """SHA-256 over the sorted (file name, file SHA-256) pairs of a model directory's relevant files."""
    files = sorted({p for pattern in HASHED_GLOBS for p in folder.glob(pattern) if p.is_file()})
    digest = hashlib.sha256()
    for path in files:
        digest.update(f"{path.name}\0{file_sha256(path)}\n".encode())
    return digest.hexdigest()
