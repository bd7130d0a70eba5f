"""Write a finished result without losing it: a failed write (disk full, folder gone read-only) is recorded on the
result, so the command still prints every score, names each file it could not write and exits non-zero."""

from __future__ import annotations

import os
from pathlib import Path

WRITE_ERROR = "write_error"
"""Key set on a result dict (never written to disk) when its file could not be written: the reason, with the path."""


def save_result(path: str | os.PathLike[str], result: dict) -> bool:
    """Write ``result`` to ``path`` (``benchmark.results.io.write_result``, atomic); on ``OSError`` keep going.

    Args:
        path: the result file.
        result: the result dict; gets ``"path"`` (str) when written, else ``WRITE_ERROR`` (str: the path and the
            operating system's reason) and ``"path"`` None.

    Returns:
        True when the file was written.
    """
    from benchmark.log import stage
    from benchmark.results.io import write_result

    try:
        write_result(Path(path), result)
    except OSError as exc:
        result["path"] = None
        result[WRITE_ERROR] = f"{path}: {exc.strerror or exc}"
        stage(f"could NOT write {path} ({exc.strerror or exc}); the scores are printed below")
        return False
    result["path"] = str(path)
    stage(f"wrote {path}")
    return True


def unsaved_message(results: list[dict]) -> str | None:
    """One error message naming every result file that could not be written, or None when all were.

    The scores themselves were printed by the command; the fix is to free space (or pick another
    ``--results-dir``) and run again.
    """
    failed = [r[WRITE_ERROR] for r in results if r.get(WRITE_ERROR)]
    if not failed:
        return None
    return ("the scores above were computed but NOT saved: could not write " + "; ".join(failed)
            + ". Fix: free space or pass another --results-dir, and run again.")
