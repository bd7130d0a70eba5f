"""Shared fixtures.

Real-data tests use the vox1-mini sample found through the data directory setting
(``$VOICE2FACE_DATA_DIR/vox1-mini``, default ``./data/vox1-mini``). Without it they skip with the reason —
except when ``VOICE2FACE_REQUIRE_REAL_DATA=1`` (set by .ci/run), where a missing sample is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Every test session gets its own cache directory (judge embeddings, toy world, trial files)."""
    if "VOICE2FACE_TEST_CACHE_DIR" in os.environ:  # reuse a warm cache between local runs
        os.environ["VOICE2FACE_CACHE_DIR"] = os.environ["VOICE2FACE_TEST_CACHE_DIR"]
    else:
        os.environ["VOICE2FACE_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield


@pytest.fixture(scope="session")
def vox1_mini() -> Path:
    """Path of the vox1-mini sample; skips (or fails under VOICE2FACE_REQUIRE_REAL_DATA=1) when absent."""
    from benchmark.settings import data_dir

    root = data_dir() / "vox1-mini"
    if not (root / "vox1_meta.csv").is_file():
        reason = (f"vox1-mini not found at {root}: link ../shared/data/vox1-mini to data/vox1-mini "
                  "or set VOICE2FACE_DATA_DIR")
        if os.environ.get("VOICE2FACE_REQUIRE_REAL_DATA") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return root
