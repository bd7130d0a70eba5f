"""``bench embed``: compute and cache every real face's judge embedding, sharded over processes and machines.

    bench embed --dataset vox1-s2f --judge dlib                                   # one process
    torchrun --standalone --nproc-per-node 2 -m benchmark.cli embed --dataset vox1-s2f --judge dlib
    torchrun --nnodes 4 --nproc-per-node 8 --rdzv-backend c10d --rdzv-endpoint HOST:29500 \\
        -m benchmark.cli embed --dataset vox1-vggface --judge dlib-torch --device cuda \\
        --shard-dir /shared/v2f-shards                                            # several machines

What a run does (``embed_dataset``):

1. **The faces**: every face of the dataset (``Manifest.faces``, every source and split, sorted by id), so that
   any later ``bench run`` on that dataset with that judge finds each real face it needs in the cache.
2. **Shards**: under ``torch.distributed`` (``torchrun`` sets ``RANK``/``WORLD_SIZE``; backend gloo on the CPU,
   nccl when ``--device`` is a CUDA device) rank ``r`` of ``w`` takes faces ``r, r + w, r + 2w, …`` of that
   sorted list: a deterministic, disjoint cover. Without torchrun the one process is rank 0 of 1.
3. **Each rank writes its own file**: the judge's embeddings go into a rank-private SQLite cache
   ``<shard dir>/<run key>/rank<r>-of-<w>.sqlite`` (``benchmark.judges.cache.EmbeddingCache``, the same keys as the main
   cache: image content, judge id, weights, preprocessing, library versions), committed every ``FACE_CHUNK``
   faces (``benchmark.engine.embed.embed_real_faces``). A killed rank, started again with the same world size, reads
   its finished faces back from that file and embeds only the rest. When its shard is done the rank writes
   ``rank<r>-of-<w>.done.json`` (its face ids, the blank/too-small/unreadable ones, its row count).
4. **Merge, with a count check**: after a barrier, rank 0 checks that the ranks' done files cover every face of
   the dataset exactly once, then copies every rank's rows into the main embedding cache
   (``<cache dir>/embeddings.sqlite``) in one transaction and checks that each face's entry is there
   (re-reading them through the judge's own ``embed``, which then finds them all cached). Unreadable images are
   listed (one ``DataError``) after the merge, so nothing computed is lost.

The embeddings are those one process computes: a rank runs the same judge code on the same images (dlib-bin:
bit-identical; tests/test_embed.py compares against a one-process run).

``--shard-dir`` must be a folder every rank can write (on several machines: a shared filesystem; the main cache
of rank 0 receives the merge). Default: ``<cache dir>/embed-shards``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Sequence

from benchmark.errors import BenchError, DataError

SHARD_FORMAT = 1
"""Version of the done-file layout."""


@dataclass(frozen=True)
class Rank:
    """This process's place in the run: ``rank`` of ``world`` (0 of 1 without torch.distributed)."""

    rank: int
    world: int
    distributed: bool


def shard(face_ids: Sequence[str], rank: int, world: int) -> list[str]:
    """The faces rank ``rank`` of ``world`` embeds: every ``world``-th id of the sorted list, from ``rank``.

    Args:
        face_ids: the dataset's face ids (any order; they are sorted).
        rank, world: 0 ≤ rank < world.

    Returns:
        Sorted ids; over ``rank = 0 … world - 1`` the shards are disjoint and cover ``face_ids``.

    Raises:
        ValueError: rank or world out of range.
    """
    if world < 1 or not 0 <= rank < world:
        raise ValueError(f"rank {rank} of world {world}: need 0 <= rank < world")
    return sorted(face_ids)[rank::world]


def init_distributed(device: str) -> Rank:
    """Join the ``torch.distributed`` group ``torchrun`` describes (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``…).

    Backend: nccl for a CUDA ``device``, gloo otherwise. Without ``WORLD_SIZE`` in the environment (a plain
    ``bench embed``) nothing is initialised: rank 0 of 1.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Rank(0, 1, False)
    import torch
    import torch.distributed as dist

    backend = "nccl" if str(device).startswith("cuda") else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    # a shard may take hours at full scale: the barrier must wait for the slowest rank
    dist.init_process_group(backend=backend, timeout=timedelta(hours=12))
    return Rank(dist.get_rank(), dist.get_world_size(), True)


def run_key(dataset: str, judge_info, face_ids: Sequence[str]) -> str:
    """Folder name of one sharded run: dataset, judge id and a digest of the judge identity and the face list."""
    digest = hashlib.sha256(json.dumps([judge_info.id, judge_info.weights_sha256, judge_info.preprocess_version,
                                        judge_info.library, sorted(face_ids)]).encode()).hexdigest()[:16]
    return f"{dataset}-{judge_info.id}-{digest}"


def _atomic_json(path: Path, obj: dict) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=True))
    os.replace(tmp, path)


def _rows(path: Path) -> int:
    db = sqlite3.connect(str(path))
    try:
        return int(db.execute("SELECT COUNT(*) FROM emb").fetchone()[0])
    finally:
        db.close()


def merge_shards(shard_paths: Sequence[Path], cache_path: Path) -> int:
    """Copy every row of the rank caches into the main cache file in one transaction.

    Returns:
        The number of rows read from the shards (duplicate images share a key: the cache may gain fewer).

    Raises:
        BenchError: the main cache cannot be written (the message names the file).
    """
    from benchmark.judges.cache import open_cache_db

    db = open_cache_db(cache_path)
    total = 0
    try:
        with db:
            for i, p in enumerate(shard_paths):
                db.execute(f"ATTACH DATABASE ? AS s{i}", (str(p),))
                total += int(db.execute(f"SELECT COUNT(*) FROM s{i}.emb").fetchone()[0])
                db.execute(f"INSERT OR REPLACE INTO emb (key, vec, aligned, checksum) "
                           f"SELECT key, vec, aligned, checksum FROM s{i}.emb")
        for i in range(len(shard_paths)):
            db.execute(f"DETACH DATABASE s{i}")
    except sqlite3.Error as exc:
        raise BenchError(f"cannot merge the shards into cache file {cache_path} ({exc}); free space or set "
                         "VOICE2FACE_CACHE_DIR to a writable folder.") from None
    finally:
        db.close()
    return total


def embed_dataset(dataset: str = "toy", judge: str | None = None, *, data_root: str | None = None,
                  data_dir: str | None = None, device: str = "cpu", batch_size: int | None = None,
                  shard_dir: str | os.PathLike[str] | None = None, progress: bool = True,
                  rank: Rank | None = None) -> dict:
    """Embed every face of ``dataset`` with ``judge`` into the main cache, sharded over the ranks of the run.

    Args:
        dataset: dataset name (``benchmark.data.datasets``).
        judge: registry name (``benchmark.judges.JUDGES``); None: the default judge.
        data_root, data_dir: as ``bench run``.
        device: torch device of the judge ("cpu", "cuda", …); decides gloo or nccl.
        batch_size: the judge's batch size (None: its default).
        shard_dir: folder for the rank files (module docstring); default ``<cache dir>/embed-shards``.
        progress: progress bars.
        rank: this process's place (default: from the torchrun environment, ``init_distributed``).

    Returns:
        ``{"dataset", "judge", "faces", "rank", "world", "shard_faces", "embedded_now", "merged_rows",
        "elapsed_s"}`` (``merged_rows`` only on rank 0; ``embedded_now`` counts faces this rank computed rather
        than read back from its rank file).

    Raises:
        BenchError: caching is off (``--no-cache``: nothing could be kept), a rank's done file is missing or the
            shards do not cover the dataset exactly once (the message names the missing ranks and the fix).
        DataError: unreadable face images (after the merge; the others are cached).
    """
    from benchmark.judges.cache import EmbeddingCache
    from benchmark.data.datasets import load_dataset
    from benchmark.engine.embed import embed_real_faces
    from benchmark.judges import DEFAULT_JUDGE, make_judge
    from benchmark.settings import cache_dir, caching_enabled

    if not caching_enabled():
        raise BenchError("bench embed only fills the cache, and caching is off (--no-cache or "
                         "VOICE2FACE_NO_CACHE); run it without that.")
    t0 = time.perf_counter()
    judge_name = judge or DEFAULT_JUDGE
    manifest = load_dataset(dataset, data_root=data_root, data_dir_override=data_dir)
    faces = {f.id: f for f in manifest.faces}
    rank = rank or init_distributed(device)
    mine = shard(list(faces), rank.rank, rank.world)

    main_cache = Path(cache_dir()) / "embeddings.sqlite"
    with closing(make_judge(judge_name, device=device, batch_size=batch_size)) as probe_judge:
        info = probe_judge.info
    root = Path(shard_dir) if shard_dir is not None else Path(cache_dir()) / "embed-shards"
    run_dir = root / run_key(dataset, info, list(faces))
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BenchError(f"cannot create the shard folder {run_dir} ({exc}); pass --shard-dir a writable folder "
                         "(on several machines: one on a shared filesystem).") from None
    name = f"rank{rank.rank}-of-{rank.world}"
    rank_cache_path = run_dir / f"{name}.sqlite"
    done_path = run_dir / f"{name}.done.json"

    embedded_now = 0
    errors: list[str] = []
    if not done_path.is_file():
        rank_cache = EmbeddingCache(rank_cache_path, also_read=[main_cache])  # reuse what is cached already
        before = _rows(rank_cache_path)
        try:
            with closing(make_judge(judge_name, cache=rank_cache, device=device, batch_size=batch_size)) as j:
                try:
                    table = embed_real_faces(j, [faces[i] for i in mine], progress=progress)
                except DataError as exc:  # unreadable files: the rest is in the rank file; report after the merge
                    errors.append(str(exc))
                    table = None
        finally:
            rank_cache.close()
        embedded_now = _rows(rank_cache_path) - before
        if table is not None:
            _atomic_json(done_path, {"format": SHARD_FORMAT, "rank": rank.rank, "world": rank.world,
                                     "faces": mine, "embedded": list(table.ids), "blank": list(table.blank),
                                     "small": list(table.small), "rows": _rows(rank_cache_path)})

    if rank.distributed:
        import torch.distributed as dist

        dist.barrier()
    out = {"dataset": dataset, "judge": judge_name, "faces": len(faces), "rank": rank.rank, "world": rank.world,
           "shard_faces": len(mine), "embedded_now": embedded_now, "shard_dir": str(run_dir)}
    if rank.rank == 0:
        if errors:
            raise DataError(errors[0])
        done = [run_dir / f"rank{r}-of-{rank.world}.done.json" for r in range(rank.world)]
        missing = [p.name for p in done if not p.is_file()]
        if missing:
            raise BenchError(f"shards not finished: {', '.join(missing)} absent in {run_dir}; run the same command "
                             f"again with the same world size ({rank.world}): finished faces are not redone.")
        covered: list[str] = []
        for p in done:
            covered += json.loads(p.read_text())["faces"]
        if len(covered) != len(faces) or set(covered) != set(faces):
            raise BenchError(f"the shards in {run_dir} cover {len(set(covered))} distinct of {len(faces)} faces "
                             f"({len(covered)} listed): remove that folder and run again.")
        out["merged_rows"] = merge_shards([run_dir / f"rank{r}-of-{rank.world}.sqlite" for r in range(rank.world)],
                                          main_cache)
        # the count check: every face is now in the main cache (the judge reads them back; computes none)
        with closing(make_judge(judge_name, cache=EmbeddingCache(main_cache), device=device,
                                batch_size=batch_size)) as j:
            counter = _CountingJudge(j)
            embed_real_faces(counter, [faces[i] for i in sorted(faces)], progress=False)
        if counter.computed:
            raise BenchError(f"after the merge {counter.computed} face(s) of {dataset} were not in the cache "
                             f"{main_cache}; remove {run_dir} and run again.")
    if rank.distributed:
        import torch.distributed as dist

        dist.barrier()
        dist.destroy_process_group()
    out["elapsed_s"] = round(time.perf_counter() - t0, 3)
    return out


class _CountingJudge:
    """Wraps a judge whose cache holds everything: counts the faces it had to compute (should be 0)."""

    def __init__(self, judge):
        self.judge = judge
        self.info = judge.info
        self.computed = 0

    def embed(self, images, progress=None):
        cache = self.judge.cache
        before = _rows(Path(cache.path)) if cache.path is not None else 0
        out = self.judge.embed(images, progress=progress)
        after = _rows(Path(cache.path)) if cache.path is not None else 0
        self.computed += after - before
        return out

    def close(self):
        self.judge.close()
