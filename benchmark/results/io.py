"""Result files: JSON with full provenance (lm-eval's and MTEB's convention), validated and written atomically.

Every result file is read and written through the typed schema (``benchmark.results.schema.Result``: keys, types,
what is required, and the one error that names the file and the field): ``load_result`` / ``save_result`` for a
``Result``, ``read_result`` / ``write_result`` for its JSON object (a validated ``dict``, what most readers index).
Files are 2-space indented JSON with a final newline, keys in the schema's order (or the order read), so a file
read and written again is the same bytes.

Paths are portable: ``trials.path`` is relative to the cache directory (``"<cache>/trials/…"``; null when the
run used ``--no-cache`` and froze no file), and ``dataset.root`` names the setting that located the data
(``"./data/vox1-mini"``, ``"--data-root <folder name>"``, ``"$VOX1_VGGFACE_ROOT"``) — never an absolute local
path. (Results written before this rule hold absolute paths there; nothing reads those two fields back.)
``dataset.partial`` is null, or what a partial copy of a full dataset lacks (``benchmark.data.datasets.completeness``).
Keys added since version 1 was first written are read with defaults, so older files stay readable.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import tempfile
from pathlib import Path

from benchmark.errors import BenchError
from benchmark.results.schema import SCHEMA_VERSION, Result

__all__ = ["SCHEMA_VERSION", "Result", "environment", "git_commit", "load_result", "read_result", "result_bytes",
           "save_result", "write_atomic", "write_result"]


def current_umask() -> int:
    """The process's file-mode creation mask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: Path, data: bytes) -> None:
    """Write bytes to ``path`` through a temporary file in the same directory and ``os.replace``.

    A run killed mid-write leaves either the old file or none, never half a file. The file gets the mode an
    ordinary ``open(path, "w")`` would give it (0666 less the umask), not ``mkstemp``'s private 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def result_bytes(result: Result | dict) -> bytes:
    """The bytes of a result file: the validated JSON object, 2-space indented, UTF-8 (ASCII escapes), final newline.

    Raises:
        ResultSchemaError: a ``dict`` that does not follow the schema (``Result.from_dict``).
    """
    if isinstance(result, dict):
        result = Result.from_dict(result, "", "result being written")
    return (json.dumps(result.to_dict(), indent=2, sort_keys=False) + "\n").encode("utf-8")


def write_result(path: Path, result: Result | dict) -> Path:
    """Write a result (a ``Result``, or its JSON object, validated first) atomically; returns the path.

    Raises:
        ResultSchemaError: the result does not follow the schema (nothing is written).
    """
    write_atomic(Path(path), result_bytes(result))
    return Path(path)


def save_result(path: Path, result: Result) -> Path:
    """``write_result`` for a ``Result`` (its sections validated again first: code may have edited them).

    Raises:
        ResultSchemaError: the result does not follow the schema (nothing is written).
    """
    result.validate(str(path))
    return write_result(path, result)


def load_result(path: Path) -> Result:
    """Read and validate a result file.

    Raises:
        BenchError: the file cannot be read or is not JSON; ``ResultSchemaError`` (a ``BenchError``): a schema
            version this suite does not know, a missing required field or a field of the wrong type — the message
            names the file and the field.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BenchError(f"cannot read result file {path}: {exc}") from exc
    from benchmark.results.validate import validate_result

    # the schema first (every field by name), then the readers' checks (unsafe names, non-finite scores:
    # benchmark.results.validate)
    result = Result.from_dict(data, "", str(path))
    validate_result(data, path)
    return result


def read_result(path: Path) -> dict:
    """A result file's JSON object, validated (``load_result``): what readers that index the JSON use.

    Raises:
        BenchError: as ``load_result``.
    """
    return load_result(path).to_dict()


def git_commit() -> str:
    """The suite's git commit, with "-dirty" if the checkout has changes outside the committed results and the
    tables made from them (``benchmark.results.provenance.code_changes``), or "unknown" outside a checkout."""
    from benchmark.errors import BenchError
    from benchmark.results.provenance import checkout_root, code_changes

    root = checkout_root()
    if root is None:
        return "unknown"
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                             timeout=10).stdout.strip()
        if not sha:
            return "unknown"
        return sha + ("-dirty" if code_changes(root) else "")
    except (OSError, subprocess.SubprocessError, BenchError):
        return "unknown"


def environment() -> dict:
    """Versions of Python, torch, numpy, dlib and the platform, for the result file."""
    import numpy
    import torch

    try:
        import dlib

        dlib_version = dlib.__version__
    except ImportError:  # pragma: no cover - dlib is a hard dependency
        dlib_version = None
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "dlib": dlib_version,
        "cuda": torch.version.cuda if torch.cuda.is_available() else None,
    }
