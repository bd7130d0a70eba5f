"""What the learned baselines share: the recipe base class (see ``baselines.train``) and the checkpoint adapter.

``TrainedGenerator`` turns a checkpoint written by ``bench train`` into a generator:

* it refuses a checkpoint of another baseline, and one whose training identities include an identity of the
  scored dataset's test split (a leak: e.g. trained on a dataset whose training split is this one's test);
* it exposes those identities (``training_identities``), so the engine refuses an evaluated split that holds any of
  them (``bench run --split all`` on the dataset it trained on, or on another dataset sharing its speakers);
* each voice goes through the Wen et al. front end (``baselines.voice.VoiceFrontEnd``) and the recipe's
  ``infer`` *one at a time*, so a face never depends on the batch it was generated in (float reductions over
  a padded batch differ from the unpadded ones in the last bit, enough to flip a pixel's rounding);
* inference samples nothing, so the output of an utterance is a function of its waveform alone (the run
  seed is not needed);
* inference runs in float64 (``INFERENCE_DTYPE``: the front end, every network, and ar-spm's speaker encoder,
  ``baselines.speaker``), and the image is rounded to uint8 only at the end, so the faces are the same bytes on
  any CPU. In float32, torch's CPU kernels (picked by CPU capability: AVX-512, AVX2 or none; oneDNN or not; the
  thread count) sum in different orders and move a face's values by about 1e-6 relative, enough to flip some
  pixels' rounding and move every metric downstream (``bench check`` failed on another CPU). oneDNN has no float64
  kernels, and float64 rounding differences (about 1e-16 relative, a few hundred ulps after the network) reach a
  pixel only when its exact value lies within about 1e-10 of a rounding boundary: a chance of about 1e-5 per
  64x64 face set of 48 faces. ``benchmarks/cross_cpu.py`` compares the bytes under the kernel variants;
* ``meta`` carries the checkpoint's sha256, its step count and training dataset, the face model it was
  trained against, and ``trained_against_judge``.
"""

from __future__ import annotations

import json
from typing import Sequence

import torch

from baselines.nets import to_uint8
from benchmark.errors import BenchError
from benchmark.generators.base import GeneratorContext, GeneratorMeta

INFERENCE_DTYPE = torch.float64
"""The floating type of the learned baselines' inference (module docstring: faces reproduce across CPUs)."""


VOICE_INPUTS = ("mel", "resemblyzer")
"""``voice_input`` values: the paper's own spectrogram voice network ("mel") or resemblyzer's pretrained GE2E speaker
embedding ("resemblyzer", ``baselines.speaker``; a small-data option of issue 24)."""


class Recipe:
    """Base class of a trainable baseline's recipe (subclasses set the class attributes and ``step``/``infer``).

    Class attributes:
        name: the registered baseline name.
        DEFAULTS: config defaults (JSON-serialisable; the papers' sizes); must contain ``steps`` and ``batch_size``.
        PRESETS: named partial configs (``"cpu"``: narrow networks that train in minutes on a CPU).
        STAGES: ``((stage, config key of its fraction or None for "the rest"), ...)``.
        FACE_MODEL: the face model the baseline was trained against, in words (goes into ``meta.notes``).
        TRAINED_AGAINST_JUDGE: True if that face model is the judge's own embedding space.
        CITATION: the paper.

    Args:
        config: resolved config (``baselines.train.resolve_config``).
        info: data-derived sizes (``info_from_data``), stored in the checkpoint.
    """

    name = ""
    DEFAULTS: dict = {}
    PRESETS: dict[str, dict] = {}
    STAGES: tuple = ()
    FACE_MODEL = ""
    TRAINED_AGAINST_JUDGE = False
    CITATION = ""

    def __init__(self, config: dict, info: dict):
        self.config = config
        self.info = info
        self.modules: dict[str, torch.nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self._speaker_encoder = None

    # -- class-level hooks -------------------------------------------------------------------------------
    @classmethod
    def image_size_of(cls, config: dict) -> int:
        return int(config.get("image_size", 64))

    @classmethod
    def face_align_of(cls, config: dict) -> float | None:
        """Padding of the aligned training faces (``baselines.face_chips``, config ``face_align``), or None for
        centre squares (the default of every recipe)."""
        align = config.get("face_align")
        return None if align is None else float(align)

    @classmethod
    def needs(cls, config: dict) -> set[str]:
        """Extra training data: "judge" (judge face embeddings), "speaker" (resemblyzer voice embeddings).
        Checks the small-data options first (``check_small_data_options``)."""
        cls.check_small_data_options(config)
        return {"speaker"} if config.get("voice_input", "mel") == "resemblyzer" else set()

    @classmethod
    def check_small_data_options(cls, config: dict) -> None:
        """Refuse malformed small-data options (issue 24), naming the key and the value given.

        Raises:
            BenchError: ``voice_input`` not "mel"/"resemblyzer", ``face_align`` neither null nor a padding in
                [0, 2], ``decoder_mixup``/``decoder_noise`` not a number >= 0, ``decoder_batch_size`` not null or an
                integer >= 1.
        """
        if config.get("voice_input", "mel") not in VOICE_INPUTS:
            raise BenchError(f"{cls.name}: voice_input must be one of {list(VOICE_INPUTS)}, got "
                             f"{config.get('voice_input')!r}.")
        align = config.get("face_align")
        if align is not None and (isinstance(align, bool) or not isinstance(align, (int, float))
                                  or not 0.0 <= float(align) <= 2.0):
            raise BenchError(f"{cls.name}: face_align must be null (centre squares) or a padding in [0, 2] such as "
                             f"0.6, got {align!r}.")
        for key in ("decoder_mixup", "decoder_noise"):
            value = config.get(key, 0.0)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise BenchError(f"{cls.name}: {key} must be a number >= 0 (0: off), got {value!r}.")
        batch = config.get("decoder_batch_size")
        if batch is not None and (isinstance(batch, bool) or not isinstance(batch, int) or batch < 1):
            raise BenchError(f"{cls.name}: decoder_batch_size must be null (the batch size) or an integer >= 1, "
                             f"got {batch!r}.")

    @classmethod
    def variant(cls, config: dict) -> str:
        """Suffix naming the non-default small-data options a config uses, e.g.
        ``-resemblyzer-align0.6-flip-mixup1-noise0.05-decbatch32``, ``""`` for none (every recipe's default);
        it goes into ``GeneratorMeta.revision`` (``step<N><variant>``) so that the row says which recipe it is."""
        c, out = config, ""
        if c.get("voice_input", "mel") == "resemblyzer":
            out += "-resemblyzer"
        if c.get("face_align") is not None:
            out += f"-align{c['face_align']:g}"
        if c.get("face_flip"):
            out += "-flip"
        if c.get("decoder_mixup"):
            out += f"-mixup{c['decoder_mixup']:g}"
        if c.get("decoder_noise"):
            out += f"-noise{c['decoder_noise']:g}"
        if c.get("decoder_batch_size"):
            out += f"-decbatch{c['decoder_batch_size']}"
        return out

    @classmethod
    def info_from_data(cls, config: dict, data) -> dict:
        return {"n_identities": data.n_identities}

    @classmethod
    def stages(cls, config: dict) -> list[tuple[str, float]]:
        out, used = [], 0.0
        for stage, key in cls.STAGES:
            fraction = float(config[key]) if key else max(0.0, 1.0 - used)
            used += fraction
            out.append((stage, fraction))
        return out

    # -- instance hooks ----------------------------------------------------------------------------------
    def make_optimizers(self) -> None:
        """Create ``self.optimizers`` (called once the modules are on their device)."""
        raise NotImplementedError

    def fit_data(self, data) -> None:
        """Fit data-derived buffers before step 0 of a new run (not called on resume). Default: nothing."""

    def step(self, stage: str, data, batch_size: int, gen: torch.Generator, device: str) -> dict:
        """One optimisation step of ``stage``; every random draw from ``gen``. Returns ``{"loss": ..., ...}``."""
        raise NotImplementedError

    def infer(self, feats: torch.Tensor, frames: torch.Tensor, waveforms: torch.Tensor,
              lengths: torch.Tensor) -> torch.Tensor:
        """Images ``[B, 3, S, S]`` in [-1, 1] from front-end features ``[B, 64, F]`` (+ raw waveforms)."""
        raise NotImplementedError

    def speaker_embeddings(self, waveforms: torch.Tensor, lengths: torch.Tensor, device) -> torch.Tensor:
        """Resemblyzer embeddings ``[B, 256]`` (float32, ``baselines.speaker``) of float32 ``[B, T]`` 16 kHz voices
        with int64 ``[B]`` lengths, for the recipes whose inference needs them (``voice_input="resemblyzer"``,
        ar-spm's gender prior); the encoder is built on first use, on ``device``, and kept."""
        if self._speaker_encoder is None:
            from baselines.speaker import SpeakerEncoder

            self._speaker_encoder = SpeakerEncoder(device=str(device))
        return self._speaker_encoder.embed(waveforms, lengths)

    def load_state(self, checkpoint: dict, device: str) -> None:
        """Load modules (and optimisers, when present) from a checkpoint dict."""
        for key, module in self.modules.items():
            module.load_state_dict(checkpoint["modules"][key])
            module.to(device)
        for key, opt in self.optimizers.items():
            if key in checkpoint.get("optimizers", {}):
                opt.load_state_dict(checkpoint["optimizers"][key])

    def eval(self) -> None:
        for module in self.modules.values():
            module.eval()

    # -- sampling helpers --------------------------------------------------------------------------------
    @staticmethod
    def sample_voices(data, batch_size: int, gen: torch.Generator, crop_frames, device: str):
        """Random training utterances (uniform, with replacement) and crops: (x ``[B, 64, L]``, labels ``[B]``, idx)."""
        from baselines.voice import random_crops

        idx = torch.randint(0, len(data.utt_ids), (batch_size,), generator=gen)
        x = random_crops([data.feats[i] for i in idx.tolist()], gen, tuple(crop_frames))
        return x.to(device), data.utt_label[idx].to(device), idx

    @staticmethod
    def sample_faces(data, batch_size: int, gen: torch.Generator, device: str, flip: bool = False):
        """Random training faces (uniform, with replacement): (images ``[B, 3, S, S]`` in [-1, 1], labels, idx);
        ``flip`` mirrors each one with probability 1/2 (Wen et al.'s ``FaceDataset``)."""
        from baselines.nets import to_unit_range

        idx = torch.randint(0, len(data.face_ids), (batch_size,), generator=gen)
        images = to_unit_range(data.faces[idx])
        if flip:
            mirror = torch.rand(batch_size, generator=gen) < 0.5
            images = torch.where(mirror[:, None, None, None], images.flip(3), images)
        return images.to(device), data.face_label[idx].to(device), idx


class TrainedGenerator:
    """A learned baseline loaded from a ``bench train`` checkpoint (module docstring).

    Args:
        ctx: the generator context.
        baseline: the baseline the checkpoint must be of.
        checkpoint: path of ``checkpoint.pt`` (``--model-arg checkpoint=PATH``).

    Raises:
        BenchError: no checkpoint given or readable, another baseline's checkpoint, or training identities that
            are test identities of the scored dataset.
    """

    def __init__(self, ctx: GeneratorContext, baseline: str, checkpoint: str | None = None):
        from baselines.train import build_recipe, file_sha256, load_checkpoint
        from baselines.voice import VoiceFrontEnd

        if not checkpoint:
            raise BenchError(
                f"{baseline} has no shipped weights: train it with `bench train --baseline {baseline} "
                f"--dataset {ctx.manifest.dataset_id} --out DIR`, then pass --model-arg checkpoint=DIR/checkpoint.pt.")
        ck = load_checkpoint(checkpoint)
        if ck["baseline"] != baseline:
            raise BenchError(f"{checkpoint} is a {ck['baseline']!r} checkpoint, not {baseline!r}; "
                             f"score it with --model {ck['baseline']}.")
        test_ids = {i.id for i in ctx.manifest.identities if i.split != "train"}  # validation and test
        leak = sorted(test_ids & set(ck["dataset"]["identities"]))
        if leak:
            raise BenchError(f"{checkpoint} was trained on {len(leak)} identities that are test identities of "
                             f"{ctx.manifest.dataset_id!r} (e.g. {leak[:3]}); scores would be meaningless. Use a "
                             "checkpoint trained on this dataset's training split.")
        self.ctx = ctx
        self.device = ctx.device
        self.training_identities = tuple(ck["dataset"]["identities"])
        """VoxCeleb1 IDs the checkpoint trained on: the engine refuses an evaluated split holding any of them
        (``benchmark.engine.plan.check_split_disjoint``), whatever dataset the checkpoint was trained on."""
        self.recipe = build_recipe(baseline, ck["config"], ck["info"], ctx.device)
        self.recipe.load_state({"modules": ck["modules"]}, ctx.device)
        self.recipe.eval()
        for module in self.recipe.modules.values():
            module.to(INFERENCE_DTYPE)  # float parameters and buffers; exact (float32 -> float64)
        self.front_end = VoiceFrontEnd(dtype=INFERENCE_DTYPE)
        cls = type(self.recipe)
        config = json.dumps(ck["config"], sort_keys=True)
        self.meta = GeneratorMeta(
            name=baseline, revision=f"step{ck['step']}{cls.variant(ck['config'])}", weights_sha256=file_sha256(checkpoint),
            image_size=cls.image_size_of(ck["config"]), training_datasets=(ck["dataset"]["id"],),
            citation=cls.CITATION, trained_against_judge=cls.TRAINED_AGAINST_JUDGE,
            holdout_rule=str(ck["dataset"].get("holdout_rule", "")),
            notes=(f"face model: {cls.FACE_MODEL}; trained {ck['step']}/{ck['steps']} steps, batch "
                   f"{ck['batch_size']}, seed {ck['seed']}, on {len(ck['dataset']['identities'])} training identities "
                   f"of {ck['dataset']['id']} (manifest {ck['dataset']['manifest_sha256'][:12]}); config {config}"),
        )

    def generate(self, waveforms: torch.Tensor, lengths: torch.Tensor, utterance_ids: Sequence[str]) -> torch.Tensor:
        """uint8 ``[B, 3, S, S]`` faces for float32 ``[B, T]`` 16 kHz voices with int64 ``[B]`` lengths.

        Each voice is run alone, in float64 (``INFERENCE_DTYPE``), and rounded to uint8 at the end (module
        docstring).
        """
        out = []
        with torch.no_grad():
            for b in range(len(utterance_ids)):
                n = int(lengths[b])
                wave = waveforms[b:b + 1, :n].to(self.device)
                length = lengths[b:b + 1].to(self.device)
                feats, frames = self.front_end(wave, length)
                out.append(to_uint8(self.recipe.infer(feats, frames, wave, length)).cpu())
        return torch.cat(out)
