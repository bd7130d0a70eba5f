"""Voice-only references: they need no generator training, only speaker embeddings and training faces.

* ``voice-gender``: a logistic regression (scikit-learn, L2, C = 1, lbfgs) on resemblyzer embeddings of every
  training voice predicts the speaker's gender; the output is the per-pixel mean of the training faces of the
  predicted gender (non-blank, every source, centre-cropped and resized to ``image_size``). It carries gender
  and nothing else, so it should beat chance on ``unstratified`` and sit at chance on ``stratified`` — the
  suite's proof that stratification removes gender (DIMNets-G in Wen et al. 2019, Table 3: 72.90 / 50.32).
* ``nearest-voice``: the training speaker whose speaker embedding (the unit-normalised mean of the speaker's
  utterance embeddings) has the highest cosine similarity with the probe's; the output is that speaker's
  first non-blank face (sorted by face id) of the protocol's gallery source, else of any source.

Both read only what ``benchmark.data.heldout`` allows: the training identities' utterances and faces outside the
videos that ``id-topk-seen`` holds out (both declare ``HOLDOUT_RULE``). Neither samples anything: a face depends on the waveform
alone. The face model they are "trained against" is none (pixels of training faces); ``weights_sha256`` is
the sha256 of resemblyzer's ``pretrained.pt``, the only weights they use.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from baselines.common import pool_flag, training_faces
from benchmark.errors import BenchError
from benchmark.generators.base import GeneratorContext, GeneratorMeta
from benchmark.data.heldout import HOLDOUT_RULE
from benchmark.data.images import is_blank, square_resize, to_chw_tensor


def _training_voices(ctx: GeneratorContext) -> tuple[list, list]:
    from benchmark.data.heldout import training_utterances

    train = {i.id: i for i in ctx.manifest.split("train")}
    utts = training_utterances(ctx.manifest)
    if not utts:
        raise BenchError(f"dataset {ctx.manifest.dataset_id!r} has no training voices (VGGFace1 names F–Z).")
    return utts, [train[u.identity] for u in utts]


class VoiceGenderGenerator:
    """``voice-gender`` (module docstring). ``image_size``: output side in pixels (default 128)."""

    def __init__(self, ctx: GeneratorContext, image_size: int = 128):
        from sklearn.linear_model import LogisticRegression

        from baselines.speaker import SpeakerEncoder, embed_files

        self.image_size = int(image_size)
        utts, owners = _training_voices(ctx)
        genders = sorted({o.gender for o in owners})
        if len(genders) < 2:
            count = len({o.id for o in owners})
            raise BenchError(
                f"voice-gender: the training split of {ctx.manifest.dataset_id!r} has voices of one gender only "
                f"({genders[0]}: {count} identit{'y' if count == 1 else 'ies'}); a gender classifier needs both. "
                "Score it on a dataset whose training identities (VGGFace1 names F–Z) include both genders.")
        self.encoder = SpeakerEncoder(device=ctx.device)
        x = embed_files(self.encoder, [u.path for u in utts]).astype(np.float64)  # [U, 256]
        y = np.array([o.gender == "f" for o in owners], dtype=np.int64)
        self.classifier = LogisticRegression(C=1.0, max_iter=2000).fit(x, y)
        train_gender = {i.id: i.gender for i in ctx.manifest.split("train")}
        acc = {g: np.zeros((self.image_size, self.image_size, 3)) for g in ("m", "f")}
        used = {"m": 0, "f": 0}
        for face in training_faces(ctx):
            image = ctx.load_face(face)
            if not is_blank(image):
                g = train_gender[face.identity]
                acc[g] += square_resize(image, self.image_size)
                used[g] += 1
        missing = [g for g in ("m", "f") if used[g] == 0]
        if missing:
            raise BenchError(f"voice-gender: no non-blank training face of gender {missing[0]!r} in "
                             f"{ctx.manifest.dataset_id!r}.")
        self.faces = {g: np.clip(np.rint(acc[g] / used[g]), 0, 255).astype(np.uint8) for g in acc}  # [S, S, 3]
        train_acc = float((self.classifier.predict(x) == y).mean())
        self.meta = GeneratorMeta(
            name="voice-gender", image_size=self.image_size, weights_sha256=self.encoder.weights_sha256,
            training_datasets=(ctx.manifest.dataset_id,), holdout_rule=HOLDOUT_RULE,
            citation="reference: voice gender (logistic regression on resemblyzer embeddings) -> mean training "
                     "face of that gender; cf. DIMNets-G, Wen, Singh, Raj, NeurIPS 2019, Table 3",
            notes=(f"face model: none (pixel means); speaker model: resemblyzer 0.1.4 GE2E; {len(utts)} training "
                   f"voices, training accuracy {train_acc:.3f}; mean of {used['m']} male / {used['f']} female faces"),
        )

    def predict_female(self, waveforms: torch.Tensor, lengths: torch.Tensor) -> np.ndarray:
        """bool ``[B]``: the classifier's "female" decision for each voice."""
        emb = self.encoder.embed(waveforms, lengths).numpy().astype(np.float64)
        return self.classifier.predict(emb).astype(bool)

    def generate(self, waveforms: torch.Tensor, lengths: torch.Tensor, utterance_ids: Sequence[str]) -> torch.Tensor:
        """uint8 ``[B, 3, S, S]``: the mean training face of each voice's predicted gender."""
        female = self.predict_female(waveforms, lengths)
        return to_chw_tensor([self.faces["f" if f else "m"] for f in female])


class NearestVoiceGenerator:
    """``nearest-voice`` (module docstring). ``image_size``: output side in pixels (default 128)."""

    def __init__(self, ctx: GeneratorContext, image_size: int = 128):
        from baselines.speaker import SpeakerEncoder, embed_files

        self.image_size = int(image_size)
        utts, owners = _training_voices(ctx)
        self.encoder = SpeakerEncoder(device=ctx.device)
        x = torch.from_numpy(embed_files(self.encoder, [u.path for u in utts]))  # [U, 256]
        self.speakers = sorted({o.id for o in owners})
        index = {s: k for k, s in enumerate(self.speakers)}
        labels = torch.tensor([index[o.id] for o in owners])
        sums = torch.zeros(len(self.speakers), x.shape[1]).index_add_(0, labels, x)
        self.centroids = torch.nn.functional.normalize(sums, dim=1)  # [K, 256]
        self.faces = []
        by_speaker: dict[str, list] = {}
        for face in training_faces(ctx):
            by_speaker.setdefault(face.identity, []).append(face)
        for speaker in self.speakers:
            pool = sorted(by_speaker.get(speaker, []), key=lambda f: (f.source != ctx.gallery_source, f.id))
            image = next((im for im in (ctx.load_face(f) for f in pool) if not is_blank(im)), None)
            if image is None:
                raise BenchError(f"nearest-voice: training identity {speaker} has no non-blank face.")
            self.faces.append(square_resize(image, self.image_size))
        flag = pool_flag(ctx, training_faces(ctx), "nearest-voice")
        self.meta = GeneratorMeta(
            name="nearest-voice", image_size=self.image_size, weights_sha256=self.encoder.weights_sha256,
            training_datasets=(ctx.manifest.dataset_id,), holdout_rule=HOLDOUT_RULE,
            citation="reference: the face of the nearest training speaker by resemblyzer speaker embedding",
            notes=(f"{flag}; " if flag else "")
            + (f"face model: none (a real training face); speaker model: resemblyzer 0.1.4 GE2E; "
                   f"{len(self.speakers)} training speakers, {len(utts)} voices"),
        )

    def nearest(self, waveforms: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """int64 ``[B]``: index into ``self.speakers`` of each voice's nearest training speaker."""
        emb = self.encoder.embed(waveforms, lengths)  # [B, 256], unit rows
        return (emb @ self.centroids.T).argmax(dim=1)

    def generate(self, waveforms: torch.Tensor, lengths: torch.Tensor, utterance_ids: Sequence[str]) -> torch.Tensor:
        """uint8 ``[B, 3, S, S]``: the face of each voice's nearest training speaker."""
        return to_chw_tensor([self.faces[k] for k in self.nearest(waveforms, lengths).tolist()])
