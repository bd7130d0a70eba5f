"""Content fingerprint of the dataset files a run reads, so an edited image or wav changes what a result pins.

``Manifest.sha256`` covers ids, splits and sources only; a result also records ``dataset.files_sha256``: the
sha256 of the sorted lines ``<path relative to the dataset root>  <sha256 of the file's bytes>`` over every
file the run read (the real faces it embedded or screened and the probe voices). ``bench check`` fails when it
changes ("a dataset file changed"), whatever the numeric tolerance.

Hashing every file on every run would cost a full read of the data; file digests are therefore cached in
``<cache dir>/file_digests.sqlite`` keyed by (absolute path, size in bytes, mtime in ns) — the rule ``make`` and
rsync's quick check use — so an edited file (new size or mtime) is hashed again and an unchanged one is not.
With ``use_cache=False`` nothing is read from or written to that file.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path
from typing import Iterable

from benchmark.errors import DataError


def file_sha256(path: str | os.PathLike[str]) -> str:
    """sha256 (hex) of a file's bytes, read in 1 MiB blocks.

    Raises:
        DataError: the file cannot be read (the message names it).
    """
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc}. Replace or remove the file.") from exc
    return h.hexdigest()


class _DigestCache:
    """``(path, size, mtime_ns) -> sha256`` in SQLite (or nothing, when ``path`` is None)."""

    def __init__(self, path: Path | None):
        self._db = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), timeout=60)
            self._db.execute("CREATE TABLE IF NOT EXISTS digest (path TEXT, size INTEGER, mtime_ns INTEGER, "
                             "sha256 TEXT, PRIMARY KEY (path, size, mtime_ns))")

    def get(self, key: tuple[str, int, int]) -> str | None:
        if self._db is None:
            return None
        row = self._db.execute("SELECT sha256 FROM digest WHERE path=? AND size=? AND mtime_ns=?", key).fetchone()
        return row[0] if row else None

    def put(self, rows: list[tuple[str, int, int, str]]) -> None:
        if self._db is not None and rows:
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO digest VALUES (?, ?, ?, ?)", rows)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()


def files_fingerprint(root: str | os.PathLike[str], paths: Iterable[str | os.PathLike[str]],
                      use_cache: bool = True) -> dict:
    """Fingerprint of the bytes of ``paths`` (module docstring).

    Args:
        root: the dataset root; paths are recorded relative to it (absolute when outside it).
        paths: the files the run read (duplicates are counted once).
        use_cache: read and fill the digest cache in the cache directory.

    Returns:
        ``{"files": number of files, "bytes": their total size, "sha256": hex digest}``.

    Raises:
        DataError: a file is missing or unreadable (the message names it).
    """
    from benchmark.settings import cache_dir

    root = Path(root).resolve()
    cache = _DigestCache(cache_dir() / "file_digests.sqlite" if use_cache else None)
    lines, new, total = [], [], 0
    try:
        for path in sorted({str(Path(p).resolve()) for p in paths}):
            try:
                st = os.stat(path)
            except OSError as exc:
                raise DataError(f"cannot read {path}: {exc}. Replace or remove the file.") from exc
            key = (path, int(st.st_size), int(st.st_mtime_ns))
            digest = cache.get(key)
            if digest is None:
                digest = file_sha256(path)
                new.append((*key, digest))
            total += int(st.st_size)
            rel = os.path.relpath(path, root) if Path(path).is_relative_to(root) else path
            lines.append(f"{rel.replace(os.sep, '/')}  {digest}\n")
        cache.put(new)
    finally:
        cache.close()
    return {"files": len(lines), "bytes": total, "sha256": hashlib.sha256("".join(lines).encode()).hexdigest()}
