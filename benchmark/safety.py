"""Trust boundaries: names that become paths, paths that must stay under their root, code a file may name.

Files from outside (a result JSON in a leaderboard pull request, a submission folder, a manifest) are data, never
code, and never choose where the suite writes:

* ``check_name``: the one validator for every name that becomes a path component (protocol name, dataset id,
  split, generator or judge name, ``bench score --name``): one non-empty component of ASCII letters, digits and
  ``-_.+``, starting with a letter or digit (so never ``.``, ``..``, a hidden name, a separator or an absolute
  path), at most ``MAX_NAME`` characters.
* ``path_component``: the historical sanitiser of generator names (every other character becomes ``_``, as result
  paths have always been written) followed by ``check_name``.
* ``inside``: every written path is checked to resolve under its root (symbolic links followed).
* ``trusted_model_spec``: ``bench check`` re-runs a stored result's ``generator.spec`` only when it is a registered
  generator (``benchmark.registry.MODELS``, its ``MODEL_ALIASES``, an installed entry point of
  ``voice2face_bench.generators``) or a spec the user named on the command line (``bench check --allow-spec``);
  a ``file.py:Factory`` or ``module:Factory`` read from a result file is never imported on its own.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable

from benchmark.errors import BenchError

MAX_NAME = 128
"""Longest name accepted as a path component (well under every file system's 255-byte limit, with room for the
``-seed<seed>-judge-<judge>.json`` suffixes)."""

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*\Z")


def check_name(name: object, what: str, where: str | os.PathLike[str] | None = None) -> str:
    """Return ``name`` when it is safe as one path component, else raise.

    Args:
        name: the candidate (any object; only a ``str`` can pass).
        what: what the name is, for the message (e.g. ``"protocol.name"``, ``"--name"``).
        where: the file it was read from, for the message (None: the command line).

    Returns:
        ``name`` unchanged.

    Raises:
        BenchError: not a string, empty, longer than ``MAX_NAME``, or holding anything but ASCII letters, digits
            and ``-_.+`` or not starting with a letter or digit (``..``, ``.hidden``, ``a/b``, ``/abs``); the
            message names the field, the file and the fix.
    """
    origin = f" in {where}" if where is not None else ""
    if not isinstance(name, str) or len(name) > MAX_NAME or not _NAME.match(name):
        raise BenchError(f"{what}{origin} is {name!r}: not a safe name (1-{MAX_NAME} ASCII letters, digits, "
                         "'-', '_', '.' or '+', starting with a letter or digit; it becomes a file or folder name). "
                         "Fix: rename it.")
    return name


def path_component(name: str, what: str) -> str:
    """The folder or file name a free-form name (a generator's ``meta.name``) is written under.

    Every character other than letters, digits and ``-_.`` becomes ``_`` (the rule results have always been
    written with: ``"my faces"`` -> ``my_faces``), then the outcome must pass ``check_name``.

    Raises:
        BenchError: what is left is not a safe name (``.``, ``..``, ``.hidden``, empty).
    """
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(name))
    return check_name(safe, what)


def inside(root: str | os.PathLike[str], path: str | os.PathLike[str], what: str = "output file") -> Path:
    """Return ``path`` when it resolves under ``root`` (symbolic links followed), else raise.

    Args:
        root: the folder everything must stay under (need not exist yet).
        path: the path to be written, absolute or relative to the working directory.
        what: what the path is, for the message.

    Raises:
        BenchError: ``path`` resolves outside ``root`` (``..`` components, an absolute path, a link out).
    """
    base, target = Path(root).resolve(), Path(path).resolve()
    if target != base and base not in target.parents:
        raise BenchError(f"{what} {path} would be written outside {root} (it resolves to {target}); refused. "
                         "A name in an input file must not climb out of the output folder: fix that file.")
    return Path(path)


def trusted_model_spec(spec: object, allowed: Iterable[str] = (), where: str | os.PathLike[str] | None = None) -> str:
    """Return a model spec read from a file when running it is allowed, else raise (module docstring).

    Args:
        spec: ``generator.spec`` of a result file.
        allowed: specs the user named on the command line (``bench check --allow-spec``).
        where: the result file, for the message.

    Raises:
        BenchError: ``spec`` is not a registered name, alias or entry point and not in ``allowed``: nothing is
            imported; the message names the file and the fix (``--allow-spec``).
    """
    from importlib.metadata import entry_points

    from benchmark.generators.registry import ENTRY_POINT_GROUP, MODEL_ALIASES, MODELS

    if isinstance(spec, str) and (spec in MODELS or spec in MODEL_ALIASES or spec in set(allowed)
                                  or any(ep.name == spec for ep in entry_points(group=ENTRY_POINT_GROUP))):
        return spec
    origin = f"{where}" if where is not None else "the result file"
    raise BenchError(f"{origin} names generator.spec {spec!r}, which is not a registered generator (bench ls models) "
                     "or an installed entry point; bench check never imports code named by a result file. "
                     f"If you trust that code, name it yourself: bench check --allow-spec {spec!s}")


def require_regular_file(path: str | os.PathLike[str], what: str = "file") -> Path:
    """Return ``path`` when it is a regular file (a symbolic link to one counts), else raise — before anything opens it.

    A FIFO, socket or device in a submission folder would block ``open`` forever (a FIFO waits for a writer) or
    read without end (``/dev/zero``); they are refused up front.

    Raises:
        BenchError: ``path`` is a FIFO, socket, character or block device, or a link to one (or a dangling link);
            the message names it and the fix.
    """
    import stat

    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise BenchError(f"{what} {path} cannot be read ({exc.strerror}); remove it or fix the link.") from None
    if not stat.S_ISREG(mode):
        kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file")
        raise BenchError(f"{what} {path} is {kind}, not a regular file; refused before reading anything "
                         "(it could block forever). Fix: remove it from the folder.")
    return Path(path)
