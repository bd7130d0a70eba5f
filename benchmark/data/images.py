"""Face image I/O: any image file to uint8 RGB, and the blank-image test.

Conversion (Pillow): the EXIF orientation tag is applied first (``PIL.ImageOps.exif_transpose``: the image as
viewers show it upright); 16-bit and 32-bit integer greyscale (modes ``I;16``, ``I;16B``, ``I;16L``, ``I``: a
16-bit PNG) is scaled to 8 bits (``round(v / 257)``, 65535 -> 255), never clipped; greyscale and palette images are
expanded to RGB; RGBA / LA images are composited onto white before the alpha channel is dropped. A file with more
than one frame (an animated PNG or GIF, a multi-page TIFF) is refused, and so is one with more than
``MAX_FACE_PIXELS`` pixels, read from the header before anything is decoded. None of this moves an ordinary 8-bit
RGB file: every face of the vox1-mini and vox1-s2f samples decodes to the same bytes as before these rules.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from benchmark.errors import DataError

BLANK_STD = 2.0
"""An image is blank (constant) when, in every channel, the standard deviation of its pixel values over the
image plane is below this (uint8 units): it has no spatial variation, whatever its colour — the white
placeholders of the public VGGFace copy, a solid (122, 79, 60) placeholder, an all-black failed output.
Blank images are never embedded: real ones are excluded and counted, generated ones are failed faces."""


MAX_FACE_PIXELS = 4096 * 4096
"""Most pixels (H × W) a face image file may have: 16.8 M, 48 MiB as uint8 RGB. Faces are small (generators
write 64-256 px, the largest face of the real samples is 153,000 px); the limit refuses a decompression bomb (a
12000 × 12000 PNG drove memory to 7.9 GB) from its header, before decoding."""

HIGH_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")
"""Pillow modes of 16-bit (and 32-bit integer) greyscale, scaled to 8 bits by ``to_rgb_array``."""


def to_rgb_array(img) -> np.ndarray:
    """Convert a ``PIL.Image`` of any mode to a uint8 ``[H, W, 3]`` RGB array (see module docstring).

    16-bit greyscale (``HIGH_BIT_MODES``) is scaled, ``round(v / 257)`` of ``v`` clipped to [0, 65535] (257 =
    65535 / 255: the full 16-bit range onto the full 8-bit range); other modes go through Pillow's ``convert``.

    Raises:
        DataError: a floating-point image (mode ``F``: its value range is not stated by the file).
    """
    from PIL import Image

    if img.mode == "F":
        raise DataError("a floating-point (mode F) image has no stated value range; save faces as 8-bit RGB PNG.")
    if img.mode in HIGH_BIT_MODES:
        wide = np.clip(np.asarray(img, dtype=np.float64), 0, 65535)
        grey = np.rint(wide / 257.0).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()


def load_image(path: str | os.PathLike[str], max_pixels: int = MAX_FACE_PIXELS) -> np.ndarray:
    """Read an image file as uint8 RGB.

    Args:
        path: the image file (any format Pillow reads).
        max_pixels: most pixels (H × W) accepted, checked from the header before decoding (``MAX_FACE_PIXELS``).

    Returns:
        uint8 array ``[H, W, 3]``, RGB, upright per the file's EXIF orientation (module docstring).

    Raises:
        DataError: the file is missing, truncated or not an image, has more than one frame, or more than
            ``max_pixels`` pixels; the message names the file.
    """
    from PIL import Image, ImageOps

    path = Path(path)
    try:
        with Image.open(path) as img:
            width, height = img.size
            if width * height > max_pixels:
                raise DataError(f"image file {path} is {width}×{height} px ({width * height:,} pixels), more than "
                                f"the {max_pixels:,} a face may have (benchmark.data.images.MAX_FACE_PIXELS); "
                                "save faces at the generator's size (a few hundred pixels a side).")
            frames = getattr(img, "n_frames", 1)
            if frames > 1:
                raise DataError(f"image file {path} has {frames} frames (an animation or multi-page file); a face "
                                "is one still image: save the frame you mean as a PNG.")
            img.load()
            return to_rgb_array(ImageOps.exif_transpose(img))
    except DataError as exc:
        if str(path) in str(exc):
            raise
        raise DataError(f"image file {path}: {exc}") from None
    except Exception as exc:
        raise DataError(
            f"cannot read image file {path}: {exc}. Replace it with the original or remove it from the dataset."
        ) from exc


MIN_FACE_SIDE = 32
"""The judge needs images at least this many pixels on each side. One rule for every face, with the
consequence falling on whoever can fix it: a *generated* face smaller than this is an error
(``benchmark.generators.base.check_faces``: the generator's to fix); a submitted image smaller is unreadable
(``benchmark.engine.submission``); a *real* face smaller is excluded from scoring and counted, as blank ones are
(``benchmark.engine.embed.embed_real_faces``: the dataset's, listed in the result's ``inputs``)."""


def too_small(image: np.ndarray) -> bool:
    """True when a ``[H, W, ...]`` image is smaller than ``MIN_FACE_SIDE`` on either side."""
    return min(int(image.shape[0]), int(image.shape[1])) < MIN_FACE_SIDE


def is_blank(image: np.ndarray) -> bool:
    """Return True when a uint8 ``[H, W, C]`` (or ``[H, W]``) image has no spatial variation in any channel.

    The spatial standard deviation is taken per channel (over H and W); the image is blank when the largest
    of them is below ``BLANK_STD``. A solid colour is blank however different its channels are (the channel-
    mixing std of version 1 of this rule called a solid (122, 79, 60) image a face).
    """
    arr = np.asarray(image, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return float(arr.reshape(-1, arr.shape[-1]).std(axis=0).max()) < BLANK_STD


def image_digest(image: np.ndarray) -> str:
    """sha256 hex digest of a uint8 ``[H, W, 3]`` image's shape and pixel bytes (the cache's content key).

    Two files that decode to the same pixels (a PNG and the in-memory tensor it was written from) share a key.
    """
    image = np.ascontiguousarray(image, dtype=np.uint8)
    h = hashlib.sha256(repr(image.shape).encode())
    h.update(image.tobytes())
    return h.hexdigest()


def square_resize(image: np.ndarray, size: int) -> np.ndarray:
    """Centre-crop a uint8 ``[H, W, 3]`` image to a square and resize it to ``[size, size, 3]`` (Pillow bicubic)."""
    from PIL import Image

    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = Image.fromarray(np.ascontiguousarray(image[top:top + side, left:left + side]))
    return np.asarray(crop.resize((size, size), Image.BICUBIC), dtype=np.uint8)


def to_chw_tensor(images: list[np.ndarray]):
    """Stack uint8 ``[H, W, 3]`` images of one size into a uint8 torch tensor ``[B, 3, H, W]``."""
    import torch

    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()


def to_hwc_arrays(faces) -> list[np.ndarray]:
    """Split a uint8 torch tensor ``[B, 3, H, W]`` into B uint8 numpy arrays ``[H, W, 3]``."""
    return list(faces.permute(0, 2, 3, 1).contiguous().numpy())
