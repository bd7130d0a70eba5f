"""dlib's 5-point face chips in torch: ``dlib.get_face_chip(img, shape, size=150, padding=0.25)`` for a batch of
images, on any device (``face_chip_details``, ``extract_face_chips``).

Sources: ``dlib/image_transforms/interpolation.h`` (``get_face_chip_details``, ``chip_details``' constructor,
``extract_image_chips``) and ``image_pyramid.h`` (``pyramid_down<2>``).

Conventions kept from dlib: the similarity transform (Umeyama, ``find_similarity_transform``) from the padded
5-point mean face to the landmarks gives an angle and a rectangle (``centered_drect`` of side ``150 * scale``); the
chip's corners map to that rectangle's rotated corners; pixels are sampled bilinearly in double precision and
*truncated* to uint8 (``assign_pixel``); a sample whose 2×2 neighbourhood leaves the image is black
(``interpolate_bilinear`` returns false, ``black_background``). When the rectangle is much larger than the chip
(``pyramid_down<2>::rect_down(rect).area() > 150*150``, i.e. a face more than about 300 px across) dlib first
builds an image pyramid of the cropped region with ``pyramid_down<2>`` (5-tap [1 4 6 4 1] filter, integer
arithmetic) and samples from the level where the rectangle fits; this is done here too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from benchmark.judges.dlib_models import CHIP_PADDING, CHIP_SIZE

MEAN_FACE_5 = np.array([
    [0.8595674595992, 0.2134981538014],
    [0.6460604764104, 0.2289674387677],
    [0.1205750620789, 0.2137274526848],
    [0.3340850613712, 0.2290642403242],
    [0.4901123135679, 0.6277975316475],
])
"""dlib's 5-point mean face in [0, 1] chip coordinates (x, y), in the order of ``shape_predictor_5_face_landmarks``
(``get_face_chip_details`` in ``dlib/image_transforms/interpolation.h``)."""


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
