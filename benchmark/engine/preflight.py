"""Checks made before any work starts, so that nothing computed is lost to an error found at the end.

``bench run`` / ``bench score`` / ``bench trials`` (through ``benchmark.engine.plan.preflight``) call these first:

* ``check_run_args``: batch size ≥ 1, seed ≥ 0 (argparse types ``positive_int`` / ``non_negative_int`` give
  the same rule on the command line);
* ``check_out_file`` / ``check_writable_dir``: the result file (``--out``) is not a folder, and the folders
  results will be written to can be created and written — a file standing where a folder must be, or a
  path under a file, is found now, not after the work;
* ``check_cache``: the cache directory and its SQLite files can be opened for writing (skipped with
  ``--no-cache``, which writes nothing there);

The generator's own checks (``check_model_args``, ``build_generator``, ``conformance_gate``) live with the
generators, in ``benchmark.generators.build``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from benchmark.errors import BenchError


# --- arguments ------------------------------------------------------------------------------------------------


def check_run_args(batch_size: int, seed: int) -> None:
    """Validate the numeric arguments of a run.

    Raises:
        BenchError: ``batch_size`` < 1 or not an integer, or ``seed`` < 0 or not an integer.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise BenchError(f"--batch-size must be a whole number ≥ 1 (voices per generator call), not {batch_size!r}.")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise BenchError(f"--seed must be a whole number ≥ 0, not {seed!r}.")


def positive_int(text: str) -> int:
    """argparse type: an integer ≥ 1 (``argparse.ArgumentTypeError`` otherwise)."""
    return _int_at_least(text, 1)


def non_negative_int(text: str) -> int:
    """argparse type: an integer ≥ 0 (``argparse.ArgumentTypeError`` otherwise)."""
    return _int_at_least(text, 0)


def _int_at_least(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"{value} is below {low}")
    return value


# --- where things are written --------------------------------------------------------------------------------


def _nearest_existing(path: Path) -> Path:
    probe = path
    while not (probe.exists() or probe.is_symlink()):
        if probe.parent == probe:
            break
        probe = probe.parent
    return probe


def check_writable_dir(path: str | os.PathLike[str], what: str, fix: str) -> None:
    """Check that folder ``path`` exists or can be created, and that a file can be written in it.

    Nothing is created: the nearest existing ancestor must be a folder in which a file can be made (a
    temporary file is created and removed there).

    Args:
        path: the folder.
        what: what it is, for the message ("results folder", "cache directory").
        fix: what the user can do, appended to the message.

    Raises:
        BenchError: a file stands at ``path`` or at one of its parents, or the folder cannot be written.
    """
    path = Path(path).expanduser()
    base = _nearest_existing(path)
    if not base.is_dir():
        where = "is a file" if base == path else f"cannot be created: {base} is a file, not a folder"
        raise BenchError(f"{what} {path} {where}. {fix}")
    try:
        fd, tmp = tempfile.mkstemp(dir=base, prefix=".bench-write-test-")
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise BenchError(f"{what} {path} cannot be written ({exc.strerror or exc} in {base}). {fix}") from None


def check_out_file(path: str | os.PathLike[str], what: str = "result file", fix: str = "") -> None:
    """Check that a file can be written at ``path``: not an existing folder, its folder creatable and writable.

    Raises:
        BenchError: ``path`` is a folder, or its folder cannot be created or written (message names both).
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise BenchError(f"{what} {path} is an existing folder; name a file (e.g. {path / 'result.json'}) "
                         + (fix or "or use --results-dir for a folder of results."))
    check_writable_dir(path.parent, f"folder of the {what}", fix or "Choose another path.")


def check_outputs(out: str | os.PathLike[str] | None, results_dir: str | os.PathLike[str]) -> None:
    """Check ``--out`` (when given) or else ``--results-dir`` before a run (``check_out_file``,
    ``check_writable_dir``).

    Raises:
        BenchError: as those two, or a target in the committed ``leaderboards/results`` while the checkout has
            uncommitted changes (``benchmark.results.provenance.require_clean_tree``).
    """
    from benchmark.results.provenance import require_clean_tree

    require_clean_tree(out or results_dir)
    if out:
        check_out_file(out, "--out", "or use --results-dir for a folder of results.")
    else:
        check_writable_dir(results_dir, "results folder",
                           "Pass --results-dir DIR (or set VOICE2FACE_RESULTS_DIR) to a writable folder.")


def check_cache(use_cache: bool) -> None:
    """With the cache on, check that the cache directory, its ``trials/`` folder and its SQLite files can be
    written (``benchmark.judges.cache.open_cache_db``). With it off (``--no-cache``) nothing is checked or written.

    Raises:
        BenchError: naming the path, and the fixes (``VOICE2FACE_CACHE_DIR``, ``--no-cache``).
    """
    if not use_cache:
        return
    from benchmark.settings import cache_dir

    fix = "Set VOICE2FACE_CACHE_DIR to a writable folder, or run with --no-cache."
    root = cache_dir()
    check_writable_dir(root, "cache directory", fix)
    check_writable_dir(root / "trials", "trial-file folder of the cache", fix)
    for name in CACHE_FILES:
        check_sqlite_writable(root / name, fix)


CACHE_FILES = ("embeddings.sqlite", "speaker.sqlite", "attributes.sqlite", "file_digests.sqlite")
"""The SQLite files a run may write in the cache directory."""


def check_sqlite_writable(path: Path, fix: str) -> None:
    """Open SQLite file ``path`` (an empty one is created if absent) and take its write lock, then let go.

    Raises:
        BenchError: a folder stands at ``path``, or the file cannot be opened or locked for writing.
    """
    import sqlite3

    if path.is_dir():
        raise BenchError(f"cache file {path} is a folder. {fix}")
    try:
        db = sqlite3.connect(str(path), timeout=60)
        try:
            db.execute("BEGIN IMMEDIATE")
            db.rollback()
        finally:
            db.close()
    except (OSError, sqlite3.Error) as exc:
        raise BenchError(f"cache file {path} cannot be written ({exc}). {fix}") from None
