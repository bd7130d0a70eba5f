"""A hook for FID/KID in Inception-v3's space: a judge that embeds images with a *user-supplied* TorchScript
Inception file, sha256-checked. Nothing is downloaded, and the suite ships no Inception weights (none are in a
package it can depend on cleanly).

The file is the one clean-fid (``cleanfid/inception_torchscript.py``) and StyleGAN2-ADA / StyleGAN3
(``metrics/frechet_inception_distance.py``) load: ``inception-2015-12-05.pt``, NVIDIA's TorchScript translation of
TensorFlow's 2015-12-05 Inception graph (published at
``https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/inception-2015-12-05.pt``). Neither of
those sources nor torch-fidelity publishes a sha256 of that file (searched: clean-fid's ``downloads_helper.py`` and
``inception_torchscript.py``, StyleGAN2-ADA/StyleGAN3 metric code, MMGeneration/MMagic loaders), and this suite will
not invent one: **the user passes the expected sha256** (``sha256=`` or ``$VOICE2FACE_INCEPTION_SHA256``), the file
is refused unless its digest matches, and the digest is the judge's ``info.weights_sha256`` — recorded in every
result, part of every cache key — so two results agree on the network only if they name the same digest.

Preprocessing (``PREPROCESS_VERSION``), StyleGAN2-ADA's: the uint8 ``[N, 3, H, W]`` RGB image is given to the
TorchScript module as is, ``module(images, return_features=True)``; the module resizes to 299 × 299 and normalises
inside and returns the 2048-d pool features. No face detection: ``aligned`` is True for every image. (clean-fid's
"clean" mode instead resizes with PIL bicubic outside the network: another preprocessing, another version string.)

Use: ``InceptionJudge(path=..., sha256=...)``, or with the environment variables ``VOICE2FACE_INCEPTION_PT`` (the
file) and ``VOICE2FACE_INCEPTION_SHA256`` (its expected digest) through the judge registry, where it can be added as
``"inception": "benchmark.judges.inception:InceptionJudge"`` (``benchmark.judges.JUDGES``, or the entry-point group
``voice2face_bench.judges``); then ``bench run --protocol realism --judge inception`` reports FD and KID in
Inception's space (the ``realism`` protocol's FD is then FID as Heusel et al. define it, at this suite's N).
"""

from __future__ import annotations

import os
import re
from typing import Iterator, Sequence

import numpy as np
import torch

from benchmark.judges.cache import EmbeddingCache
from benchmark.errors import BenchError
from benchmark.judges.base import Embeddings, JudgeInfo, cache_key_suffix, check_model_file, embed_cached

FILE_NAME = "inception-2015-12-05.pt"
"""The file clean-fid and StyleGAN2-ADA load (module docstring)."""
PATH_ENV = "VOICE2FACE_INCEPTION_PT"
SHA256_ENV = "VOICE2FACE_INCEPTION_SHA256"
PREPROCESS_VERSION = "uint8-nchw-torchscript-internal-resize-299-v1"
EMBED_DIM = 2048
_FIX = (f"Pass the TorchScript Inception file ({FILE_NAME}, as clean-fid and StyleGAN2-ADA use it) and its expected "
        f"sha256: InceptionJudge(path=..., sha256=...) or ${PATH_ENV} and ${SHA256_ENV}.")


def load_inception(path: str | os.PathLike[str], sha256: str, device: str = "cpu") -> tuple[torch.jit.ScriptModule, str]:
    """Load a user-supplied TorchScript Inception file after checking its sha256.

    Args:
        path: the ``.pt`` file.
        sha256: the expected sha256 (64 hex digits; case-insensitive) — required: no published digest exists
            (module docstring).
        device: where the module is loaded (``torch.jit.load(map_location=device)``).

    Returns:
        ``(module, sha256)``: the module in eval mode and the file's (verified) digest, lowercase.

    Raises:
        BenchError: no digest given or not 64 hex digits; the file missing or unreadable; its sha256 differs (the
            message names the file and both digests); or the file is not a TorchScript archive.
    """
    if not sha256 or not re.fullmatch(r"[0-9a-fA-F]{64}", str(sha256).strip()):
        raise BenchError(f"Inception file {path}: an expected sha256 (64 hex digits) is required, got {sha256!r}; no "
                         f"digest of {FILE_NAME} is published, so the suite cannot check it for you. {_FIX}")
    digest = check_model_file(path, str(sha256).strip().lower(), "Inception TorchScript file", _FIX)
    try:
        module = torch.jit.load(os.fspath(path), map_location=device).eval()
    except (RuntimeError, ValueError) as exc:
        raise BenchError(f"Inception file {path} (sha256 {digest}) is not a TorchScript archive torch "
                         f"{torch.__version__} can load: {exc}. {_FIX}") from None
    return module, digest


class InceptionJudge:
    """Inception-v3 pool features of whole images from a user-supplied TorchScript file (module docstring).

    Args:
        cache: where features are kept across runs (keyed by image, file digest, preprocessing, torch version).
        device: torch device for the network.
        batch_size: images per forward pass (default 64); features never depend on it.
        path: the TorchScript file (default ``$VOICE2FACE_INCEPTION_PT``).
        sha256: its expected sha256 (default ``$VOICE2FACE_INCEPTION_SHA256``).

    Raises:
        BenchError: no file or digest given, or as ``load_inception``.
    """

    name = "inception-2015-12-05"
    """The judge id (``info.id``)."""

    def __init__(self, cache: EmbeddingCache | None = None, *, device: str = "cpu", batch_size: int | None = None,
                 path: str | os.PathLike[str] | None = None, sha256: str | None = None):
        path = path if path is not None else os.environ.get(PATH_ENV)
        sha256 = sha256 if sha256 is not None else os.environ.get(SHA256_ENV)
        if not path:
            raise BenchError(f"judge {self.name!r}: no Inception file given. {_FIX}")
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
            raise BenchError(f"judge batch_size must be a positive integer or None, not {batch_size!r}.")
        self.device = str(device)
        self.module, digest = load_inception(path, sha256 or "", self.device)
        self.cache = cache or EmbeddingCache(None)
        self.batch_size = batch_size or 64
        self.info = JudgeInfo(id=self.name, weights_sha256=digest, preprocess_version=PREPROCESS_VERSION,
                              embedding_dim=EMBED_DIM, library=f"torch {torch.__version__} (torch.jit.load)")
        self._key_suffix = cache_key_suffix(self.info, f"torch-{torch.__version__}")

    def _batches(self, images: list[np.ndarray]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for start in range(0, len(images), self.batch_size):
            for im in images[start:start + self.batch_size]:
                if im.dtype != np.uint8 or im.ndim != 3 or im.shape[2] != 3:
                    raise BenchError(f"judge {self.name!r} takes uint8 [H, W, 3] RGB images; got {im.dtype} "
                                     f"{tuple(im.shape)}.")
            feats = []
            for im in images[start:start + self.batch_size]:  # sizes may differ: one image per call then
                x = torch.from_numpy(np.ascontiguousarray(im.transpose(2, 0, 1))).unsqueeze(0).to(self.device)
                with torch.no_grad():
                    feats.append(self.module(x, return_features=True).reshape(1, -1).float().cpu())
            out = torch.cat(feats).numpy()  # [b, 2048]
            if out.shape[1] != EMBED_DIM:
                raise BenchError(f"the Inception file gave {out.shape[1]} features per image, expected {EMBED_DIM}: "
                                 f"it is not {FILE_NAME}.")
            yield out, np.ones(len(out), dtype=bool)

    def embed(self, images: Sequence[np.ndarray], progress: str | None = None) -> Embeddings:
        """Inception pool features of N uint8 ``[H, W, 3]`` RGB images: ``Embeddings`` (float32 ``[N, 2048]``,
        aligned all True), using and filling the cache."""
        return embed_cached(images, self._key_suffix, self.cache, EMBED_DIM, self._batches, progress)

    def close(self) -> None:
        """Nothing to release."""
