"""What every judge is: its identity (``JudgeInfo``), its output (``Embeddings``) and its interface (``Judge``).

A judge is the fixed pretrained face model that scores every generator alike. It is a ``typing.Protocol``, as the
generator adapter is (``benchmark.generator``): any object with an ``info`` and a batched ``embed`` is a judge.
Judges are made by name through ``benchmark.judges.make_judge`` (the registry ``benchmark.judges.JUDGES``); the
device, the cache and the batch size are given when the judge is made, so ``embed`` has one job.

The judge is part of every result's identity: results record ``asdict(judge.info)``, the embedding cache key
holds the judge id, its weights sha256, its preprocessing version and the versions of the libraries that compute
it, ``bench check`` never compares results of two judges, and the leaderboard keeps one table per judge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence, runtime_checkable

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
            images: the images; the caller filters blank ones (``benchmark.images.is_blank``).
            progress: a tqdm description, or None for no progress bar.

        Returns:
            ``Embeddings`` (vectors float32 ``[N, D]``, aligned bool ``[N]``) in input order, computed on the
            device the judge was made for.
        """
        ...

    def close(self) -> None:
        """Release worker processes or device memory (a judge without any does nothing)."""
        ...
