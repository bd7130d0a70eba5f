"""The ``facenet`` judge: FaceNet (Inception-ResNet-v1, facenet-pytorch's VGGFace2 weights) with SF2F's
preprocessing — the judge of the field's de facto evaluation (Bai et al., "Speech Fusion to Face", ACM MM 2022;
BAI-Yeqi/SF2F_PyTorch, ``utils/s2f_evaluator.py``), which Vox2Face (2026) and others follow.

Preprocessing (``PREPROCESS_VERSION``), read from SF2F's code, in its order:

1. Resize to the evaluated resolution S × S (``image_size``; SF2F's ``data.image_size``: 64 for ``sf2f_fuser.yaml``,
   128 for ``sf2f_mid_fuser.yaml``): SF2F's ``VoxDataset`` loads every real face with torchvision's
   ``T.Resize((S, S))`` on a PIL image — ``PIL.Image.resize(BILINEAR)`` — and its generators output S × S. An
   image already S × S is left as it is, so a generator of SF2F's size is embedded from its exact pixels.
2. ``S2fEvaluator.deprocess_and_preprocess``: back to [0, 255] (SF2F's ``fast_imagenet_deprocess_batch``; here the
   uint8 pixels are that already) and ``fixed_image_standardization``: ``(x - 127.5) / 128``.
3. ``S2fEvaluator.crop_vgg_box`` (``eval.facenet.crop_faces: True`` in SF2F's configs): a fixed crop by the mean
   VGGFace box ``VGG_BOX = [0.235, 0.195, 0.765, 0.915]`` (left, top, right, bottom as fractions):
   rows ``int(0.195 S) … int(0.915 S)`` and columns ``int(0.235 S) … int(0.765 S)``, both ends included.
   **No face detection or alignment**: SF2F takes the dataset's face crops (HQ-VoxCeleb's aligned faces) and
   the generated images as they are; so does this judge, and ``Embeddings.aligned`` is True for every image
   (the ``detect`` protocol under this judge therefore reads 1.0 by construction — use another judge for it).
   facenet-pytorch's MTCNN is part of neither SF2F's evaluator nor this judge.
4. SF2F's ``InceptionResnetV1(auto_input_resize=True)``: ``nn.UpsamplingBilinear2d(size=(140, 140))``, i.e.
   bilinear interpolation with ``align_corners=True``, to 140 × 140 (not facenet-pytorch's 160: the crop is
   distorted to a square, as in SF2F).
5. The network (``benchmark.judges.facenet_net.InceptionResnetV1``, eval mode): 512-d, unit L2 norm
   (SF2F's ``return_pooling=False`` output).

The protocols that follow SF2F's scoring rule are ``retrieval-sf2f`` and ``feature-sf2f``; with this judge they
compute SF2F's Recall@K and L1/L2/cosine (tests/test_facenet.py checks them against a port of ``S2fEvaluator``).
The weights are found and checked by ``benchmark.judges.facenet_weights`` (never downloaded while scoring).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator, Sequence

import numpy as np

from benchmark.errors import BenchError
from benchmark.judges.base import Embeddings, JudgeInfo, cache_key_suffix, embed_cached
from benchmark.judges.cache import EmbeddingCache

VGG_BOX = (0.235, 0.195, 0.765, 0.915)
"""SF2F's mean VGGFace face box (left, top, right, bottom), ``utils/s2f_evaluator.py``."""
NET_INPUT = 140
"""SF2F's ``nn.UpsamplingBilinear2d(size=(140, 140))`` (``models/inception_resnet_v1.py``, ``auto_input_resize``)."""
SF2F_SIZES = (64, 128)
"""The resolutions SF2F evaluates (``options/vox/sf2f/sf2f_fuser.yaml`` and ``sf2f_mid_fuser.yaml``)."""
DEFAULT_BATCH_SIZE = 64
MIN_SIDE = 32
"""Smallest S accepted: the VGG box of a smaller image leaves too few rows for the network's stem."""


def preprocess_version(image_size: int) -> str:
    """The preprocessing name recorded in results and cache keys for resolution ``image_size``."""
    return f"sf2f-pil-bilinear{image_size}-vggbox-align-corners140-std127.5-v1"


def vgg_box_slices(size: int) -> tuple[slice, slice]:
    """Rows and columns of SF2F's ``crop_vgg_box`` on an S × S image: ``int(frac * S)``, both ends included."""
    left, top, right, bottom = VGG_BOX
    return slice(int(top * size), int(bottom * size) + 1), slice(int(left * size), int(right * size) + 1)


def resize_to(images: Sequence[np.ndarray], size: int) -> np.ndarray:
    """Step 1: uint8 ``[H, W, 3]`` RGB images (any sizes) to uint8 ``[N, S, S, 3]``; PIL bilinear (torchvision's
    ``T.Resize`` on PIL images), images already S × S unchanged.

    Raises:
        BenchError: an image that is not uint8 ``[H, W, 3]``.
    """
    from PIL import Image

    out = np.empty((len(images), size, size, 3), np.uint8)
    for i, im in enumerate(images):
        if im.dtype != np.uint8 or im.ndim != 3 or im.shape[2] != 3:
            raise BenchError(f"judge 'facenet' takes uint8 [H, W, 3] RGB images; got {im.dtype} {tuple(im.shape)}.")
        out[i] = im if im.shape[:2] == (size, size) else np.asarray(
            Image.fromarray(np.ascontiguousarray(im)).resize((size, size), Image.BILINEAR))
    return out


def network_input(batch, size: int):
    """Steps 2–4 on a batch: uint8 ``[B, S, S, 3]`` (numpy or torch, on any device) to the network's float32
    ``[B, 3, 140, 140]`` input, on the batch's device."""
    import torch
    import torch.nn.functional as F

    x = torch.as_tensor(batch).permute(0, 3, 1, 2).float()  # [B, 3, S, S], 0-255
    x = (x - 127.5) / 128.0  # fixed_image_standardization
    rows, cols = vgg_box_slices(size)
    x = x[:, :, rows, cols]  # crop_vgg_box
    return F.interpolate(x, size=(NET_INPUT, NET_INPUT), mode="bilinear", align_corners=True)


@contextmanager
def _ieee_fp32(device) -> Iterator[None]:
    """On CUDA, IEEE float32 convolutions and matmuls (torch's default for cuDNN convolutions is TF32, whose 10-bit
    mantissa would move embeddings away from the CPU's); elsewhere a no-op. Uses torch's ``fp32_precision`` settings
    (``torch.backends.cudnn.conv``, ``torch.backends.cuda.matmul``), as ``benchmark.judges.dlib_torch`` does."""
    import torch

    if torch.device(device).type != "cuda":
        yield
        return
    settings = [s for s in (getattr(torch.backends.cudnn, "conv", None), getattr(torch.backends.cuda, "matmul", None))
                if s is not None and hasattr(s, "fp32_precision")]
    old = [s.fp32_precision for s in settings]
    for s in settings:
        s.fp32_precision = "ieee"
    try:
        yield
    finally:
        for s, value in zip(settings, old):
            s.fp32_precision = value


class FaceNetJudge:
    """FaceNet embeddings with SF2F's preprocessing (module docstring), batched on any torch device.

    Args:
        cache: where embeddings are kept across runs; None keeps nothing.
        device: torch device ("cpu", "cuda", "cuda:1", …).
        batch_size: images per forward pass (default 64); embeddings never depend on it beyond float rounding.
        weights: facenet-pytorch's ``20180402-114759-vggface2.pt``; default: ``$VOICE2FACE_FACENET_WEIGHTS``, then
            facenet-pytorch's and the suite's caches (``benchmark.judges.facenet_weights``).
        sha256: the digest the weights must have (default ``$VOICE2FACE_FACENET_SHA256``, then the pinned one).
        image_size: S, the resolution SF2F evaluates at (64 or 128; any value ≥ 32 is accepted).

    Raises:
        BenchError: no weights file (the message names the three ways to provide one), a file with another
            sha256, or one that is not facenet-pytorch's layout; a bad ``batch_size`` or ``image_size``.
    """

    name = "facenet-vggface2-20180402"
    """The judge id (``info.id``)."""
    registry_name = "facenet"
    image_size = 64

    def __init__(self, cache: EmbeddingCache | None = None, device: str = "cpu", batch_size: int | None = None,
                 weights: str | os.PathLike[str] | None = None, sha256: str | None = None,
                 image_size: int | None = None):
        import torch

        from benchmark.judges.facenet_weights import find_weights, load_facenet

        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
            raise BenchError(f"judge batch_size must be a positive integer or None, not {batch_size!r}.")
        size = self.image_size if image_size is None else image_size
        if not isinstance(size, int) or size < MIN_SIDE:
            raise BenchError(f"judge 'facenet': image_size must be an integer >= {MIN_SIDE} (SF2F: 64 or 128), "
                             f"got {size!r}.")
        self.image_size = size
        self.device = str(device)
        self.weights_path = find_weights(weights, self.registry_name)
        self.model, digest = load_facenet(self.weights_path, sha256, self.device)
        self.cache = cache or EmbeddingCache(None)
        self.batch_size = batch_size or DEFAULT_BATCH_SIZE
        from benchmark.judges.facenet_net import EMBED_DIM

        self.dim = EMBED_DIM
        self.info = JudgeInfo(
            id=self.name,
            weights_sha256=digest,
            preprocess_version=preprocess_version(size),
            embedding_dim=EMBED_DIM,
            library=(f"torch {torch.__version__} (Inception-ResNet-v1 of this suite, facenet-pytorch 2.6.0 state-dict "
                     f"layout; SF2F's crop and resize), Pillow (bilinear resize to {size})"),
        )
        from PIL import __version__ as pil_version

        self._key_suffix = cache_key_suffix(self.info, f"torch-{torch.__version__}", f"pillow-{pil_version}")

    def embeddings(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """Embed without the cache: float32 ``[N, 512]`` unit-norm FaceNet embeddings of uint8 ``[H, W, 3]`` RGB
        images, ``batch_size`` at a time on the judge's device."""
        out = [vectors for vectors, _ in self._batches(list(images))]
        return np.concatenate(out) if out else np.zeros((0, self.dim), np.float32)

    def _batches(self, images: list[np.ndarray]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        import torch

        for start in range(0, len(images), self.batch_size):
            chunk = resize_to(images[start:start + self.batch_size], self.image_size)  # [b, S, S, 3] (CPU, PIL)
            x = network_input(torch.from_numpy(chunk).to(self.device), self.image_size)  # [b, 3, 140, 140]
            with torch.inference_mode(), _ieee_fp32(self.device):
                vectors = self.model(x).float().cpu().numpy()  # [b, 512]
            yield vectors, np.ones(len(vectors), dtype=bool)

    def embed(self, images: Sequence[np.ndarray], progress: str | None = None) -> Embeddings:
        """Embed N uint8 ``[H, W, 3]`` RGB images (any sizes, none blank), using and filling the cache.

        Returns:
            ``Embeddings``: vectors float32 ``[N, 512]`` (unit norm), aligned bool ``[N]`` — all True: SF2F's
            pipeline has no detector (module docstring, step 3).
        """
        return embed_cached(images, self._key_suffix, self.cache, self.dim, self._batches, progress)

    def close(self) -> None:
        """Nothing to release (the module is freed with the judge)."""


class FaceNet128Judge(FaceNetJudge):
    """``FaceNetJudge`` at SF2F's 128 × 128 setting (``sf2f_mid_fuser.yaml``): registry name ``facenet-128``."""

    registry_name = "facenet-128"
    image_size = 128
