"""Issue 8 §1: the videos id-topk-seen holds out never reach any training path, and scoring a generator that
does not declare the held-out rule on id-topk-seen is refused.

On the code before the fix, nearest-voice's gallery, voice-gender's classifier, the chance references' training
faces and ``bench train``'s data all read every utterance of the training speakers, held-out videos included
(nearest-voice id-topk-seen top-1 on the toy world: 0.969 with the leak).
"""

from __future__ import annotations

import shutil

import pytest
import torch

from benchmark.errors import ProtocolUnavailable
from benchmark.data.heldout import HOLDOUT_RULE, held_out_videos, training_faces, training_utterances
from protocols import get_protocol


@pytest.fixture(scope="module")
def toy():
    from benchmark.data.datasets import load_dataset

    return load_dataset("toy")


@pytest.fixture(scope="module")
def seen_probes(toy):
    """The probe utterances of id-topk-seen on the toy world, from the task's own trial builder."""
    from benchmark.tasks import get_task
    from benchmark.tasks.base import FaceTable
    import numpy as np

    spec = get_protocol("id-topk-seen")
    faces = [f.id for f in toy.faces]
    real = FaceTable(ids=faces, vectors=np.zeros((len(faces), 128), np.float32),
                     aligned=np.ones(len(faces), bool), blank=[])
    plan = get_task(spec.task).build(toy, spec, 0, real)
    assert plan.probes, "the toy world must have held-out probes for this test to mean anything"
    return set(plan.probes)


def ctx_of(manifest):
    from benchmark.generators.base import GeneratorContext
    from benchmark.data.images import load_image

    return GeneratorContext(manifest=manifest, seed=0, load_face=lambda f: load_image(f.path))


def test_rule_holds_out_the_last_video_of_each_multi_video_training_speaker(toy, seen_probes):
    held = held_out_videos(toy)
    assert held and set(held) <= {i.id for i in toy.split("train")}
    for ident, video in held.items():
        videos = sorted({u.video for u in toy.utterances_of(ident)})
        assert len(videos) >= 2 and video == videos[-1]
    # the task probes exactly the held-out videos' utterances
    assert seen_probes == {u.id for u in toy.utterances if held.get(u.identity) == u.video}


def test_no_training_path_reads_a_held_out_utterance_or_frame(toy, seen_probes):
    from baselines.common import training_faces as chance_faces
    from baselines.voice_only import _training_voices

    allowed = {u.id for u in training_utterances(toy)}
    assert allowed and not allowed & seen_probes
    voices, _ = _training_voices(ctx_of(toy))  # nearest-voice's gallery and voice-gender's classifier
    assert not {u.id for u in voices} & seen_probes
    held = held_out_videos(toy)
    for face in chance_faces(ctx_of(toy)) + training_faces(toy):  # mean-face, random-face, bench train
        assert not (face.source == "voxceleb" and held.get(face.identity) == face.video), face.id


def test_bench_train_data_excludes_held_out_videos(toy, seen_probes):
    from baselines.train_data import load_train_data

    data = load_train_data(toy, image_size=32, progress=False)
    assert data.utt_ids and not set(data.utt_ids) & seen_probes
    held = held_out_videos(toy)
    faces = {f.id: f for f in toy.faces}
    assert not [f for f in data.face_ids if faces[f].source == "voxceleb" and held.get(faces[f].identity) == faces[f].video]


def test_references_declare_the_rule(toy):
    from baselines.chance import MeanFaceGenerator

    assert MeanFaceGenerator(ctx_of(toy), image_size=32).meta.holdout_rule == HOLDOUT_RULE


def test_a_generator_that_declares_no_rule_is_refused_on_id_topk_seen(toy):
    from benchmark.engine.run import run, run_many

    model = "examples/tiny_generator.py:TinyVoiceGenerator"
    with pytest.raises(ProtocolUnavailable, match="declares no held-out rule"):
        run(model, "id-topk-seen", "toy", progress=False, write=False)
    results = run_many(model, ["id-topk-seen", "unstratified"], "toy", progress=False, write=False, strict=False)
    assert "declares no held-out rule" in results[0]["skipped"]
    assert "scores" in results[1]  # the other protocols still run


def test_a_checkpoint_without_the_rule_is_refused(tmp_path):
    from benchmark.engine.run import run

    src = "leaderboards/checkpoints/toy/speech2face.pt"
    ck = torch.load(src, map_location="cpu", weights_only=False)
    assert ck["dataset"]["holdout_rule"] == HOLDOUT_RULE  # committed checkpoints were trained under the rule
    del ck["dataset"]["holdout_rule"]  # as every checkpoint made before the rule existed
    old = tmp_path / "old.pt"
    torch.save(ck, old)
    with pytest.raises(ProtocolUnavailable, match="declares no held-out rule"):
        run("speech2face", "id-topk-seen", "toy", model_args={"checkpoint": str(old)}, progress=False, write=False)
    result = run("speech2face", "id-topk-seen", "toy", model_args={"checkpoint": src}, progress=False, write=False)
    assert result["generator"]["holdout_rule"] == HOLDOUT_RULE and result["scores"]
