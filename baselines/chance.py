"""Chance references: the mean face and a random face, both from training identities only.

* ``mean-face``: the per-pixel mean of all non-blank training faces (every source), each centre-cropped and
  resized to ``image_size`` first; one image for every voice, so it carries no information about the voice.
* ``random-face``: for each utterance, the first non-blank training face in the order drawn by ``utterance_seed(seed, utterance)``.
Both learn only from ``benchmark.data.heldout.training_faces`` (declared as ``HOLDOUT_RULE``). Expected 1:2
matching accuracy of both is 0.5.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from baselines.common import first_nonblank, pool_flag, seeded_order, training_faces
from benchmark.errors import BenchError
from benchmark.data.images import is_blank
from benchmark.generators.base import GeneratorContext, GeneratorMeta, utterance_seed
from benchmark.data.heldout import HOLDOUT_RULE
from benchmark.data.images import square_resize, to_chw_tensor


class MeanFaceGenerator:
    """Chance reference: the pixel mean of training faces. ``image_size``: output side (default 128)."""

    def __init__(self, ctx: GeneratorContext, image_size: int = 128):
        self.image_size = int(image_size)
        acc = np.zeros((self.image_size, self.image_size, 3), dtype=np.float64)  # [S, S, 3]
        used = 0
        pool = training_faces(ctx)
        flag = pool_flag(ctx, pool, "mean-face")
        for face in pool:
            image = ctx.load_face(face)
            if not is_blank(image):
                acc += square_resize(image, self.image_size)
                used += 1
        if used == 0:
            raise BenchError(f"mean-face: every training face of {ctx.manifest.dataset_id!r} is blank.")
        self.face = np.clip(np.rint(acc / used), 0, 255).astype(np.uint8)  # [S, S, 3]
        self.meta = GeneratorMeta(
            name="mean-face", image_size=self.image_size, reference="chance",
            training_datasets=(ctx.manifest.dataset_id,), holdout_rule=HOLDOUT_RULE,
            citation="reference: per-pixel mean of the training faces",
            notes=(f"{flag}; " if flag else "") + f"mean of {used} non-blank training faces",
        )

    def generate(self, waveforms: torch.Tensor, lengths: torch.Tensor, utterance_ids: Sequence[str]) -> torch.Tensor:
        """Return the mean face, uint8 ``[B, 3, S, S]``, for every voice."""
        return to_chw_tensor([self.face] * len(utterance_ids))


class RandomFaceGenerator:
    """Chance reference: a random training face per utterance. ``image_size``: output side (default 128)."""

    def __init__(self, ctx: GeneratorContext, image_size: int = 128):
        self.ctx = ctx
        self.image_size = int(image_size)
        self.faces = training_faces(ctx)
        self.meta = GeneratorMeta(
            name="random-face", image_size=self.image_size, reference="chance",
            training_datasets=(ctx.manifest.dataset_id,), holdout_rule=HOLDOUT_RULE,
            citation="reference: a training face drawn at random per utterance",
            notes=pool_flag(ctx, self.faces, "random-face"),
        )

    def generate(self, waveforms: torch.Tensor, lengths: torch.Tensor, utterance_ids: Sequence[str]) -> torch.Tensor:
        """Return uint8 ``[B, 3, S, S]``: for each utterance, the training face picked by its seed."""
        out = []
        for utt in utterance_ids:
            image = first_nonblank(self.ctx, seeded_order(self.faces, utterance_seed(self.ctx.seed, utt)))
            if image is None:
                raise BenchError(f"random-face: every training face of {self.ctx.manifest.dataset_id!r} is blank.")
            out.append(square_resize(image, self.image_size))
        return to_chw_tensor(out)
