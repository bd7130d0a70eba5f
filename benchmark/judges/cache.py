"""On-disk cache of judge outputs, keyed by image content, judge weights and preprocessing version.

The key is ``sha256(image pixels) | judge id | judge weights sha256 | preprocessing version``, so a change
of weights or preprocessing can never return a stale embedding (clean-fid puts its resize mode in its key
for the same reason). Storage is one SQLite file in the user's cache directory (``benchmark.settings``),
written in transactions: a killed run leaves the cache consistent.

A cache can rot: every row carries a checksum of its bytes (``row_checksum``: BLAKE2b-128 of key, vector and
flag), checked on every read. A row whose bytes changed on disk (SQLite's own integrity check cannot see a value
overwritten in place) or whose checksum is missing is not returned: the judge
computes it again, the row is replaced, and one log line says how many (``benchmark.log``). A cache of layout 1
(no checksum column, written before this rule) is upgraded in place when opened: the column is added and its
rows get their checksums once, in one transaction (recomputing every embedding of a warm cache would cost hours). A file that is not a
SQLite database or is damaged (``database disk image is malformed``), or whose ``emb`` table has another layout,
is refused with an error that names the file and the fix (delete it: it is rebuilt; or ``--no-cache``).
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Sequence

import numpy as np

COLUMNS = ("key", "vec", "aligned", "checksum")
"""The ``emb`` table's columns (layout 2). Layout 1 (no ``checksum``) is upgraded in place (module docstring)."""


def row_checksum(key: str, vec: bytes, aligned: int) -> str:
    """BLAKE2b-128 hex digest of a row's key, float32 vector bytes and aligned flag (0/1) (``hashlib``)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(key.encode("utf-8"))
    h.update(b"\0")
    h.update(vec)
    h.update(b"\1" if aligned else b"\0")
    return h.hexdigest()


def _damaged(path: Path, exc: Exception):
    from benchmark.errors import BenchError

    return BenchError(f"cache file {path} is damaged or not a cache ({exc}). Fix: delete it (the embeddings are "
                      "computed again and it is rebuilt), set VOICE2FACE_CACHE_DIR to another folder, or run with "
                      "--no-cache.")


def _is_damage(exc: sqlite3.Error) -> bool:
    """True for SQLite's "not a database" / "malformed" errors (a plain ``DatabaseError``, not an operational one)."""
    text = str(exc).lower()
    return type(exc) is sqlite3.DatabaseError or "malformed" in text or "not a database" in text


def _upgrade(db: sqlite3.Connection, path: Path) -> None:
    from benchmark.errors import BenchError

    cols = tuple(row[1] for row in db.execute("PRAGMA table_info(emb)"))
    if cols == COLUMNS:
        return
    if cols == COLUMNS[:3]:
        db.create_function("v2f_checksum", 3, lambda k, v, a: row_checksum(k, bytes(v), int(a)), deterministic=True)
        with db:
            db.execute("ALTER TABLE emb ADD COLUMN checksum TEXT")
            db.execute("UPDATE emb SET checksum = v2f_checksum(key, vec, aligned)")
        return
    raise BenchError(f"cache file {path} holds an emb table of an unknown layout (columns {', '.join(cols)}; this "
                     f"suite writes {', '.join(COLUMNS)}). Fix: delete it (it is rebuilt), set VOICE2FACE_CACHE_DIR "
                     "to another folder, or run with --no-cache.")


def open_cache_db(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the SQLite cache file ``path`` with its table, ready to read and write.

    Raises:
        BenchError: the file or its folder cannot be created, opened or written; the file is damaged or not a
            SQLite database; its table has an unknown layout. The message names the file and the fix.
    """
    from benchmark.errors import BenchError

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(path), timeout=60)
        try:
            db.execute("CREATE TABLE IF NOT EXISTS emb "
                       "(key TEXT PRIMARY KEY, vec BLOB, aligned INTEGER, checksum TEXT)")
            db.commit()
            _upgrade(db, path)
            db.execute("BEGIN IMMEDIATE")  # takes the write lock: fails now, not after the work, if read-only
            db.rollback()
        except BaseException:
            db.close()
            raise
        return db
    except sqlite3.Error as exc:
        if _is_damage(exc):
            raise _damaged(path, exc) from None
        raise BenchError(f"cache file {path} cannot be opened for writing ({exc}); set VOICE2FACE_CACHE_DIR to "
                         "a writable folder, remove what is in the way, or run with --no-cache.") from None
    except OSError as exc:
        raise BenchError(f"cache file {path} cannot be opened for writing ({exc}); set VOICE2FACE_CACHE_DIR to "
                         "a writable folder, remove what is in the way, or run with --no-cache.") from None


def _read_rows(db: sqlite3.Connection, keys: list[str]):
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        q = f"SELECT key, vec, aligned, checksum FROM emb WHERE key IN ({','.join('?' * len(chunk))})"
        yield from db.execute(q, chunk)


class EmbeddingCache:
    """A persistent map ``key -> (float32 vector [D], aligned flag)``.

    Args:
        path: the SQLite file (created with its parent directory if absent), or None for a cache that
            keeps nothing (``--no-cache``). Inside ``benchmark.settings.caching_off()`` the path is ignored
            and nothing is kept either.
        also_read: other cache files read (never written) for keys ``path`` lacks, in order — ``bench embed``'s
            rank files read the main cache, so a shard reuses what is already embedded. Absent files are skipped.

    Raises:
        BenchError: the file or its folder cannot be created or opened, is damaged or of an unknown layout (the
            message names the file and the fix: delete it, ``VOICE2FACE_CACHE_DIR`` or ``--no-cache``).
    """

    def __init__(self, path: Path | None, also_read: Sequence[Path] = ()):
        from benchmark.settings import caching_enabled

        self.path = path if caching_enabled() else None
        self._db: sqlite3.Connection | None = None
        self._readers: list[tuple[Path, sqlite3.Connection]] = []
        self.rejected = 0
        """Rows not returned since this cache was opened: checksum mismatch or none (they are recomputed)."""
        if self.path is not None:
            self._db = open_cache_db(Path(self.path))
            for other in also_read:
                other = Path(other)
                if other.is_file() and other.resolve() != Path(self.path).resolve():
                    self._readers.append((other, sqlite3.connect(f"{other.resolve().as_uri()}?mode=ro", uri=True,
                                                                 timeout=60)))

    def _get(self, db: sqlite3.Connection, path: Path, keys: list[str], out: dict) -> None:
        from benchmark.log import stage

        bad = 0
        try:
            for key, vec, aligned, checksum in _read_rows(db, keys):
                vec = bytes(vec)
                if checksum != row_checksum(key, vec, int(aligned)):
                    bad += 1
                    continue
                out[key] = (np.frombuffer(vec, dtype=np.float32).copy(), bool(aligned))
        except sqlite3.Error as exc:
            if _is_damage(exc):
                raise _damaged(path, exc) from None
            raise
        if bad:
            self.rejected += bad
            stage(f"cache file {path}: {bad} entr{'y' if bad == 1 else 'ies'} failed the checksum (bytes changed "
                  "on disk) and will be computed again")

    def get_many(self, keys: list[str]) -> dict[str, tuple[np.ndarray, bool]]:
        """Return the cached entries among ``keys`` whose checksum holds (missing or rejected keys are absent).

        Raises:
            BenchError: the file is damaged (the message names it and the fix).
        """
        if self._db is None or not keys:
            return {}
        out: dict[str, tuple[np.ndarray, bool]] = {}
        self._get(self._db, Path(self.path), list(keys), out)
        for path, db in self._readers:
            rest = [k for k in keys if k not in out]
            if not rest:
                break
            try:
                self._get(db, path, rest, out)
            except sqlite3.Error:  # a main cache of another layout or locked: only a missed reuse, never an error
                continue
        return out

    def put_many(self, items: dict[str, tuple[np.ndarray, bool]]) -> None:
        """Store entries (each with its checksum) in one transaction.

        Raises:
            BenchError: the database cannot be written (disk full, file made read-only meanwhile) or is damaged.
        """
        if self._db is None or not items:
            return
        rows = []
        for k, (v, a) in items.items():
            vec = np.asarray(v, dtype=np.float32).tobytes()
            rows.append((k, vec, int(a), row_checksum(k, vec, int(a))))
        try:
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO emb (key, vec, aligned, checksum) VALUES (?, ?, ?, ?)",
                                     rows)
        except sqlite3.Error as exc:
            from benchmark.errors import BenchError

            if _is_damage(exc):
                raise _damaged(Path(self.path), exc) from None
            raise BenchError(f"cannot write to cache file {self.path} ({exc}); free space or set "
                             "VOICE2FACE_CACHE_DIR to a writable folder, or run with --no-cache.") from None

    def close(self) -> None:
        for _, db in self._readers:
            db.close()
        self._readers = []
        if self._db is not None:
            self._db.close()
            self._db = None
