"""Issue 21, tracebacks, lost work and hangs: malformed inputs get one clear error, nothing computed is lost, no hang."""

from __future__ import annotations

import errno
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from benchmark.cli import main
from benchmark.errors import BenchError

REPO = Path(__file__).resolve().parent.parent
STORED = next(p for p in (REPO / "leaderboards" / "results" / "toy" / "test" / "oracle" / "stratified-seed0.json",
                          REPO / "leaderboards" / "results" / "toy" / "oracle" / "stratified-seed0.json") if p.is_file())
PUBLISHED = REPO / "leaderboards" / "published.json"


def _write(root: Path, content) -> Path:
    path = root / "bad" / "stratified-seed0.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def _stored() -> dict:
    return json.loads(STORED.read_text())


def _without(key):
    def change():
        d = _stored()
        del d[key]
        return d
    return change


def _string_score():
    d = _stored()
    metric = next(iter(d["scores"]))
    d["scores"][metric] = "0.99"
    return d


MALFORMED = {
    "missing scores": (_without("scores"), "scores"),
    "missing trials": (_without("trials"), "trials"),
    "a list": (lambda: [_stored()], "top level"),
    "a string score": (_string_score, "scores.accuracy"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
@pytest.mark.parametrize("command", ["leaderboard", "check"])
def test_malformed_result_file_is_one_clear_error(tmp_path, capsys, case, command):
    make, field = MALFORMED[case]
    _write(tmp_path / "results", make())
    argv = [command, "--results-dir", str(tmp_path / "results")]
    argv += ["--out-dir", str(tmp_path / "out"), "--published", str(PUBLISHED)] if command == "leaderboard" else \
        ["--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "bad/stratified-seed0.json" in err and field in err and "Traceback" not in err


# --- caches ------------------------------------------------------------------------------------------------------


def _filled_cache(path: Path, n: int = 400) -> None:
    from benchmark.judges.cache import EmbeddingCache

    cache = EmbeddingCache(path)
    cache.put_many({f"k{i:05d}": (np.full(128, i, dtype=np.float32), True) for i in range(n)})
    cache.close()


def test_a_cache_with_garbage_mid_file_is_a_clear_error(tmp_path):
    from benchmark.judges.cache import EmbeddingCache

    path = tmp_path / "emb.sqlite"
    _filled_cache(path)
    size = path.stat().st_size
    with open(path, "r+b") as fh:  # everything after the first page (the schema) overwritten with garbage
        fh.seek(4096)
        fh.write(np.random.default_rng(0).integers(0, 256, size - 4096, dtype=np.uint8).tobytes())
    with pytest.raises(BenchError, match=rf"{path.name}.*(damaged|not a cache).*delete it"):
        cache = EmbeddingCache(path)
        cache.get_many([f"k{i:05d}" for i in range(400)])


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path):
    from benchmark.judges.cache import EmbeddingCache

    path = tmp_path / "emb.sqlite"
    path.write_bytes(b"garbage" * 1000)
    with pytest.raises(BenchError, match=rf"{path.name}.*delete it"):
        EmbeddingCache(path)


def test_a_cache_of_another_layout_is_a_clear_error(tmp_path):
    from benchmark.judges.cache import EmbeddingCache

    path = tmp_path / "emb.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE emb (key TEXT PRIMARY KEY, vec BLOB)")
    db.execute("INSERT INTO emb VALUES ('k', x'00000000')")
    db.commit()
    db.close()
    with pytest.raises(BenchError, match=rf"{path.name}.*unknown layout.*delete it"):
        cache = EmbeddingCache(path)
        cache.get_many(["k"])


def test_a_cache_of_layout_1_is_upgraded_and_keeps_its_rows(tmp_path):
    from benchmark.judges.cache import EmbeddingCache

    path = tmp_path / "emb.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE emb (key TEXT PRIMARY KEY, vec BLOB, aligned INTEGER)")
    db.execute("INSERT INTO emb VALUES ('k', ?, 1)", (np.ones(4, dtype=np.float32).tobytes(),))
    db.commit()
    db.close()
    cache = EmbeddingCache(path)
    got = cache.get_many(["k"])
    cache.close()
    assert np.array_equal(got["k"][0], np.ones(4, dtype=np.float32)) and got["k"][1] is True


# --- results disk full after the work ------------------------------------------------------------------------------


def test_disk_full_prints_scores_names_the_file_and_fails(tmp_path, capsys, monkeypatch):
    import benchmark.results.io as io

    real_write = io.write_atomic

    def full(path, data):  # the results disk is full; the cache (trial files) is elsewhere
        if Path(path).is_relative_to(tmp_path / "results"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real_write(path, data)

    monkeypatch.setattr(io, "write_atomic", full)
    rc = main(["run", "--model", "oracle", "--protocol", "stratified,unstratified", "--dataset", "toy", "--quiet",
               "--results-dir", str(tmp_path / "results")])
    out, err = capsys.readouterr()
    assert rc == 2
    assert out.count("accuracy") >= 2  # both protocols' scores were printed
    assert "NOT saved" in err and "No space left on device" in err
    assert "stratified-seed0.json" in err and "unstratified-seed0.json" in err


# --- a FIFO in a submission folder ---------------------------------------------------------------------------------


def _bench(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "benchmark.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=REPO)


def test_a_fifo_in_a_submission_folder_is_refused_not_waited_on(tmp_path):
    faces = tmp_path / "faces"
    faces.mkdir()
    os.mkfifo(faces / "id10001__x__00001.png")
    proc = _bench("score", "--faces", str(faces), "--protocol", "stratified", "--dataset", "toy", "--quiet",
                  "--results-dir", str(tmp_path / "results"))
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "FIFO" in proc.stderr and "id10001__x__00001.png" in proc.stderr


# --- judge workers of a killed parent --------------------------------------------------------------------------------

PARENT = textwrap.dedent("""
    import multiprocessing, os, sys, time
    from benchmark.judges.base import WorkerPoolMixin

    class Pool(WorkerPoolMixin):
        workers = 2

    judge = Pool()  # kept referenced: a collected judge stops its pool
    pool = judge._worker_pool(time.sleep, (0,))
    list(pool.map(abs, range(8)))
    print(" ".join(str(p.pid) for p in multiprocessing.active_children()), flush=True)
    time.sleep(600)
""")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc (Linux)")
def test_judge_workers_exit_when_their_parent_is_killed():
    proc = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO)
    workers = [int(p) for p in proc.stdout.readline().split()]
    try:
        assert len(workers) == 2 and all(_alive(p) for p in workers)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 20  # the watch polls every 0.5 s
        while time.monotonic() < deadline and any(_alive(p) for p in workers):
            time.sleep(0.2)
        assert not any(_alive(p) for p in workers), "orphaned judge workers still running"
    finally:
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


# --- listing and pipes -----------------------------------------------------------------------------------------------


def test_ls_judges_does_not_import_or_build_entry_point_judges(tmp_path, monkeypatch, capsys):
    from importlib.metadata import EntryPoint

    import benchmark.judges as judges

    marker = tmp_path / "loaded.txt"
    (tmp_path / "third_party_judge.py").write_text(
        f"open({str(marker)!r}, 'w').write('imported')\nclass Judge:\n    def __init__(self, **kw):\n"
        f"        open({str(marker)!r}, 'w').write('built')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    fake = [EntryPoint(name="third-party", value="third_party_judge:Judge", group=judges.ENTRY_POINT_GROUP)]
    monkeypatch.setattr(judges, "entry_points", lambda group=None: fake if group == judges.ENTRY_POINT_GROUP else [])
    assert main(["ls", "judges"]) == 0
    assert "third-party" in capsys.readouterr().out
    assert not marker.exists(), "bench ls judges imported a third-party judge"


def test_a_closed_stdout_pipe_ends_quietly():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "benchmark.cli", "ls", "models"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=REPO)
    proc.stdout.close()  # the reader leaves before the first line (as `| head -0` would)
    err = proc.stderr.read().decode()
    rc = proc.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert rc == 141


# --- bench embed shards reuse the cache ------------------------------------------------------------------------------


@pytest.mark.realdata
@pytest.mark.slow
def test_embed_shards_reuse_what_the_main_cache_holds(vox1_mini, tmp_path, monkeypatch):
    from benchmark.engine.embed_all import Rank, embed_dataset

    monkeypatch.setenv("VOICE2FACE_CACHE_DIR", str(tmp_path / "cache"))
    first = embed_dataset("vox1-mini", "dlib", data_root=str(vox1_mini), progress=False, rank=Rank(0, 1, False))
    assert first["embedded_now"] > 0
    shards = tmp_path / "other-shards"  # a torchrun world of 2 after the one-process run: nothing left to embed
    one = embed_dataset("vox1-mini", "dlib", data_root=str(vox1_mini), progress=False, rank=Rank(1, 2, False),
                        shard_dir=str(shards))
    zero = embed_dataset("vox1-mini", "dlib", data_root=str(vox1_mini), progress=False, rank=Rank(0, 2, False),
                         shard_dir=str(shards))
    assert one["shard_faces"] > 0 and zero["shard_faces"] > 0
    assert one["embedded_now"] == 0 and zero["embedded_now"] == 0
    assert "merged_rows" in zero  # rank 0 merged and found every face in the main cache
