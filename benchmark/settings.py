"""Where the suite finds data and keeps its cache.

Data directory (holds one sub-directory per registered dataset, e.g. ``vox1-mini/``), first match wins:
  1. the ``--data-dir`` option of ``bench``;
  2. the environment variable ``VOICE2FACE_DATA_DIR``;
  3. ``./data`` in the current working directory.

Cache directory (judge embeddings, the generated toy world, trial files), first match wins:
  1. the environment variable ``VOICE2FACE_CACHE_DIR``;
  2. the user's cache directory from ``platformdirs`` (``~/.cache/voice2face-bench`` on Linux).

The cache never lives inside the installed package (clean-fid's convention).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "voice2face-bench"


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Return the data directory (see the module docstring for the lookup order); it may not exist."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get("VOICE2FACE_DATA_DIR")
    if env:
        return Path(env).expanduser()
    return Path.cwd() / "data"


def cache_dir() -> Path:
    """Return the cache directory, creating it if needed."""
    env = os.environ.get("VOICE2FACE_CACHE_DIR")
    path = Path(env).expanduser() if env else Path(platformdirs.user_cache_dir(APP_NAME))
    path.mkdir(parents=True, exist_ok=True)
    return path
