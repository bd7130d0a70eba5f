"""speech2face's ``voice_input="resemblyzer"`` option (issue 24): a pretrained speaker embedding feeds the encoder's FC
head. Trained on a small synthetic world whose speaker embeddings carry the identity by construction, the option
must lower its losses and draw, for a voice, a face nearer its own speaker's faces than other speakers' (chance:
1/K). The default stays the paper's log-mel encoder."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from benchmark.errors import BenchError

K, PER_ID, SIZE = 8, 6, 32
TINY = {"image_size": SIZE, "dec_channels": [16, 8, 8], "dec_fc": 32, "enc_fc": 64, "voice_input": "resemblyzer"}


def synthetic_data():
    """K identities, each with its own face colour pattern, judge feature and speaker-embedding direction."""
    from baselines.train_data import TrainData

    g = torch.Generator().manual_seed(0)
    ids = [f"id{k:05d}" for k in range(K)]
    label = torch.arange(K).repeat_interleave(PER_ID)  # [U] = [N]
    speaker_dir = F.normalize(torch.rand(K, 256, generator=g), dim=1)  # resemblyzer embeddings are non-negative
    speaker = F.normalize(speaker_dir[label] + 0.05 * torch.rand(len(label), 256, generator=g), dim=1)
    judge_dir = F.normalize(torch.randn(K, 128, generator=g), dim=1)
    judge = judge_dir[label] + 0.05 * torch.randn(len(label), 128, generator=g)
    colours = torch.randint(0, 256, (K, 3, 4, 4), generator=g, dtype=torch.int64)  # a coarse pattern per identity
    faces = F.interpolate(colours[label].float(), size=SIZE, mode="nearest")
    faces = (faces + torch.randint(-10, 11, faces.shape, generator=g)).clamp(0, 255).to(torch.uint8)
    return TrainData(dataset_id="synthetic", manifest_sha256="0" * 64, identities=ids,
                     genders=["m" if k % 2 else "f" for k in range(K)], utt_ids=[f"u{i:03d}" for i in range(len(label))],
                     utt_label=label, feats=[torch.zeros(64, 10) for _ in label],
                     face_ids=[f"f{i:03d}" for i in range(len(label))], faces=faces, face_label=label.clone(),
                     judge=judge, speaker=speaker)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from baselines.checkpoints import load_checkpoint
    from baselines.train import build_recipe, train

    data = synthetic_data()
    out = tmp_path_factory.mktemp("s2f-rz")
    path = train("speech2face", "synthetic", steps=400, batch_size=8, seed=0, out=out, preset="cpu", config=TINY,
                 data=data, progress=False)
    ck = load_checkpoint(path)
    recipe = build_recipe("speech2face", ck["config"], ck["info"])
    recipe.load_state({"modules": ck["modules"]}, "cpu")
    recipe.eval()
    return data, path, recipe


def test_losses_fall_in_both_stages(run):
    import json

    data, path, _ = run
    log = [json.loads(line) for line in (path.parent / "losses.jsonl").read_text().splitlines()]
    for stage in ("decoder", "encoder"):
        values = [r["loss"] for r in log if r["stage"] == stage]
        k = len(values) // 5
        assert sum(values[-k:]) / k < sum(values[:k]) / k, stage


def test_faces_follow_the_voice(run):
    """Each identity's voices decode to a face nearer (L1) its own faces than any other identity's: chance is 1/K."""
    from baselines.nets import to_unit_range

    data, _, recipe = run
    with torch.no_grad():
        faces = recipe.modules["decoder"](F.normalize(recipe.modules["encoder"](data.speaker), dim=1))  # [U, 3, S, S]
    means = torch.stack([to_unit_range(data.faces[data.face_label == k]).mean(0) for k in range(K)])  # [K, 3, S, S]
    dist = (faces[:, None] - means[None]).abs().mean(dim=(2, 3, 4))  # [U, K]
    correct = (dist.argmin(1) == data.utt_label).float().mean().item()
    assert correct > 0.5, f"voices decode to their own speaker's face {correct:.2f} of the time (chance {1 / K:.2f})"


def test_option_is_named_and_checked(run):
    from baselines.checkpoints import load_checkpoint
    from baselines.speech2face import Speech2Face
    from baselines.train import resolve_config

    _, path, _ = run
    assert load_checkpoint(path)["config"]["voice_input"] == "resemblyzer"
    assert Speech2Face.variant(load_checkpoint(path)["config"]) == "-resemblyzer"
    default = resolve_config("speech2face", None, "cpu")
    assert default["voice_input"] == "mel" and Speech2Face.needs(default) == {"judge"}
    assert Speech2Face.needs({**default, "voice_input": "resemblyzer"}) == {"judge", "speaker"}
    with pytest.raises(BenchError, match="voice_input"):
        Speech2Face.needs({**default, "voice_input": "wav2vec"})
