"""``speech2face``: Oh et al., "Speech2Face: Learning the face behind a voice", CVPR 2019.

Two networks, trained one after the other (the paper trains its decoder separately, on faces alone):

1. **Face decoder** (stage ``decoder``; ``baselines.nets.FaceDecoder``): a face feature -> a frontal face image.
   Trained on the training faces with an L1 loss on pixels in [-1, 1]. The paper's decoder (Cole et al. 2017)
   predicts landmarks and a texture; with no landmark annotations here it is a direct image decoder.
2. **Voice encoder** (stage ``encoder``; ``baselines.nets.S2FVoiceEncoder``, the paper's Table 1 layer plan on
   the shared 64-bin log mel front end instead of a complex spectrogram) regresses the face feature of the
   speaker: loss = mean |v/|v| − f/|f|| (L1 between unit-normalised features), where f is the speaker's
   face-feature centroid (the unit-normalised mean over the speaker's training faces; the paper paired each
   clip with a face from the same video).

**The face feature is the judge's own 128-d dlib embedding** (``benchmark.judges.dlib_bin``). The paper used VGG-Face
fc7 — the same network it then scored with — so the faithful analogue here is the judge: this baseline is
trained against the judge's embedding space, and its meta says so (``trained_against_judge=True``).

At test time: features of the whole recording -> encoder -> unit-normalised feature -> decoder -> image.
Choices where the paper is silent or does not apply: Adam lr 1e-3, betas (0.5, 0.999), eps 1e-4 for both
networks (the paper's encoder settings), batch 8 (the paper's), ``decoder_fraction`` of the steps (default
0.5) for the decoder, uniform sampling with replacement, 3–8 s training crops (the shared front end).
**Voice input** (``voice_input``, default ``"mel"``, the paper's design): ``"resemblyzer"`` is a small-data option
(issue 24): the encoder's convolutional trunk is replaced by resemblyzer's pretrained GE2E speaker embedding
(``baselines.speaker``; 256-d, its weights ship inside the wheel), and only the encoder's FC head (FC ``enc_fc`` ->
ReLU -> FC 128, the last two layers of the paper's Table 1) is trained, with the same loss, on the embedding of the
whole training utterance. It names itself in the checkpoint's config and in ``meta.revision``
(``step<N>-resemblyzer``). Why: on vox1-s2f's 95 training identities the log-mel trunk learns no gender (issue 24's
note), while a linear probe on the speaker embeddings does.
**Small-data options of the face decoder** (issue 24; each off by default, the paper's setting; each named in
``meta.revision`` by ``variant``): ``face_align`` (None: centre-square crops; a padding such as 0.6: the judge's dlib
5-point aligned chips, ``baselines.face_chips``, as Cole et al.'s decoder draws normalised faces), ``face_flip``
(mirror the target face with probability 1/2, its feature kept), ``decoder_mixup`` (alpha of mixup, Zhang et al.
2018: a face and its unit feature blended with another's, lam ~ Beta(alpha, alpha); 0: off), ``decoder_noise``
(sigma of Gaussian noise added to the unit feature before renormalising; 0: off), ``decoder_batch_size`` (None:
``batch_size``). Measured on vox1-s2f (``benchmarks/s2f_decoder_ceiling.py``): fed the true judge features of the
validation+test faces, the cpu preset's decoder draws faces whose gender the attribute judge reads right in 0.52-0.62
of cases (centre crops, 750-3000 steps); with ``face_align=0.6 face_flip=true decoder_mixup=1 decoder_noise=0.05
decoder_batch_size=32`` in 0.90-0.94 (1000-3000 steps).
The preset ``cpu-small-data`` is the ``cpu`` preset with all of these and ``voice_input="resemblyzer"`` (3500 steps:
2000 decoder steps at batch 32, then 1500 encoder steps).
Defaults are the paper's sizes; the ``cpu`` preset (``bench train --preset cpu``) narrows them (encoder widths
/ 8, FC 256, decoder FC 256, 2–3 s crops, batch 8) so that a run takes minutes on a CPU.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from torch import nn

from baselines.nets import FaceDecoder, S2FVoiceEncoder, to_unit_range
from baselines.trained import Recipe, TrainedGenerator
from benchmark.errors import BenchError
from benchmark.generators.base import GeneratorContext

def beta_sample(alpha: float, n: int, gen: torch.Generator) -> torch.Tensor:
    """float32 ``[n]`` draws of Beta(alpha, alpha), seeded from ``gen`` (numpy's sampler; torch's takes no generator)."""
    import numpy as np

    seed = int(torch.randint(0, 2 ** 62, (1,), generator=gen))
    return torch.from_numpy(np.random.default_rng(seed).beta(alpha, alpha, n).astype(np.float32))


def speaker_centroids(features: torch.Tensor, labels: torch.Tensor, k: int) -> torch.Tensor:
    """Unit-normalised mean of unit-normalised features per identity: ``[N, D]``, labels ``[N]`` -> ``[k, D]``."""
    unit = F.normalize(features, dim=1)
    sums = torch.zeros(k, unit.shape[1], dtype=unit.dtype).index_add_(0, labels, unit)
    return F.normalize(sums, dim=1)


class Speech2Face(Recipe):
    """Recipe of ``speech2face`` (module docstring)."""

    name = "speech2face"
    DEFAULTS = {
        "steps": 20000, "batch_size": 8, "lr": 1e-3, "betas": [0.5, 0.999], "eps": 1e-4, "image_size": 64,
        "enc_channels": [64, 64, 128, 128, 128, 256, 512, 512], "enc_fc": 4096,
        "dec_channels": None, "dec_fc": 1000, "crop_frames": [300, 800], "decoder_fraction": 0.5,
        "voice_input": "mel", "face_align": None, "face_flip": False, "decoder_mixup": 0.0, "decoder_noise": 0.0,
        "decoder_batch_size": None,
    }
    STAGES = (("decoder", "decoder_fraction"), ("encoder", None))
    _CPU = {"enc_channels": [8, 8, 16, 16, 16, 32, 64, 64], "enc_fc": 256, "dec_channels": [128, 64, 32, 16],
            "dec_fc": 256, "batch_size": 8, "crop_frames": [200, 300], "steps": 1500}
    PRESETS = {"cpu": _CPU,
               # issue 24's small-data recipe, as measured on vox1-s2f: 2000 decoder steps (batch 32), 1500 encoder steps
               "cpu-small-data": {**_CPU, "voice_input": "resemblyzer", "face_align": 0.6, "face_flip": True,
                                  "decoder_mixup": 1.0, "decoder_noise": 0.05, "decoder_batch_size": 32,
                                  "steps": 3500, "decoder_fraction": 2000 / 3500},
               # the paper's batch (8) and face size (224x224); it states no step count: the default 20000 is ours
               "paper": {"batch_size": 8, "image_size": 224, "steps": 20000}}
    FACE_MODEL = "the judge (dlib-resnet-v1 128-d embedding), as the paper used its scorer's VGG-Face features"
    TRAINED_AGAINST_JUDGE = True
    CITATION = "Oh, Dekel, Kim, Mosseri, Freeman, Rubinstein, Matusik, Speech2Face, CVPR 2019"

    @classmethod
    def needs(cls, config: dict) -> set[str]:
        return super().needs(config) | {"judge"}

    def __init__(self, config: dict, info: dict):
        super().__init__(config, info)
        c = config
        self.pretrained_voice = c.get("voice_input", "mel") == "resemblyzer"
        if self.pretrained_voice:  # the FC head of Table 1's encoder on a 256-d speaker embedding
            encoder = nn.Sequential(nn.Linear(256, c["enc_fc"]), nn.ReLU(), nn.Linear(c["enc_fc"], 128))
        else:
            encoder = S2FVoiceEncoder(c["enc_channels"], c["enc_fc"], 128, cbam=False)
        self.modules = {"decoder": FaceDecoder(128, c["image_size"], c["dec_channels"], c["dec_fc"]), "encoder": encoder}
        self._targets = None

    def make_optimizers(self) -> None:
        c = self.config
        self.optimizers = {k: torch.optim.Adam(m.parameters(), lr=c["lr"], betas=tuple(c["betas"]), eps=c["eps"])
                           for k, m in self.modules.items()}

    def step(self, stage: str, data, batch_size: int, gen: torch.Generator, device: str) -> dict:
        m, opt = self.modules, self.optimizers
        if stage == "decoder":
            feature, target = self.decoder_batch(data, int(self.config.get("decoder_batch_size") or batch_size), gen)
            feature, target = feature.to(device), target.to(device)
            m["decoder"].train()
            loss = F.l1_loss(m["decoder"](feature), target)
            opt["decoder"].zero_grad()
            loss.backward()
            opt["decoder"].step()
            return {"loss": loss.item(), "decoder_l1": loss.item()}
        if self._targets is None:
            self._targets = speaker_centroids(data.judge, data.face_label, data.n_identities)
        if self.pretrained_voice:
            idx = torch.randint(0, len(data.utt_ids), (batch_size,), generator=gen)
            x, label = data.speaker[idx].to(device), data.utt_label[idx]
        else:
            x, label, _ = self.sample_voices(data, batch_size, gen, self.config["crop_frames"], device)
        m["encoder"].train()
        pred = F.normalize(m["encoder"](x), dim=1)
        loss = F.l1_loss(pred, self._targets[label.cpu()].to(device))
        opt["encoder"].zero_grad()
        loss.backward()
        opt["encoder"].step()
        return {"loss": loss.item(), "feature_l1": loss.item()}

    def decoder_batch(self, data, batch_size: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """A decoder-stage batch: unit judge features ``[B, 128]`` and target faces ``[B, 3, S, S]`` in [-1, 1],
        with the small-data options of the config (module docstring; all off by default)."""
        c = self.config
        idx = torch.randint(0, len(data.face_ids), (batch_size,), generator=gen)
        target = to_unit_range(data.faces[idx])
        feature = F.normalize(data.judge[idx], dim=1)
        if c.get("face_flip"):  # mirror the face, keep its feature (the judge's embedding is near mirror-invariant)
            mirror = torch.rand(batch_size, generator=gen) < 0.5
            target = torch.where(mirror[:, None, None, None], target.flip(3), target)
        alpha = float(c.get("decoder_mixup") or 0.0)
        if alpha > 0:  # mixup (Zhang et al. 2018): blend pairs of faces and their features with lam ~ Beta(a, a)
            other = torch.randint(0, len(data.face_ids), (batch_size,), generator=gen)
            lam = beta_sample(alpha, batch_size, gen)
            target = lam[:, None, None, None] * target + (1 - lam[:, None, None, None]) * to_unit_range(data.faces[other])
            feature = F.normalize(lam[:, None] * feature + (1 - lam[:, None]) * F.normalize(data.judge[other], dim=1), dim=1)
        sigma = float(c.get("decoder_noise") or 0.0)
        if sigma > 0:  # Gaussian noise on the unit feature, renormalised
            feature = F.normalize(feature + sigma * torch.randn(feature.shape, generator=gen), dim=1)
        return feature, target

    def infer(self, feats, frames, waveforms, lengths) -> torch.Tensor:
        if self.pretrained_voice:
            speaker = self.speaker_embeddings(waveforms, lengths, feats.device).to(feats)  # [B, 256]
            return self.modules["decoder"](F.normalize(self.modules["encoder"](speaker), dim=1))
        return self.modules["decoder"](F.normalize(self.modules["encoder"](feats, frames), dim=1))


def Speech2FaceGenerator(ctx: GeneratorContext, checkpoint: str | None = None) -> TrainedGenerator:
    """Factory of ``speech2face``: ``bench run --model speech2face --model-arg checkpoint=PATH``."""
    return TrainedGenerator(ctx, "speech2face", checkpoint)
