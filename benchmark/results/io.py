"""Result files: JSON with full provenance (lm-eval's and MTEB's convention), written atomically.

Schema version 1, top-level keys: schema_version, suite_version, git_commit, created, protocol
{name, version, spec}, trials {sha256, count, path, excluded}, dataset {id, manifest_sha256, root, partial,
summary, excluded}, judge {id, weights_sha256, preprocess_version, ...}, generator (GeneratorMeta fields),
conformance {status, checks | reason}, seed, device, scores {metric: {value, ci95, n, n_identities}}, strata
{stratum: {metric: {...}}}, inputs {excluded face counts, aligned vs centre-crop counts, what the real-face
count covers}, timing {seconds per step}, environment.

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

SCHEMA_VERSION = 1


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


def write_result(path: Path, result: dict) -> Path:
    """Write a result dict as indented JSON, atomically; returns the path."""
    write_atomic(Path(path), (json.dumps(result, indent=2, sort_keys=False) + "\n").encode("utf-8"))
    return Path(path)


def read_result(path: Path) -> dict:
    """Read a result file.

    Raises:
        BenchError: not JSON, a schema version this suite does not know, or a field the readers use missing, of
            the wrong type, not finite or an unsafe name (``benchmark.results.validate``); the message names the
            file and the field.
    """
    from benchmark.errors import BenchError
    from benchmark.results.validate import validate_result

    try:
        result = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BenchError(f"cannot read result file {path}: {exc}") from exc
    if isinstance(result, dict) and result.get("schema_version") != SCHEMA_VERSION:
        raise BenchError(f"result file {path} has schema_version {result.get('schema_version')!r}; "
                         f"this suite reads {SCHEMA_VERSION}. Re-run it with this version.")
    return validate_result(result, path)


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
