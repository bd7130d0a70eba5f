"""What every judge is: its identity (``JudgeInfo``), its output (``Embeddings``) and its interface (``Judge``).

A judge is the fixed pretrained face model that scores every generator alike. It is a ``typing.Protocol``, as the
generator adapter is (``benchmark.generators.base``): any object with an ``info`` and a batched ``embed`` is a judge.
Judges are made by name through ``benchmark.judges.make_judge`` (the registry ``benchmark.judges.JUDGES``); the
device, the cache and the batch size are given when the judge is made, so ``embed`` has one job.

The judge is part of every result's identity: results record ``asdict(judge.info)``, the embedding cache key
holds the judge id, its weights sha256, its preprocessing version and the versions of the libraries that compute
it, ``bench check`` never compares results of two judges, and the leaderboard keeps one table per judge.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterator, Protocol, Sequence, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class JudgeInfo:
    """Identity of a judge, recorded in every result.

    Attributes:
        id: the judge's id, e.g. "dlib-resnet-v1" (stable across releases of this suite; a new network or a
            change that moves embeddings gets a new id or a new ``preprocess_version``).
        weights_sha256: sha256 (hex) of the model file(s) (several files: sha256 of their hex digests joined).
        preprocess_version: names the detection, alignment and crop the embeddings depend on.
        embedding_dim: D, the length of one embedding.
        library: the libraries (with versions) that compute the embeddings.
    """

    id: str
    weights_sha256: str
    preprocess_version: str
    embedding_dim: int
    library: str


@dataclass
class Embeddings:
    """Judge output for a batch of N images.

    Attributes:
        vectors: float32 ``[N, D]`` embeddings in the judge's own scale (the suite L2-normalises where a metric
            needs it; dlib's descriptors have norm about 1, SFace's do not).
        aligned: bool ``[N]``, True where the judge's detector found a face (False: its documented fallback box).
    """

    vectors: np.ndarray
    aligned: np.ndarray


@runtime_checkable
class Judge(Protocol):
    """The judge interface.

    Attributes:
        info: the judge's ``JudgeInfo``.
    """

    info: JudgeInfo

    def embed(self, images: Sequence[np.ndarray], progress: str | None = None) -> Embeddings:
        """Embed N uint8 ``[H, W, 3]`` RGB images (any sizes, none blank), using and filling the judge's cache.

        Args:
            images: the images; the caller filters blank ones (``benchmark.data.images.is_blank``).
            progress: a tqdm description, or None for no progress bar.

        Returns:
            ``Embeddings`` (vectors float32 ``[N, D]``, aligned bool ``[N]``) in input order, computed on the
            device the judge was made for.
        """
        ...

    def close(self) -> None:
        """Release worker processes or device memory (a judge without any does nothing)."""
        ...


# ---------------------------------------------------------------------------------------------------------------
# Helpers every judge shares


class WorkerPoolMixin:
    """What the judges whose CPU stage runs in worker processes share (dlib, dlib-torch, sface): one ``spawn``
    ``ProcessPoolExecutor`` (the workers import no torch and hold no copy of the parent's state), started on first
    use by ``_worker_pool``, stopped by ``close()`` — or on leaving a ``with`` block, or when the judge is garbage
    collected. The class sets ``workers`` (the number of processes)."""

    workers: int
    _pool = None

    def _worker_pool(self, initializer: Callable, initargs: tuple = ()):
        """The judge's ``concurrent.futures.ProcessPoolExecutor`` of ``self.workers`` processes, each set up once by
        ``initializer(*initargs)``; made on the first call, the same one afterwards."""
        if self._pool is None:
            import multiprocessing
            import os
            import weakref
            from concurrent.futures import ProcessPoolExecutor

            from benchmark.judges.orphans import guarded_init  # workers end when this process dies (even SIGKILL)

            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=guarded_init, initargs=(os.getpid(), initializer, initargs))
            weakref.finalize(self, self._pool.shutdown, wait=False, cancel_futures=True)
        return self._pool

    def close(self) -> None:
        """Stop the worker processes, if any were started."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def cache_key_suffix(info: JudgeInfo, *libraries: str) -> str:
    """The part of a judge's cache key after the image digest: ``|id|weights sha256|preprocess version|lib…``.

    The judge id comes first, so entries of two judges can never share a key (``benchmark.judges.cache``).

    Args:
        info: the judge's ``JudgeInfo``.
        libraries: versions of the libraries whose change may move an embedding, e.g. ``"dlib-19.24.6"``.

    Returns:
        e.g. ``"|dlib-resnet-v1|<sha256>|dlib-hog1-…-v2|dlib-19.24.6"``.
    """
    return "|".join(("", info.id, info.weights_sha256, info.preprocess_version, *libraries))


def embed_cached(images: Sequence[np.ndarray], key_suffix: str, cache, dim: int,
                 compute: Callable[[list[np.ndarray]], Iterator[tuple[np.ndarray, np.ndarray]]],
                 progress: str | None = None) -> Embeddings:
    """The cache lookup and batching loop of ``Judge.embed``: embed only what the cache lacks, once per image.

    Each image's key is ``benchmark.data.images.image_digest(image) + key_suffix``. Cached keys are read back; the
    other distinct images (the first of several identical ones) are passed to ``compute`` in input order, and
    every batch it yields is stored in the cache (one transaction per batch, so an interrupted run keeps what
    was embedded) before the next is asked for.

    Args:
        images: N uint8 ``[H, W, 3]`` RGB images (none blank).
        key_suffix: the judge's ``cache_key_suffix``.
        cache: a ``benchmark.judges.cache.EmbeddingCache`` (``EmbeddingCache(None)`` keeps nothing).
        dim: D, the embedding length (shape of the empty result).
        compute: ``compute(images)`` yields ``(vectors float32 [b, D], detected bool [b])`` for consecutive
            batches of the images it is given, in order, until all are embedded.
        progress: a tqdm description, or None for no progress bar.

    Returns:
        ``Embeddings`` (vectors float32 ``[N, D]``, aligned bool ``[N]``) in input order.

    Raises:
        ValueError: ``compute`` yielded more or fewer rows than it was given images.
    """
    from tqdm import tqdm

    from benchmark.data.images import image_digest

    keys = [image_digest(im) + key_suffix for im in images]
    found = cache.get_many(sorted(set(keys)))
    todo = [k for k in dict.fromkeys(keys) if k not in found]
    first = {k: i for i, k in reversed(list(enumerate(keys)))}
    bar = tqdm(total=len(todo), desc=progress, unit="face", disable=progress is None or not todo, leave=False)
    done = 0
    for vectors, detected in compute([images[first[k]] for k in todo]) if todo else ():
        batch = todo[done:done + len(vectors)]
        if len(batch) != len(vectors) or len(detected) != len(vectors):
            raise ValueError(f"compute yielded {len(vectors)} vectors and {len(detected)} flags for "
                             f"{len(batch)} remaining images")
        new = {k: (np.asarray(v, dtype=np.float32), bool(a)) for k, v, a in zip(batch, vectors, detected)}
        cache.put_many(new)
        found.update(new)
        done += len(batch)
        bar.update(len(batch))
    bar.close()
    if done != len(todo):
        raise ValueError(f"compute embedded {done} of {len(todo)} images")
    vectors = np.stack([found[k][0] for k in keys]) if keys else np.zeros((0, dim), np.float32)
    aligned = np.array([found[k][1] for k in keys], dtype=bool)
    return Embeddings(vectors=vectors.astype(np.float32), aligned=aligned)


def check_model_file(path, expected_sha256: str, what: str, fix: str) -> str:
    """Refuse a model file whose sha256 is not the expected one.

    Args:
        path: the file (str or ``os.PathLike``).
        expected_sha256: the lowercase hex digest the suite was validated with.
        what: what the file is, for the message (e.g. "dlib face recognition network").
        fix: what the user should do (e.g. the install command).

    Returns:
        The file's sha256 (hex), equal to ``expected_sha256``.

    Raises:
        BenchError: the file is missing or unreadable, or its sha256 differs; the message names the file, the
            expected and the found digest, and the fix.
    """
    import os

    from benchmark.errors import BenchError

    try:
        st = os.stat(path)
        found = _sha256_of(os.fspath(path), st.st_size, st.st_mtime_ns)
    except (OSError, BenchError) as exc:
        raise BenchError(f"cannot read the {what} {path}: {exc}. {fix}") from None
    if found != expected_sha256:
        raise BenchError(f"the {what} {path} has sha256 {found}, expected {expected_sha256}: it is not the file "
                         f"this suite was validated with (damaged, or another version). {fix}")
    return found


@lru_cache(maxsize=64)
def _sha256_of(path: str, size: int, mtime_ns: int) -> str:
    """sha256 of a file, remembered per (path, size, mtime) so that making a judge twice hashes it once."""
    from benchmark.data.fingerprint import file_sha256

    return file_sha256(path)
