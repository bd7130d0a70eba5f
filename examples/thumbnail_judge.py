"""A tiny example judge for voice2face-bench: docs/ADDING_A_JUDGE.md walks through it.

A face's embedding is its 8 x 8 greyscale thumbnail (64 numbers, centred). It shows the interface, not a face
model: it measures how alike two pictures look, not who is in them.
"""

import numpy as np
import PIL
from PIL import Image

from benchmark.errors import BenchError
from benchmark.judges.base import Embeddings, JudgeInfo, cache_key_suffix, embed_cached
from benchmark.judges.cache import EmbeddingCache


class ThumbnailJudge:
    """N uint8 [H, W, 3] RGB images in, float32 [N, 64] embeddings out (``benchmark.judges.base.Judge``)."""

    def __init__(self, cache=None, device: str = "cpu", batch_size: int | None = None):
        if device != "cpu":
            raise BenchError(f"judge thumbnail runs on the CPU only, not {device!r}; use --judge-device cpu")
        self.cache = cache if cache is not None else EmbeddingCache(None)  # None: keep nothing
        self.batch_size = batch_size or 256
        self.info = JudgeInfo(id="thumbnail-8x8-v1", weights_sha256="none (no weights)",
                              preprocess_version="grey-bilinear-8x8-centred-v1", embedding_dim=64,
                              library=f"pillow-{PIL.__version__}")

    def embed(self, images, progress=None) -> Embeddings:
        """Embeddings of the images, from the cache where they are there (keyed by image bytes and ``info``)."""
        suffix = cache_key_suffix(self.info, f"pillow-{PIL.__version__}")
        return embed_cached(images, suffix, self.cache, self.info.embedding_dim, self._compute, progress)

    def _compute(self, images):
        """Yield (vectors float32 [b, 64], found bool [b]) batch by batch; every image counts as found."""
        for start in range(0, len(images), self.batch_size):
            batch = images[start:start + self.batch_size]
            thumbs = [np.asarray(Image.fromarray(im).convert("L").resize((8, 8), Image.BILINEAR), np.float32)
                      for im in batch]
            vectors = np.stack([t.ravel() / 255.0 - 0.5 for t in thumbs])  # [b, 64] in [-0.5, 0.5]
            yield vectors, np.ones(len(batch), dtype=bool)

    def close(self) -> None:
        """Nothing to release (no worker processes, no device memory)."""
