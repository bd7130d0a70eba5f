"""Aligned training faces for the face decoders (issue 24's ``face_align`` option of ``speech2face``).

Speech2Face's decoder (Cole et al., "Synthesizing Normalized Faces from Facial Identity Features", CVPR 2017) draws
*normalised* faces: frontal, eyes and mouth at fixed places. Its targets are aligned faces. The VoxCeleb crops are not
(head pose, scale and position vary), and a decoder regressing them from 192 faces learns a blur. ``aligned_faces``
cuts each training face as the judge locates it (``benchmark.judges.dlib_detect``: upscaling rule, HOG detector,
largest box or centre square, dlib's 5-point landmarks) and aligns it with ``dlib.get_face_chip`` (the judge's own
chip function; the judge uses padding 0.25 at 150 px). A padding of 0.6 keeps forehead, hair and chin, so that
the detector finds the drawn face again (at 64 px: the real validation+test faces cut so are all detected and all
read as their metadata gender; ``benchmarks/s2f_decoder_ceiling.py``).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def aligned_faces(images: Sequence[np.ndarray], size: int, padding: float) -> list[np.ndarray]:
    """dlib 5-point aligned chips of face images.

    Args:
        images: uint8 ``[H, W, 3]`` RGB images (any sizes, none blank).
        size: side of each chip in pixels.
        padding: ``dlib.get_face_chip``'s padding: the margin around the landmark template, as a fraction of the
            template's side (0.25 is the judge's; larger keeps more hair and chin).

    Returns:
        uint8 ``[size, size, 3]`` chips, in input order.

    Raises:
        ValueError: ``size`` < 8 or ``padding`` outside [0, 2].
    """
    import dlib

    from benchmark.judges.dlib_detect import Locator, face_box, upscale_small

    if size < 8 or not 0.0 <= padding <= 2.0:
        raise ValueError(f"aligned_faces: size must be at least 8 and padding in [0, 2]; got {size}, {padding}.")
    locator, chips = Locator(), []
    for image in images:
        img = np.ascontiguousarray(image, dtype=np.uint8)
        upscaled = upscale_small(img)
        img = img if upscaled is None else upscaled
        (top, right, bottom, left), _ = face_box(locator.detector, img)
        shape = locator.shape_predictor(img, dlib.rectangle(left, top, right, bottom))
        chips.append(np.asarray(dlib.get_face_chip(img, shape, size=size, padding=padding)))
    return chips
