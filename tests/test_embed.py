"""``bench embed`` (benchmark.engine.embed_all): sharded judge extraction with torch.distributed, checked against one process."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmark.engine.embed_all import Rank, embed_dataset, shard
from benchmark.errors import BenchError


def test_shards_are_disjoint_deterministic_and_cover_every_face():
    ids = [f"id{i:03d}/v/{j}" for i in range(7) for j in range(5)][::-1]  # any order in
    for world in (1, 2, 3, 8, 40):
        shards = [shard(ids, r, world) for r in range(world)]
        flat = [x for s in shards for x in s]
        assert sorted(flat) == sorted(ids) and len(flat) == len(set(flat))
        assert shards == [shard(list(reversed(ids)), r, world) for r in range(world)]
    with pytest.raises(ValueError):
        shard(ids, 2, 2)


def _rows(path: Path) -> dict[str, bytes]:
    db = sqlite3.connect(str(path))
    try:
        return {k: v + bytes([a]) for k, v, a in db.execute("SELECT key, vec, aligned FROM emb")}
    finally:
        db.close()


@pytest.mark.realdata
def test_two_gloo_ranks_equal_one_process_and_a_killed_shard_resumes(vox1_mini, tmp_path, monkeypatch):
    from benchmark.judges.cache import EmbeddingCache
    from benchmark.data.datasets import load_dataset
    from benchmark.engine.embed import embed_real_faces
    from benchmark.judges import make_judge

    # 1. two CPU ranks under torchrun (gloo), into a fresh cache
    sharded = tmp_path / "sharded-cache"
    env = {**os.environ, "VOICE2FACE_CACHE_DIR": str(sharded), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "benchmark.cli", "embed", "--dataset", "vox1-mini", "--data-root", str(vox1_mini), "--judge", "dlib",
           "--quiet"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "rank 0 of 2" in proc.stdout and "rank 1 of 2" in proc.stdout and "every face checked present" in proc.stdout
    merged = _rows(sharded / "embeddings.sqlite")

    # 2. one process, the ordinary judge path (the session's test cache), on the same faces: identical entries
    manifest = load_dataset("vox1-mini", data_root=str(vox1_mini))
    judge = make_judge("dlib", cache=EmbeddingCache(Path(os.environ["VOICE2FACE_CACHE_DIR"]) / "embeddings.sqlite"))
    table = embed_real_faces(judge, sorted(manifest.faces, key=lambda f: f.id), progress=False)
    monkeypatch.setenv("VOICE2FACE_CACHE_DIR", str(sharded))
    from_sharded = embed_real_faces(make_judge("dlib", cache=EmbeddingCache(sharded / "embeddings.sqlite")),
                                    sorted(manifest.faces, key=lambda f: f.id), progress=False)
    assert from_sharded.ids == table.ids and len(table.ids) > 100
    np.testing.assert_array_equal(from_sharded.vectors, table.vectors)  # bit-identical: same code, same images
    np.testing.assert_array_equal(from_sharded.aligned, table.aligned)
    assert _rows(sharded / "embeddings.sqlite") == merged  # reading back computed nothing new

    # 3. rank 1 "killed": its done file gone and half its rows lost; rank 0 refuses to merge an unfinished run
    run_dir = next((sharded / "embed-shards").iterdir())
    (run_dir / "rank1-of-2.done.json").unlink()
    db = sqlite3.connect(str(run_dir / "rank1-of-2.sqlite"))
    with db:
        keys = [k for (k,) in db.execute("SELECT key FROM emb ORDER BY key")]
        lost = keys[::2]
        db.executemany("DELETE FROM emb WHERE key = ?", [(k,) for k in lost])
    db.close()
    db = sqlite3.connect(str(sharded / "embeddings.sqlite"))  # and not in the main cache either (a shard reuses
    with db:                                                   # what the main cache holds: nothing to redo then)
        db.executemany("DELETE FROM emb WHERE key = ?", [(k,) for k in lost])
    db.close()
    with pytest.raises(BenchError, match="rank1-of-2.done.json"):
        embed_dataset("vox1-mini", "dlib", data_root=str(vox1_mini), progress=False, rank=Rank(0, 2, False))
    # started again, rank 1 embeds only what it lost; then rank 0 merges with the count check
    again = embed_dataset("vox1-mini", "dlib", data_root=str(vox1_mini), progress=False, rank=Rank(1, 2, False))
    assert again["embedded_now"] == len(lost)
    done = embed_dataset("vox1-mini", "dlib", data_root=str(vox1_mini), progress=False, rank=Rank(0, 2, False))
    assert done["embedded_now"] == 0 and done["merged_rows"] >= len(merged)
    assert _rows(sharded / "embeddings.sqlite") == merged


def test_embed_takes_the_judge_device_under_both_names():
    """``bench embed --device`` (documented) and ``--judge-device`` (the name run, score and check use) are one
    option."""
    from benchmark.cli import build_parser

    parse = build_parser().parse_args
    assert parse(["embed", "--judge-device", "cuda:1"]).device == "cuda:1"
    assert parse(["embed", "--device", "cuda"]).device == "cuda"
    assert parse(["embed"]).device == "cpu"
