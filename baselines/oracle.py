"""The oracle: the ceiling reference. It returns a real face of the speaker.

For each utterance it returns a real face of the speaker drawn (by ``utterance_seed``) from the speaker's
non-blank faces of a source *other than* the protocol's gallery source — on VoxCeleb1 + VGGFace, a VoxCeleb1
face-track frame, while trials show VGGFace1 crops — so it is never the trial's own true face. Where the gallery *is* the only face source (vox1-s2f: the VoxCeleb1
crop of each clip), it returns the crop of the probe's own clip, which the true-face rule
(``benchmark.trials.builders.TRUE_FACE_RULE``) never shows as that probe's true face when the speaker has another face;
speakers with a single face are left out of the oracle's rows by the engine (``SHOWS_PROBE_CLIP_FACE``,
``benchmark.trials.builders.drop_single_face_identities``), counted in the result. The face is
centre-cropped to a square and resized to ``image_size``. It reads test identities' faces, which no real
generator may do: it measures what the judge and protocol allow, not a method. It learns nothing, so it
declares ``HOLDOUT_RULE`` (nothing of a held-out video reaches any training).
"""

from __future__ import annotations

from typing import Sequence

import torch

from baselines.common import first_nonblank, identity_of, seeded_order
from benchmark.errors import BenchError
from benchmark.generators.base import GeneratorContext, GeneratorMeta, utterance_seed
from benchmark.data.heldout import HOLDOUT_RULE
from benchmark.data.images import square_resize, to_chw_tensor


class OracleGenerator:
    """Ceiling reference (module docstring). ``image_size``: output side in pixels (default 224)."""

    SHOWS_PROBE_CLIP_FACE = True
    """On a VoxCeleb1-crop gallery it shows the probe clip's own crop; the engine drops single-face speakers."""

    def __init__(self, ctx: GeneratorContext, image_size: int = 224):
        self.ctx = ctx
        self.image_size = int(image_size)
        self.meta = GeneratorMeta(
            name="oracle", image_size=self.image_size, reference="ceiling",
            training_datasets=(ctx.manifest.dataset_id,), holdout_rule=HOLDOUT_RULE,
            citation=("reference: the face crop of the probe's own clip (VoxCeleb1-crop gallery: never the trial's "
                      "true face; speakers with one face excluded, counted)" if ctx.gallery_source == "voxceleb"
                      else "reference: a real face of the speaker from another source than the gallery"),
        )

    def generate(self, waveforms: torch.Tensor, lengths: torch.Tensor, utterance_ids: Sequence[str]) -> torch.Tensor:
        """Return uint8 ``[B, 3, S, S]`` real faces of each utterance's speaker (``S = image_size``).

        Raises:
            BenchError: a speaker has no non-blank face outside the gallery source (e.g. a VoxCeleb1 copy
                without ``voxceleb1/faces``), nor, on a VoxCeleb1 gallery, a non-blank crop of the probe's own clip;
                the message names the identity.
        """
        out = []
        for utt in utterance_ids:
            speaker = identity_of(utt)
            pool = [f for f in self.ctx.manifest.faces_of(speaker) if f.source != self.ctx.gallery_source]
            if not pool and self.ctx.gallery_source == "voxceleb":  # vox1-s2f: the crop of the probe's own clip
                pool = [f for f in self.ctx.manifest.faces_of(speaker, "voxceleb") if f.id == "voxceleb/" + utt]
            image = first_nonblank(self.ctx, seeded_order(pool, utterance_seed(self.ctx.seed, utt)))
            if image is None:
                raise BenchError(
                    f"oracle: identity {speaker} has no non-blank face outside the gallery source "
                    f"{self.ctx.gallery_source!r}; add VoxCeleb1 face frames under voxceleb1/faces/{speaker}/."
                )
            out.append(square_resize(image, self.image_size))
        return to_chw_tensor(out)
