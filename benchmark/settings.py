"""Where the suite finds data and keeps its cache.

Data directory (holds one sub-directory per registered dataset, e.g. ``vox1-mini/``), first match wins:
  1. the ``--data-dir`` option of ``bench``;
  2. the environment variable ``VOICE2FACE_DATA_DIR``;
  3. ``./data`` in the current working directory.

Cache directory (judge embeddings, the generated toy world, trial files), first match wins:
  1. the environment variable ``VOICE2FACE_CACHE_DIR``;
  2. the user's cache directory from ``platformdirs`` (``~/.cache/voice2face-bench`` on Linux).

The cache never lives inside the installed package (clean-fid's convention). ``--no-cache`` (``caching_off``)
turns off every on-disk cache for the extent of a run: judge, speaker and attribute embeddings and the frozen
trial files are neither read nor written there. (The toy world is a dataset, not a cache: it is still made in,
and read from, ``<cache>/toy`` on first use.)

Results directory (where ``bench run`` and ``bench score`` write result JSON when no ``--results-dir`` is
given), first match wins:
  1. the environment variable ``VOICE2FACE_RESULTS_DIR``;
  2. ``./results`` in the current working directory (ignored by this repository's ``.gitignore``).

The committed leaderboard's results (``leaderboards/results``) are never the default: adding a row to it is
an explicit ``--results-dir leaderboards/results``.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
from pathlib import Path

import platformdirs

from benchmark.errors import BenchError

APP_NAME = "voice2face-bench"

LEADERBOARD_RESULTS = "leaderboards/results"
"""The committed leaderboard's results folder (relative to a checkout's root): what ``bench check`` and
``bench leaderboard`` read by default, and never where ``bench run`` writes unless told to."""

_CACHING = contextvars.ContextVar("voice2face_caching", default=True)


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Return the data directory (see the module docstring for the lookup order); it may not exist."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get("VOICE2FACE_DATA_DIR")
    if env:
        return Path(env).expanduser()
    return Path.cwd() / "data"


def cache_dir() -> Path:
    """Return the cache directory (see the module docstring for the lookup order), creating it if needed.

    Raises:
        BenchError: the directory cannot be created (a file stands where it or a parent must be, or no
            permission); the message names the path and says how to move the cache.
    """
    path = cache_dir_path()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BenchError(f"cache directory {path} cannot be created ({exc.strerror or exc}); set "
                         "VOICE2FACE_CACHE_DIR to a writable folder, or remove what is in the way.") from None
    return path


def cache_dir_path() -> Path:
    """The cache directory's path (module docstring), without creating it."""
    env = os.environ.get("VOICE2FACE_CACHE_DIR")
    return Path(env).expanduser() if env else Path(platformdirs.user_cache_dir(APP_NAME))


def results_dir() -> Path:
    """The default results directory: ``$VOICE2FACE_RESULTS_DIR`` or ``./results`` (module docstring); it may
    not exist. Never the committed ``leaderboards/results``."""
    env = os.environ.get("VOICE2FACE_RESULTS_DIR")
    return Path(env).expanduser() if env else Path.cwd() / "results"


def caching_enabled() -> bool:
    """False inside ``caching_off()`` (``--no-cache``): on-disk caches neither read nor write."""
    return _CACHING.get()


@contextlib.contextmanager
def caching_off(off: bool = True):
    """Context manager: within it (when ``off``), ``caching_enabled()`` is False for this thread/context, so
    ``benchmark.judges.cache.EmbeddingCache`` keeps nothing on disk and no trial file is frozen in the cache."""
    token = _CACHING.set(False) if off else None
    try:
        yield
    finally:
        if token is not None:
            _CACHING.reset(token)


def honours_no_cache(fn):
    """Decorator for a function with a ``use_cache`` keyword (default True): a call with ``use_cache=False``
    runs inside ``caching_off()``, so nothing it calls reads or writes an on-disk cache (``--no-cache``)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with caching_off(not kwargs.get("use_cache", True)):
            return fn(*args, **kwargs)

    return wrapper
