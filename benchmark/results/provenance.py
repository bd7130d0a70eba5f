"""Provenance of the committed results: ``leaderboards/results`` is written only from a clean checkout.

A stored result names the suite's git commit (``git_commit``), and ``bench check`` re-runs that configuration to
reproduce it. A result written from a tree with uncommitted changes names a commit that did not make it (all 568
results stored before this rule read ``<sha>-dirty``): nobody can rebuild the code that scored it. So:

* **Writing into the committed store** (``<checkout>/leaderboards/results``, ``STORE``) from a checkout with changes
  to anything but the store itself and the tables made from it (``GENERATED``: leaderboards/README.md and
  leaderboards/tables/, which nothing scored reads) is refused before any work, naming the changed files and the fix
  (commit or stash them). Refusing is chosen over recording a hash of the diff: a hash identifies the diff but does
  not let anyone rebuild it, while a commit does. Untracked files count (a new module the run imported is code too);
  ignored ones (caches, ``/results/``) do not.
* **Any other results folder** (``./results``, ``--results-dir DIR``) is a working copy: writing from a changed tree is
  allowed and ``git_commit`` marks it ``-dirty``.

Changes inside ``STORE`` and ``GENERATED`` do not make a tree dirty (``code_changes``), so
``leaderboards/regenerate.sh`` can write result after result from one clean commit and every file records it
without ``-dirty``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from benchmark.errors import BenchError

STORE = "leaderboards/results"
"""The committed results, relative to the checkout's root."""

GENERATED = ("leaderboards/README.md", "leaderboards/tables")
"""What ``bench leaderboard`` makes from ``STORE`` (no score depends on it)."""


def checkout_root() -> Path | None:
    """The root of the git checkout this suite is imported from, or None (an installed copy, or no git)."""
    here = Path(__file__).resolve().parent
    try:
        done = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=here, capture_output=True, text=True,
                              timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    top = done.stdout.strip()
    return Path(top).resolve() if done.returncode == 0 and top else None


def code_changes(root: Path) -> list[str]:
    """Paths (relative to ``root``) with uncommitted changes, untracked non-ignored files included, outside
    ``STORE`` and ``GENERATED``.

    Raises:
        BenchError: ``git status`` fails in ``root``.
    """
    excludes = [f":(exclude){p}" for p in (STORE, *GENERATED)]
    try:
        done = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all", "--", ".", *excludes],
                              cwd=root, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        raise BenchError(f"cannot run git status in {root}: {exc}") from exc
    if done.returncode != 0:
        raise BenchError(f"git status failed in {root}: {done.stderr.strip()}")
    return [line[3:] for line in done.stdout.splitlines() if line.strip()]


def in_store(path: str | os.PathLike[str], root: Path) -> bool:
    """True when ``path`` (a results folder or file, existing or not) lies in ``root / STORE``."""
    target = Path(os.path.abspath(Path(path).expanduser()))
    try:
        target = target.resolve()
    except OSError:  # pragma: no cover - resolve() of a non-existent path does not raise on POSIX
        pass
    store = (root / STORE).resolve()
    return target == store or store in target.parents


def require_clean_tree(path: str | os.PathLike[str], root: Path | None = None) -> None:
    """Refuse to write results to ``path`` when it lies in the committed store and the checkout has changes.

    Args:
        path: the results folder (``--results-dir``) or file (``--out``) a run is about to write.
        root: the checkout (default ``checkout_root()``; None outside a checkout: nothing to check).

    Raises:
        BenchError: ``path`` is in ``<root>/leaderboards/results`` and ``code_changes(root)`` is not empty; the
            message names up to 10 changed files and the fixes.
    """
    root = checkout_root() if root is None else root
    if root is None or not in_store(path, root):
        return
    changed = code_changes(root)
    if changed:
        shown = ", ".join(changed[:10]) + (f" and {len(changed) - 10} more" if len(changed) > 10 else "")
        raise BenchError(
            f"refusing to write into {root / STORE}: the checkout has uncommitted changes ({shown}), so the "
            "result's git_commit would not name the code that made it. Commit or stash them first, or write "
            "elsewhere with --results-dir DIR.")
