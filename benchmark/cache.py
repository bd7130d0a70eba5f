"""On-disk cache of judge outputs, keyed by image content, judge weights and preprocessing version.

The key is ``sha256(image pixels) | judge id | judge weights sha256 | preprocessing version``, so a change
of weights or preprocessing can never return a stale embedding (clean-fid puts its resize mode in its key
for the same reason). Storage is one SQLite file in the user's cache directory (``benchmark.settings``),
written in transactions: a killed run leaves the cache consistent.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np


class EmbeddingCache:
    """A persistent map ``key -> (float32 vector [D], aligned flag)``.

    Args:
        path: the SQLite file (created with its parent directory if absent), or None for a cache that
            keeps nothing (``--no-cache``).
    """

    def __init__(self, path: Path | None):
        self.path = path
        self._db: sqlite3.Connection | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), timeout=60)
            self._db.execute("CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, vec BLOB, aligned INTEGER)")
            self._db.commit()

    def get_many(self, keys: list[str]) -> dict[str, tuple[np.ndarray, bool]]:
        """Return the cached entries among ``keys`` (missing keys are absent from the dict)."""
        if self._db is None or not keys:
            return {}
        out: dict[str, tuple[np.ndarray, bool]] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            q = f"SELECT key, vec, aligned FROM emb WHERE key IN ({','.join('?' * len(chunk))})"
            for key, vec, aligned in self._db.execute(q, chunk):
                out[key] = (np.frombuffer(vec, dtype=np.float32).copy(), bool(aligned))
        return out

    def put_many(self, items: dict[str, tuple[np.ndarray, bool]]) -> None:
        """Store entries in one transaction."""
        if self._db is None or not items:
            return
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO emb VALUES (?, ?, ?)",
                [(k, np.asarray(v, dtype=np.float32).tobytes(), int(a)) for k, (v, a) in items.items()],
            )

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
