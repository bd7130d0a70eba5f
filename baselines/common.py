"""Helpers shared by the reference generators."""

from __future__ import annotations

from typing import Iterable

import numpy as np

from benchmark.data.manifest import Face
from benchmark.errors import BenchError
from benchmark.generators.base import GeneratorContext
from benchmark.data.images import is_blank


def training_faces(ctx: GeneratorContext) -> list[Face]:
    """Faces (every source) a reference may learn from, sorted by id: ``benchmark.data.heldout.training_faces``
    (the training identities, without VoxCeleb1 frames of the videos ``id-topk-seen`` holds out).

    Raises:
        BenchError: the dataset has no training face.
    """
    from benchmark.data.heldout import training_faces as allowed

    faces = allowed(ctx.manifest)
    if not faces:
        raise BenchError(f"dataset {ctx.manifest.dataset_id!r} has no training face (VGGFace1 names F–Z).")
    return faces


def first_nonblank(ctx: GeneratorContext, faces: Iterable[Face]) -> np.ndarray | None:
    """The first of ``faces`` whose image is not blank, as uint8 ``[H, W, 3]``, or None if all are blank.

    Raises:
        DataError: an image cannot be read (the message names the file).
    """
    for face in faces:
        image = ctx.load_face(face)
        if not is_blank(image):
            return image
    return None


def seeded_order(items: list, seed: int) -> list:
    """``items`` rotated to start at ``seed % len(items)`` (a deterministic, seed-chosen visiting order)."""
    if not items:
        return []
    start = seed % len(items)
    return items[start:] + items[:start]


def identity_of(utterance_id: str) -> str:
    """The VoxCeleb1 ID of an utterance id ``<id>/<video>/<n>``."""
    return utterance_id.split("/", 1)[0]
