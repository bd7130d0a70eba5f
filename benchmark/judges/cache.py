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


def open_cache_db(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the SQLite cache file ``path`` with its table, ready to read and write.

    Raises:
        BenchError: the file or its folder cannot be created, opened or written; the message names the file.
    """
    from benchmark.errors import BenchError

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(path), timeout=60)
        try:
            db.execute("CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, vec BLOB, aligned INTEGER)")
            db.commit()
            db.execute("BEGIN IMMEDIATE")  # takes the write lock: fails now, not after the work, if read-only
            db.rollback()
        except BaseException:
            db.close()
            raise
        return db
    except (OSError, sqlite3.Error) as exc:
        raise BenchError(f"cache file {path} cannot be opened for writing ({exc}); set VOICE2FACE_CACHE_DIR to "
                         "a writable folder, remove what is in the way, or run with --no-cache.") from None


class EmbeddingCache:
    """A persistent map ``key -> (float32 vector [D], aligned flag)``.

    Args:
        path: the SQLite file (created with its parent directory if absent), or None for a cache that
            keeps nothing (``--no-cache``). Inside ``benchmark.settings.caching_off()`` the path is ignored
            and nothing is kept either.

    Raises:
        BenchError: the file or its folder cannot be created or opened (the message names the file and the
            fix: ``VOICE2FACE_CACHE_DIR`` or ``--no-cache``).
    """

    def __init__(self, path: Path | None):
        from benchmark.settings import caching_enabled

        self.path = path if caching_enabled() else None
        self._db: sqlite3.Connection | None = None
        if self.path is not None:
            self._db = open_cache_db(Path(self.path))

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
        """Store entries in one transaction.

        Raises:
            BenchError: the database cannot be written (disk full, file made read-only meanwhile).
        """
        if self._db is None or not items:
            return
        try:
            with self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO emb VALUES (?, ?, ?)",
                    [(k, np.asarray(v, dtype=np.float32).tobytes(), int(a)) for k, (v, a) in items.items()],
                )
        except sqlite3.Error as exc:
            from benchmark.errors import BenchError

            raise BenchError(f"cannot write to cache file {self.path} ({exc}); free space or set "
                             "VOICE2FACE_CACHE_DIR to a writable folder, or run with --no-cache.") from None

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
