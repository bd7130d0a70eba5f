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


DEGENERATE_POOL = "DEGENERATE TRAINING POOL"
"""The words that open a reference's ``GeneratorMeta.notes`` when its training pool is degenerate (``pool_flag``): a
leaderboard flags such a row by them."""


def pool_flag(ctx: GeneratorContext, faces: Iterable[Face], who: str) -> str:
    """The flag of a degenerate training pool for a reference that shows training faces, or "".

    A pool of one identity makes ``random-face``, ``mean-face`` and ``nearest-voice`` show that one person for every
    voice; a pool of one gender (or with no gender labels) makes every gender-stratified comparison lean on it. Such a
    reference still runs (the stored vox1-mini rows have one training identity), flagged in its result's
    ``generator.notes`` and on the console, as ``voice-gender`` refuses outright (it cannot fit a classifier).

    Args:
        ctx: the generator context (its manifest gives the identities' genders).
        faces: the training faces the reference draws from.
        who: the reference's name, for the message.

    Returns:
        "" for a pool of two or more identities of both genders; else ``"DEGENERATE TRAINING POOL: ..."``.
    """
    ids = sorted({f.identity for f in faces})
    genders = sorted({ctx.manifest.identity(i).gender for i in ids} - {""})
    problems = []
    if len(ids) < 2:
        problems.append(f"{len(ids)} identity ({', '.join(ids)})")
    if len(genders) < 2:
        problems.append(f"one gender only ({genders[0]})" if genders else "no gender labels")
    if not problems:
        return ""
    flag = (f"{DEGENERATE_POOL}: the training split of {ctx.manifest.dataset_id!r} has {' and '.join(problems)}; "
            f"{who} shows only that for every voice, so its numbers are no general chance level")
    from benchmark.log import stage

    stage(f"WARNING: {flag}")
    return flag


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
