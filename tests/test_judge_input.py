"""Issue 8 §5: the judge treats every face alike — the fallback box is aligned like a detected face, a solid-colour
image is blank, blank generated faces are failed trials, and the dlib version is part of the cache key."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.data.images import is_blank


def test_solid_colour_is_blank_whatever_its_channels():
    assert is_blank(np.full((64, 64, 3), (122, 79, 60), np.uint8))  # the channel-mixing rule called this a face
    assert is_blank(np.full((64, 64, 3), 255, np.uint8)) and is_blank(np.zeros((64, 64, 3), np.uint8))
    assert not is_blank(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    stripes = np.zeros((64, 64, 3), np.uint8)
    stripes[::2, :, 1] = 200  # spatial variation in one channel only: not blank
    assert not is_blank(stripes)


def test_fallback_box_is_aligned_with_the_landmarks():
    import dlib
    from PIL import Image

    from benchmark.judges.dlib_bin import DlibJudge
    from benchmark.judges.dlib_models import CHIP_SIZE

    judge = DlibJudge()
    image = np.random.default_rng(1).integers(0, 256, (180, 220, 3), dtype=np.uint8)  # no face to detect
    chip, detected = judge.chip(image)
    assert not detected and chip.shape == (CHIP_SIZE, CHIP_SIZE, 3)
    box = dlib.rectangle(20, 0, 199, 179)  # the central square of a 180 x 220 image
    expected = np.asarray(dlib.get_face_chip(image, judge.shape_predictor(image, box), size=CHIP_SIZE, padding=0.25))
    np.testing.assert_array_equal(chip, expected)
    unaligned = np.asarray(Image.fromarray(image[:, 20:200]).resize((CHIP_SIZE, CHIP_SIZE), Image.BICUBIC))
    assert not np.array_equal(chip, unaligned)  # what version 1 embedded


def test_dlib_version_is_part_of_the_cache_key_and_the_result(monkeypatch):
    import dlib

    from benchmark.judges.dlib_bin import DlibJudge

    a = DlibJudge()
    assert dlib.__version__ in a.info.library
    monkeypatch.setattr(dlib, "__version__", "0.0.0-other")
    b = DlibJudge()
    assert a._key_suffix != b._key_suffix and "0.0.0-other" in b._key_suffix


class SolidColourGenerator:
    """A generator that draws one solid (122, 79, 60) square for every voice: every face it makes has failed."""

    def __init__(self, ctx):
        from benchmark.generators.base import GeneratorMeta

        self.meta = GeneratorMeta(name="solid-colour", image_size=64)

    def generate(self, waveforms, lengths, utterance_ids):
        import torch

        colour = torch.tensor([122, 79, 60], dtype=torch.uint8).view(1, 3, 1, 1)
        return colour.expand(len(utterance_ids), 3, 64, 64).contiguous()


@pytest.mark.realdata
def test_blank_generated_faces_are_failed_trials(vox1_mini):
    """Known answer: a generator whose every face is blank gets every decision trial wrong (0, not the 0.5 of
    chance it got when its blank squares were embedded as faces), and no value for the continuous metrics."""
    from pathlib import Path

    from benchmark.engine.run import run_many
    from conftest import MINI_SPLIT

    model = f"{Path(__file__).resolve()}:SolidColourGenerator"
    protocols = ["unstratified", "match-1ofN", "retrieval", "id-topk-open", "gender", "detect", "feature",
                 "consistency"]
    out = {r["protocol"]["name"]: r for r in run_many(model, protocols, "vox1-mini", data_root=vox1_mini,
                                                       split=MINI_SPLIT, progress=False, write=False)}
    probes = out["unstratified"]["trials"]["probes"]
    assert out["unstratified"]["inputs"]["generated_failed_blank"] == probes == 54
    for name, metric in [("unstratified", "accuracy"), ("match-1ofN", "acc@N=2"), ("match-1ofN", "acc@N=5"),
                         ("retrieval", "R@1"), ("retrieval", "R@2"), ("id-topk-open", "top-1"),
                         ("gender", "gender_consistency"), ("detect", "detected")]:
        assert out[name]["scores"][metric]["value"] == 0.0, (name, metric)
    for metric in ("cosine", "l2@centroid"):
        s = out["feature"]["scores"][metric]
        assert s["n"] == 0 and s["failed_excluded"] == out["feature"]["trials"]["count"] and "failed" in s["flag"]
    assert out["consistency"]["scores"]["ratio"]["n"] == 0


@pytest.mark.realdata
def test_dlib_worker_processes_give_the_embeddings_of_one_process(vox1_mini):
    """The default judge spreads whole batches over worker processes; each runs the same calls on the same batch."""
    from benchmark.data.datasets import load_dataset
    from benchmark.data.images import load_image
    from benchmark.judges.dlib_bin import POOL_MIN_IMAGES, DlibJudge

    faces = sorted(load_dataset("vox1-mini", data_root=vox1_mini).faces, key=lambda f: f.id)
    images = [im for im in (load_image(f.path) for f in faces) if not is_blank(im)][:POOL_MIN_IMAGES]
    one = DlibJudge(workers=0).embed(images)
    with DlibJudge(workers=2, batch_size=8) as judge:
        pooled = judge.embed(images)
        assert judge._pool is not None  # the pool did the work
        # once the pool runs, a call below POOL_MIN_IMAGES (a generator batch) is spread over it too
        calls = []
        pool_map = judge._pool.map
        judge._pool.map = lambda fn, batches: calls.append(len(batches)) or pool_map(fn, batches)
        small = judge.embed(images[:10])
        assert calls == [2]
    # batch size 8 in the workers against 32 in one process: dlib's descriptors do not depend on the batch
    np.testing.assert_array_equal(pooled.vectors, one.vectors)
    np.testing.assert_array_equal(pooled.aligned, one.aligned)
    np.testing.assert_array_equal(small.vectors, one.vectors[:10])


@pytest.mark.realdata
def test_attribute_model_reuses_the_judges_face_boxes_and_predicts_the_same(vox1_mini, monkeypatch):
    """The attribute model's steps 1-3 are the dlib judges' (benchmark.judges.attributes): a box the judge found (in this
    process or in a worker) is reused instead of a second HOG pass, and every prediction is the same as with its
    own detection — real faces, small images (upscaled) and a faceless image (centre-box fallback)."""
    from benchmark.judges.attributes import AttributePredictor
    from benchmark.data.datasets import load_dataset
    from benchmark.data.images import image_digest, load_image
    from benchmark.judges import dlib_bin, dlib_detect

    faces = sorted(load_dataset("vox1-mini", data_root=vox1_mini).faces, key=lambda f: f.id)
    real = [im for im in (load_image(f.path) for f in faces) if not is_blank(im)][:20]
    small = [np.ascontiguousarray(im[::2, ::2]) for im in real[:3]]  # shorter side under 150 px: upscaled
    noise = np.random.default_rng(0).integers(0, 256, size=(160, 160, 3), dtype=np.uint8)
    images = real[:10] + small + [noise] + real[10:]
    dlib_detect._DETECTIONS.clear()
    own = AttributePredictor(None)
    expected = own.predict(images)
    assert own.boxes_reused == 0
    assert expected[13, 3] == 0.0 and expected[:, 3].sum() >= 20  # the fallback is exercised, faces are found
    in_process = dlib_bin.DlibJudge(workers=0)
    in_process.embed(images[:14])
    monkeypatch.setattr(dlib_bin, "POOL_MIN_IMAGES", 4)
    with dlib_bin.DlibJudge(workers=2, batch_size=4) as judge:
        judge.embed(images[14:])
        assert judge._pool is not None  # these boxes came back from worker processes
    for im in images:
        loc = in_process.locator(im)
        assert dlib_detect.recall_box(image_digest(im)) == (loc.box, loc.detected)
    reuse = AttributePredictor(None)
    np.testing.assert_array_equal(reuse.predict(images), expected)
    assert reuse.boxes_reused == len(images)
