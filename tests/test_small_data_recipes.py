"""The small-data options of ar-spm and wen-gan (issue 24): resemblyzer's pretrained speaker embedding as the voice
input, the judge's aligned face chips, and (ar-spm) mirrored faces, mixup and feature noise in the decoder stage
a larger face-stage batch, and mixup of voices in the speech stage. Each is off by
default (the paper's setting), named in the checkpoint's ``meta.revision``, checked before any training, and, trained
briefly on a small synthetic world whose speaker embeddings carry the identity by construction, lowers the losses
and draws faces that follow the voice (chance: 1/K of voices nearest their own speaker's faces).

The speech2face versions of these options are tested in test_s2f_voice_input.py and test_s2f_decoder_options.py."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from benchmark.errors import BenchError
from tests.test_s2f_voice_input import K, SIZE, synthetic_data

TINY = {
    "ar-spm": {"image_size": SIZE, "dec_channels": [16, 8, 8], "dec_fc": 32, "enc_fc": 64, "face_width": 8,
               "voice_input": "resemblyzer", "face_flip": True, "decoder_batch_size": 16, "decoder_mixup": 1.0,
               "decoder_noise": 0.05, "speech_mixup": 1.0},
    "wen-gan": {"g_channels": [32, 32, 16, 8], "f_channels": [8, 16, 16, 32], "voice_input": "resemblyzer"},
}
STEPS = {"ar-spm": 400, "wen-gan": 400}


@pytest.fixture(scope="module", params=sorted(TINY))
def run(request, tmp_path_factory):
    from baselines.checkpoints import load_checkpoint
    from baselines.train import build_recipe, train

    name = request.param
    data = synthetic_data()
    out = tmp_path_factory.mktemp(name)
    path = train(name, "synthetic", steps=STEPS[name], batch_size=16, seed=0, out=out, preset="cpu",
                 config=TINY[name], data=data, progress=False)
    ck = load_checkpoint(path)
    recipe = build_recipe(name, ck["config"], ck["info"])
    recipe.load_state({"modules": ck["modules"]}, "cpu")
    recipe.eval()
    return name, data, path, recipe


def faces_of(name, recipe, data) -> torch.Tensor:
    """Faces ``[U, 3, S, S]`` in [-1, 1] drawn for each training voice's speaker embedding (the recipe's infer path
    after resemblyzer)."""
    with torch.no_grad():
        if name == "ar-spm":
            x = torch.zeros(len(data.utt_ids), 64, 1)
            return recipe.modules["decoder"](F.normalize(recipe.fused(x, None, data.speaker), dim=1))
        return recipe.modules["g"](recipe.embed(data.speaker)).clamp(-1, 1)


def test_losses_fall_in_every_stage(run):
    name, _, path, _ = run
    log = [json.loads(line) for line in (path.parent / "losses.jsonl").read_text().splitlines()]
    stages = {"ar-spm": ("face", "decoder", "speech"), "wen-gan": ("gan",)}[name]
    assert {r["stage"] for r in log} == set(stages)  # wen-gan: no V pre-training with a pretrained V
    for stage in stages:
        values = [r["loss"] for r in log if r["stage"] == stage]
        k = max(1, len(values) // 5)
        assert sum(values[-k:]) / k < sum(values[:k]) / k, (name, stage)


def test_faces_follow_the_voice(run):
    """Each voice's face is nearer (L1) its own identity's mean face than any other identity's more often than
    chance (1/K): with 48 voices, 3/K is beyond chance at p < 1e-6 (binomial)."""
    from baselines.nets import to_unit_range

    name, data, _, recipe = run
    faces = faces_of(name, recipe, data)
    means = torch.stack([to_unit_range(data.faces[data.face_label == k]).mean(0) for k in range(K)])  # [K, 3, S, S]
    dist = (faces[:, None] - means[None]).abs().mean(dim=(2, 3, 4))  # [U, K]
    correct = (dist.argmin(1) == data.utt_label).float().mean().item()
    assert correct >= 3 / K, f"{name}: voices drew their own speaker's face {correct:.2f} of the time (chance {1 / K:.2f})"


def test_options_are_named_in_the_revision(run):
    from baselines.checkpoints import load_checkpoint
    from baselines.train import recipe_class

    name, _, path, _ = run
    config = load_checkpoint(path)["config"]
    expected = {"ar-spm": "-resemblyzer-flip-mixup1-noise0.05-decbatch16-speechmixup1", "wen-gan": "-resemblyzer"}[name]
    assert recipe_class(name).variant(config) == expected


@pytest.mark.parametrize("name", sorted(TINY))
def test_defaults_are_the_papers_and_presets_name_themselves(name):
    from baselines.train import recipe_class, resolve_config

    cls = recipe_class(name)
    default = resolve_config(name, None, "cpu")
    assert default["voice_input"] == "mel" and default["face_align"] is None
    assert cls.variant(default) == "" and cls.face_align_of(default) is None
    small = resolve_config(name, None, "cpu-small-data")
    assert small["voice_input"] == "resemblyzer" and cls.face_align_of(small) == 0.6
    assert cls.variant(small).startswith("-resemblyzer-align0.6")
    assert "speaker" in cls.needs(small)


@pytest.mark.parametrize("name, bad, message", [
    ("ar-spm", {"voice_input": "wav2vec"}, "voice_input"),
    ("ar-spm", {"face_align": "yes"}, "face_align"),
    ("ar-spm", {"face_align": 3}, "face_align"),
    ("ar-spm", {"decoder_batch_size": 0}, "decoder_batch_size"),
    ("ar-spm", {"decoder_mixup": -1}, "decoder_mixup"),
    ("ar-spm", {"speech_mixup": 1.0}, "needs voice_input=resemblyzer"),
    ("wen-gan", {"face_flip": True}, "unknown config keys.*'flip'"),  # wen-gan mirrors with its own key
    ("wen-gan", {"voice_input": "x"}, "voice_input"),
])
def test_malformed_options_are_refused_before_training(name, bad, message, tmp_path):
    from baselines.train import train

    with pytest.raises(BenchError, match=message):
        train(name, "synthetic", steps=2, batch_size=4, seed=0, out=tmp_path, preset="cpu", config=bad,
              data=synthetic_data(), progress=False)
    assert not (tmp_path / "checkpoint.pt").exists()


def test_speech_mixup_partners_share_the_gender():
    """ar-spm's speech mixup blends a voice only with a voice of the same metadata gender (its docstring), and draws
    partners from the whole group (not the voice itself only)."""
    from baselines.ar_spm import ARSPM

    data = synthetic_data()
    female = data.gender_index()[data.utt_label]
    idx = torch.arange(len(data.utt_ids)).repeat(4)
    partners = ARSPM.same_gender_partners(data, idx, torch.Generator().manual_seed(0))
    assert torch.equal(female[partners], female[idx])
    assert (data.utt_label[partners] != data.utt_label[idx]).float().mean() > 0.5  # K / 2 speakers per gender
