"""On-disk prediction cache: one sqlite table of JSON values keyed by a SHA-256.

The key covers everything that can change an answer: the model's fingerprint (weights identity, dtype,
adapter kind), the exact prompt text, the mode, the decoding configuration and the labels. A hit is
therefore never served for another model, another precision or another label set (a known failure of
harnesses that key caches by model *name*). The batch size is deliberately not part of the key: results
do not depend on it (tested).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from itprobe.errors import UserError
from itprobe.fsio import touch

_SCHEMA = "CREATE TABLE IF NOT EXISTS predictions (key TEXT PRIMARY KEY, value TEXT NOT NULL)"


def cache_key(
    model: str, prompt: str, mode: str, decoding: Mapping[str, Any], labels: Sequence[str] = ()
) -> str:
    """SHA-256 (hex) of a canonical JSON encoding of the inputs."""
    payload = json.dumps(
        {"model": model, "prompt": prompt, "mode": mode, "decoding": dict(decoding), "labels": list(labels)},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


CACHE_FILE = "predictions.sqlite"


def cache_file(folder: str | Path) -> Path:
    """Where `PredictionCache(folder)` keeps its answers (read it without creating it: ``.exists()`` first)."""
    return Path(folder) / CACHE_FILE


class PredictionCache:
    """A key → JSON value store in ``folder/predictions.sqlite`` (safe for concurrent readers/writers)."""

    def __init__(self, folder: str | Path) -> None:
        self.path = cache_file(folder)
        if Path(folder).exists() and not Path(folder).is_dir():
            raise UserError("the prediction cache folder is a file; give a folder or --no-cache", path=folder)
        try:
            touch(self.path)  # the permission rule (itprobe.fsio); sqlite alone would make it 0644
        except OSError as err:
            raise self._unusable(err) from None
        with self._connect() as con:
            con.execute(_SCHEMA)

    def _unusable(self, err: Exception) -> UserError:
        return UserError(
            f"unusable prediction cache ({err}); move it away (it is only a cache) or pass --no-cache",
            path=self.path,
        )

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A committed transaction; sqlite and JSON errors of a damaged cache become one `UserError` (the file
        is left as it is)."""
        try:
            con = sqlite3.connect(self.path, timeout=60)
            try:
                with con:
                    yield con
            finally:
                con.close()
        except (sqlite3.DatabaseError, ValueError) as err:
            raise self._unusable(err) from None

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """The cached values of those ``keys`` that are present."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, Any] = {}
        with self._connect() as con:
            for start in range(0, len(wanted), 500):  # sqlite's bound-parameter limit
                part = wanted[start : start + 500]
                marks = ",".join("?" * len(part))
                rows = con.execute(f"SELECT key, value FROM predictions WHERE key IN ({marks})", part)
                found.update((key, json.loads(value)) for key, value in rows)
        return found

    def put_many(self, items: Mapping[str, Any]) -> None:
        with self._connect() as con:
            con.executemany(
                "INSERT OR REPLACE INTO predictions VALUES (?, ?)",
                [(key, json.dumps(value, allow_nan=False)) for key, value in items.items()],
            )
