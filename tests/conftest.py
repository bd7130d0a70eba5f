"""Shared fixtures.

Real-data tests use the vox1-mini and vox1-s2f samples found through the data directory setting
(``$VOICE2FACE_DATA_DIR/<name>``, default ``./data/<name>``). Without it they skip with the reason —
except when ``VOICE2FACE_REQUIRE_REAL_DATA=1`` (set by .ci/run), where a missing sample is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

MINI_SPLIT = "validation+test"
"""The split vox1-mini's real-data tests score: validation + test, Wen et al.'s A–E identities (5: A.J._Buckley,
Brian_Dennehy, Caitriona_Balfe, Debi_Mazar, Edward_Asner). Its test split alone (C–E) has three identities, one
of them male, so stratified 1:2 matching would keep only the two women; the tests name this split explicitly
(``split=MINI_SPLIT`` / ``--split validation+test``), and results record it as ``evaluated_split``."""


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Every test session gets its own cache directory (judge embeddings, toy world, trial files)."""
    if "VOICE2FACE_TEST_CACHE_DIR" in os.environ:  # reuse a warm cache between local runs
        os.environ["VOICE2FACE_CACHE_DIR"] = os.environ["VOICE2FACE_TEST_CACHE_DIR"]
    else:
        os.environ["VOICE2FACE_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield


def real_sample(name: str, must_hold: str) -> Path:
    """``<data dir>/<name>`` when it holds ``vox1_meta.csv`` and ``must_hold``; else skip with the reason — or fail
    under ``VOICE2FACE_REQUIRE_REAL_DATA=1`` (.ci/run), where real-data tests must run."""
    from benchmark.settings import data_dir

    root = data_dir() / name
    if not (root / "vox1_meta.csv").is_file() or not (root / must_hold).exists():
        reason = (f"{name} not found at {root}: link ../shared/data/{name} to data/{name} "
                  "or set VOICE2FACE_DATA_DIR")
        if os.environ.get("VOICE2FACE_REQUIRE_REAL_DATA") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return root


@pytest.fixture(scope="session")
def vox1_mini() -> Path:
    """Path of the vox1-mini sample; skips (or fails under VOICE2FACE_REQUIRE_REAL_DATA=1) when absent."""
    return real_sample("vox1-mini", "voxceleb1/wav")


@pytest.fixture(scope="session")
def vox1_s2f() -> Path:
    """Path of the vox1-s2f sample (130 VoxCeleb1 identities with the released Speech2Face outputs); skips (or
    fails under VOICE2FACE_REQUIRE_REAL_DATA=1) when absent."""
    return real_sample("vox1-s2f", "speech2face")


def stored_result(model: str, protocol: str, dataset: str = "vox1-s2f") -> Path:
    """The stored result ``leaderboards/results/<dataset>/[<split>/]<model>/<protocol>-seed0.json`` (default judge), in
    the layout before or after the split joined the result path (``benchmark.engine.run.default_result_path``)."""
    root = Path(__file__).resolve().parents[1] / "leaderboards" / "results" / dataset
    found = sorted(p for p in root.rglob(f"{protocol}-seed0.json") if p.parent.name == model)
    assert len(found) == 1, f"expected one stored {model}/{protocol} result under {root}, found {found}"
    return found[0]
