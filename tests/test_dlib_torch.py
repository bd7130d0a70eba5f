"""dlib-torch against dlib-bin: the .dat reader, the torch ResNet, the torch face chips and ``DlibTorchJudge``.

Real-data tests run on every non-blank face of vox1-mini (``vggface/`` and ``voxceleb1/faces/``) and vox1-s2f
(``voxceleb1/faces/``); dlib's own pipeline (HOG + 5-point landmarks + ``dlib.get_face_chip`` + dlib-bin's
``face_recognition_model_v1``) runs once per session (fixture ``dlib_reference``).

Tolerances and why:
- network, same chips: cosine >= 0.9999 per descriptor (the issue's bar). Both compute in float32 with the same
  weights; only the order of floating-point sums differs (observed: cosine >= 0.9999998, max |diff| ~4e-7).
- chips, same landmarks: dlib computes the bilinear value in double precision and truncates it to uint8; so
  does ``extract_face_chips``. A pixel can differ only when the value lies within float rounding (~1e-12) of an
  integer (dlib solves the chip transform by least squares, here in closed form), and then by exactly one
  level. Hence: max |diff| <= 1 and at most 1 pixel value in 10,000 differs (observed: none, or a single one).
  A geometry error (a shifted or rescaled sampling grid) would make most pixels differ, many by far more.
- descriptors of torch chips vs dlib chips (same network): cosine >= 0.99999: the chips are identical up to
  those rare one-level flips, whose effect on a descriptor is far below the network's float noise bound.
- 1:2 matching: ``benchmark.metrics.pairwise.match_1to2`` gives the same score on every seeded trial with dlib-bin's
  descriptors and with dlib-torch's (end to end: torch chips, torch network).
"""

from __future__ import annotations

import collections
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmark.data.images import is_blank, load_image
from benchmark.judges.dlib_dat import ANET_TYPE, KNOWN_SHA256, _read_affine, bn_to_affine, read_dat
from benchmark.judges.dlib_dat_stream import DlibDatError, _Stream
from benchmark.judges.dlib_torch import (DlibResNet, converted_weights_path, default_dat_path, extract_face_chips,
                                         face_chip_details, load_dlib_resnet)

# ---------------------------------------------------------------------------------------------------------------
# (a) the reader


def test_reader_finds_the_architecture_of_dnn_face_recognition_ex():
    net = read_dat(default_dat_path())
    assert net.sha256 == KNOWN_SHA256
    kinds = collections.Counter(layer.kind for layer in net.layers)
    assert kinds == {"input": 1, "con": 29, "affine": 29, "relu": 29, "max_pool": 1, "avg_pool": 5, "add_prev": 14,
                     "tag": 18, "skip": 4, "fc": 1}
    assert [layer.kind for layer in net.layers] == [spec.kind for spec in ANET_TYPE]
    cons = net.of_kind("con")
    assert cons[0].arrays["weight"].shape == (32, 3, 7, 7) and cons[0].attrs["stride"] == (2, 2)
    assert [c.attrs["num_filters"] for c in cons] == [32] * 7 + [64] * 8 + [128] * 6 + [256] * 8
    assert sum(c.attrs["stride"] == (2, 2) for c in cons) == 5  # the stem and the four ares_down blocks
    assert all(c.attrs["padding"] == ((0, 0) if c.attrs["stride"] == (2, 2) else (1, 1)) for c in cons[1:])
    # the shipped file holds the testing network: affine_ layers (bn folded), not bn_con
    assert {a.attrs["source"] for a in net.of_kind("affine")} == {"affine_"}
    pools = net.of_kind("avg_pool")
    assert [p.attrs["kernel"] for p in pools] == [(2, 2)] * 4 + [(0, 0)]  # 4 shortcuts + avg_pool_everything
    fc = net.of_kind("fc")[0]
    assert fc.arrays["weight"].shape == (256, 128) and fc.attrs["num_outputs"] == 128
    assert np.allclose(net.input_mean, (122.782, 117.001, 104.298), atol=1e-4)
    assert net.layers[0].attrs["size"] == (150, 150)
    assert net.loss["name"] == "loss_metric_2" and math.isclose(net.loss["distance_threshold"], 0.6, rel_tol=1e-6)
    n_params = sum(a.size for layer in net.layers for a in layer.arrays.values())
    assert n_params == 5_614_592
    assert all(np.isfinite(a).all() and a.dtype == np.float32 for layer in net.layers for a in layer.arrays.values())


def test_reader_rejects_a_wrong_file_naming_it(tmp_path):
    data = default_dat_path().read_bytes()
    truncated = tmp_path / "truncated.dat"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(DlibDatError, match="truncated.dat.*ends early"):
        read_dat(truncated)
    longer = tmp_path / "longer.dat"
    longer.write_bytes(data + b"\x00")
    with pytest.raises(DlibDatError, match="longer.dat.*1 bytes left"):
        read_dat(longer)
    import face_recognition_models as frm

    other = Path(frm.pose_predictor_five_point_model_location())  # a dlib file, but a shape predictor
    with pytest.raises(DlibDatError, match=str(other.name)):
        read_dat(other)
    with pytest.raises(DlibDatError, match="missing.dat"):
        read_dat(tmp_path / "missing.dat")
    with pytest.raises(DlibDatError, match="missing.dat"):
        load_dlib_resnet(tmp_path / "missing.dat")


# A minimal writer of dlib's format (dlib/serialize.h), to build a bn_con2 layer the shipped file does not have.

def _int(v: int) -> bytes:
    mag = abs(v).to_bytes(max(1, (abs(v).bit_length() + 7) // 8), "little")
    return bytes([len(mag) | (0x80 if v < 0 else 0)]) + mag


def _float(v: float) -> bytes:
    m, e = math.frexp(v)
    return _int(int(m * 2 ** 53)) + _int(e - 53)


def _str(s: str) -> bytes:
    return _int(len(s)) + s.encode()


def _tensor(a: np.ndarray) -> bytes:
    shape = (a.size, 1, 1, 1)
    return _int(2) + b"".join(_int(n) for n in shape) + a.astype("<f4").tobytes()


def _alias(*shape: int) -> bytes:
    return _int(1) + b"".join(_int(n) for n in shape)


def test_bn_con_layers_are_folded_as_dlib_folds_them():
    rng = np.random.default_rng(0)
    c = 6
    gamma, beta = rng.normal(1, 0.2, c).astype(np.float32), rng.normal(0, 0.2, c).astype(np.float32)
    mean, var = rng.normal(0, 1, c).astype(np.float32), rng.uniform(0.5, 2, c).astype(np.float32)
    eps = 1e-4
    layer = (_str("bn_con2") + _tensor(np.concatenate([gamma, beta])) + _alias(1, c, 1, 1) + _alias(1, c, 1, 1)
             + _tensor(np.zeros(c)) + _tensor(np.zeros(c)) + _tensor(mean) + _tensor(var) + _int(100) + _int(1000)
             + _float(1.0) + _float(0.0) + _float(1.0) + _float(1.0) + _float(eps))
    parsed = _read_affine(_Stream(layer, "bn.dat"), c)
    assert parsed.attrs["source"] == "bn_con2"
    g, b = bn_to_affine(gamma, beta, mean, var, eps)
    assert np.array_equal(parsed.arrays["gamma"], g) and np.array_equal(parsed.arrays["beta"], b)
    bn = torch.nn.BatchNorm2d(c, eps=eps).eval()
    bn.weight.data, bn.bias.data = torch.from_numpy(gamma), torch.from_numpy(beta)
    bn.running_mean, bn.running_var = torch.from_numpy(mean), torch.from_numpy(var)
    x = torch.from_numpy(rng.normal(size=(2, c, 3, 3)).astype(np.float32))
    folded = x * torch.from_numpy(g)[:, None, None] + torch.from_numpy(b)[:, None, None]
    assert torch.allclose(bn(x), folded, atol=1e-6)
    with pytest.raises(DlibDatError, match="bn.dat.*ends early"):
        _read_affine(_Stream(layer[:-3], "bn.dat"), c)


def test_converted_weights_are_cached_by_the_dat_sha256(tmp_path, monkeypatch):
    monkeypatch.setenv("VOICE2FACE_CACHE_DIR", str(tmp_path))
    model = load_dlib_resnet()
    path = converted_weights_path(KNOWN_SHA256)
    assert path.is_file() and KNOWN_SHA256 in path.name and path.parent == tmp_path / "judges"
    import benchmark.judges.dlib_torch.network as dt

    monkeypatch.setattr(dt, "read_dat", lambda *a: pytest.fail("the cached weights were not used"))
    again = load_dlib_resnet()
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    monkeypatch.undo()
    monkeypatch.setenv("VOICE2FACE_CACHE_DIR", str(tmp_path))
    path.write_bytes(b"damaged")
    rebuilt = load_dlib_resnet()
    assert torch.equal(rebuilt.fc.weight, model.fc.weight) and path.stat().st_size > 1000
    # another file (another sha256) is parsed, not served from the cached weights of the first
    copy = tmp_path / "copy.dat"
    shutil.copy(default_dat_path(), copy)
    with open(copy, "ab") as fh:
        fh.write(b"\x00")
    with pytest.raises(DlibDatError, match="copy.dat"):
        load_dlib_resnet(copy)


def test_network_input_forms_and_errors():
    model = DlibResNet()
    chips = torch.randint(0, 256, (2, 150, 150, 3), dtype=torch.uint8)
    with torch.inference_mode():
        hwc = model(chips)
        chw = model(chips.permute(0, 3, 1, 2).contiguous())
    assert hwc.shape == (2, 128) and hwc.dtype == torch.float32 and torch.equal(hwc, chw)
    with pytest.raises(ValueError, match="uint8"):
        model(chips.float())
    with pytest.raises(ValueError, match=r"\[B, 150, 150, 3\]"):
        model(chips[:, :100])


def test_chip_geometry_equals_dlibs_chip_details():
    import dlib

    rng = np.random.default_rng(1)
    landmarks = np.array([[[150, 90], [130, 92], [70, 90], [90, 91], [112, 140]]], dtype=np.float64)
    landmarks = (landmarks * rng.uniform(0.5, 4, (40, 1, 1)) + rng.normal(0, 6, (40, 5, 2))).round()
    details = face_chip_details(landmarks)
    for i, lm in enumerate(landmarks):
        shape = dlib.full_object_detection(dlib.rectangle(0, 0, 10, 10), [dlib.point(int(x), int(y)) for x, y in lm])
        ref = dlib.get_face_chip_details(shape, 150, 0.25)
        r = ref.rect
        assert np.allclose(details.rect[i], [r.left(), r.top(), r.right(), r.bottom()], atol=1e-9)
        assert math.isclose(details.angle[i], ref.angle, abs_tol=1e-12)


# ---------------------------------------------------------------------------------------------------------------
# Real data: every non-blank face of vox1-mini and vox1-s2f, through dlib's own pipeline once per session


@dataclass
class Reference:
    """dlib-bin's pipeline on one dataset's faces."""

    identities: np.ndarray  # str [N]
    images: list  # uint8 [H, W, 3] each: the image the landmarks refer to (upscaled when under 150 px)
    landmarks: np.ndarray  # float64 [N, 5, 2]
    detected: np.ndarray  # bool [N]
    chips: np.ndarray  # uint8 [N, 150, 150, 3], dlib.get_face_chip
    vectors: np.ndarray  # float32 [N, 128], dlib-bin's face_recognition_model_v1 on those chips
    torch_chips: np.ndarray | None = None  # uint8 [N, 150, 150, 3], extract_face_chips on the same landmarks
    torch_on_dlib_chips: np.ndarray | None = None  # float32 [N, 128], DlibResNet on ``chips``
    torch_on_torch_chips: np.ndarray | None = None  # float32 [N, 128], DlibResNet on ``torch_chips``


def _faces(root: Path, name: str) -> list[tuple[str, Path]]:
    """(identity, path) of every face file: VoxCeleb1 ids (VGGFace names mapped through vox1_meta.csv)."""
    out = [(p.parts[-3], p) for p in sorted((root / "voxceleb1" / "faces").glob("*/*/*.jpg"))]
    if name == "vox1-mini":
        rows = [line.split("\t") for line in (root / "vox1_meta.csv").read_text().splitlines()[1:] if line.strip()]
        vox_of = {r[1].strip(): r[0].strip() for r in rows}
        out += [(vox_of[p.parts[-2]], p) for p in sorted((root / "vggface").glob("*/*.jpg"))]
    return out


def _reference(root: Path, name: str) -> Reference:
    import dlib

    from benchmark.judges.dlib_detect import Locator

    locator = Locator()
    embedder = dlib.face_recognition_model_v1(str(default_dat_path()))
    ids, images, landmarks, detected, chips = [], [], [], [], []
    for identity, path in _faces(root, name):
        image = load_image(path)
        if is_blank(image):
            continue
        loc = locator(image)
        src = loc.upscaled if loc.upscaled is not None else image
        shape = dlib.full_object_detection(dlib.rectangle(0, 0, 1, 1),
                                           [dlib.point(int(x), int(y)) for x, y in loc.landmarks])
        ids.append(identity)
        images.append(src)
        landmarks.append(loc.landmarks)
        detected.append(loc.detected)
        chips.append(np.asarray(dlib.get_face_chip(src, shape, size=150, padding=0.25)))
    vectors = np.concatenate([np.asarray(embedder.compute_face_descriptor(chips[i:i + 64], num_jitters=0))
                              for i in range(0, len(chips), 64)]).astype(np.float32)
    return Reference(np.array(ids), images, np.array(landmarks, dtype=np.float64), np.array(detected),
                     np.stack(chips), vectors)


@pytest.fixture(scope="session")
def references() -> dict:
    """Session store of ``Reference`` per dataset (filled by the ``dataset`` fixture on first use)."""
    return {}


@pytest.fixture(scope="session")
def model() -> DlibResNet:
    return load_dlib_resnet()


@pytest.fixture(params=["vox1-mini", "vox1-s2f"])
def dataset(request, references, model) -> tuple[str, Reference]:
    name = request.param
    if name not in references:
        root = request.getfixturevalue("vox1_mini" if name == "vox1-mini" else "vox1_s2f")
        ref = _reference(root, name)
        ref.torch_chips = extract_face_chips(ref.images, ref.landmarks).numpy()
        ref.torch_on_dlib_chips = _descriptors(model, ref.chips)
        ref.torch_on_torch_chips = _descriptors(model, ref.torch_chips)
        references[name] = ref
    return name, references[name]


def _descriptors(model: DlibResNet, chips) -> np.ndarray:
    chips = torch.as_tensor(np.asarray(chips))
    with torch.inference_mode():
        return torch.cat([model(chips[i:i + 64]) for i in range(0, len(chips), 64)]).numpy()


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a.astype(np.float64), b.astype(np.float64)
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def _chip_diff(a, b) -> tuple[float, int, float]:
    d = np.abs(np.asarray(a, dtype=np.int16) - np.asarray(b, dtype=np.int16))
    return float(d.mean()), int(d.max()), float((d > 0).mean())


@pytest.mark.realdata
def test_network_parity_on_the_same_chips(dataset):
    name, ref = dataset
    cos = _cosines(ref.vectors, ref.torch_on_dlib_chips)
    print(f"\n{name}: {len(cos)} faces ({ref.detected.sum()} detected), network cosine min {cos.min():.9f} "
          f"(1 - min = {1 - cos.min():.1e}) mean {cos.mean():.9f}")
    assert len(cos) > (150 if name == "vox1-mini" else 300)
    assert cos.min() >= 0.9999, f"{name}: min cosine {cos.min()} at face {cos.argmin()}"


@pytest.mark.realdata
def test_chip_parity_with_dlib_get_face_chip(dataset):
    name, ref = dataset
    mean, mx, frac = _chip_diff(ref.torch_chips, ref.chips)
    cos = _cosines(ref.torch_on_dlib_chips, ref.torch_on_torch_chips)
    print(f"\n{name}: chips |diff| mean {mean:.2e} max {mx}, differing values {frac:.2e}; "
          f"descriptor cosine (torch vs dlib chips) 1 - min = {1 - cos.min():.1e}")
    assert mx <= 1 and frac <= 1e-4, (name, mean, mx, frac)
    assert cos.min() >= 0.99999


@pytest.mark.realdata
def test_chip_parity_through_dlibs_image_pyramid(vox1_s2f, model):
    """Large faces (rectangle over ~300 px) go through dlib's pyramid_down<2> before sampling."""
    import dlib
    from PIL import Image

    from benchmark.judges.dlib_detect import Locator

    locator = Locator()
    paths = sorted((vox1_s2f / "voxceleb1" / "faces").glob("*/*/*.jpg"))[::40][:8]
    images, landmarks, ref = [], [], []
    for i, path in enumerate(paths):
        image = load_image(path)
        factor = (3, 5)[i % 2]  # 672 px and 1120 px: one and two pyramid levels
        big = np.asarray(Image.fromarray(image).resize((image.shape[1] * factor, image.shape[0] * factor),
                                                       Image.BICUBIC))
        lm = locator(image).landmarks * factor + factor // 2
        shape = dlib.full_object_detection(dlib.rectangle(0, 0, 1, 1), [dlib.point(int(x), int(y)) for x, y in lm])
        images.append(big)
        landmarks.append(lm)
        ref.append(np.asarray(dlib.get_face_chip(big, shape, size=150, padding=0.25)))
    chips = extract_face_chips(images, np.array(landmarks, dtype=np.float64)).numpy()
    mean, mx, frac = _chip_diff(chips, np.stack(ref))
    print(f"\npyramid path: chips |diff| mean {mean:.2e} max {mx}, differing values {frac:.2e}")
    assert mx <= 1 and frac <= 1e-4


@pytest.mark.realdata
def test_same_1to2_matching_scores(dataset):
    """Seeded 1:2 trials (probe, true face of the probe's identity, imposter face of another identity)."""
    from benchmark.metrics.pairwise import match_1to2

    name, ref = dataset
    torch_vecs = ref.torch_on_torch_chips  # end to end in torch: torch chips, torch network
    rng = np.random.default_rng(0)
    groups = {i: np.flatnonzero(ref.identities == i) for i in np.unique(ref.identities)}
    probes = np.flatnonzero([len(groups[i]) > 1 for i in ref.identities])
    n = 5000
    p = rng.choice(probes, n)
    t = np.array([rng.choice(groups[ref.identities[i]][groups[ref.identities[i]] != i]) for i in p])
    k = np.array([rng.choice(np.flatnonzero(ref.identities != ref.identities[i])) for i in p])

    def scores(v):
        v = torch.from_numpy(v)
        return match_1to2(v[p], v[t], v[k]).numpy()

    dlib_scores, torch_scores = scores(ref.vectors), scores(torch_vecs)
    v = ref.vectors.astype(np.float64)
    margin = np.abs(_cosines(v[p], v[t]) - _cosines(v[p], v[k]))
    print(f"\n{name}: {n} trials, 1:2 accuracy dlib-bin {dlib_scores.mean():.4f} dlib-torch "
          f"{torch_scores.mean():.4f}, agreement {(dlib_scores == torch_scores).mean():.4f}, "
          f"smallest |margin| {margin.min():.2e}")
    assert np.array_equal(dlib_scores, torch_scores)


# ---------------------------------------------------------------------------------------------------------------
# The judge


@pytest.mark.realdata
def test_judge_agrees_with_dlib_judge(vox1_mini, vox1_s2f, tmp_path):
    """DlibTorchJudge mirrors DlibJudge.chip (upscaling, largest box, centre-box fallback) and its embeddings."""
    from PIL import Image

    from benchmark.judges.cache import EmbeddingCache
    from benchmark.judges.dlib_bin import DlibJudge
    from benchmark.judges.dlib_torch import DlibTorchJudge

    paths = (sorted((vox1_mini / "vggface").glob("*/*.jpg"))[::12]
             + sorted((vox1_s2f / "voxceleb1" / "faces").glob("*/*/*.jpg"))[::40])
    images = [im for im in (load_image(p) for p in paths) if not is_blank(im)]
    rng = np.random.default_rng(0)
    images += [np.asarray(Image.fromarray(images[0]).resize((120, 100), Image.BICUBIC)),  # upscaled first
               rng.integers(0, 256, (180, 240, 3), dtype=np.uint8),  # no face: centre-box fallback
               np.ascontiguousarray(images[1][:, ::-1][40:200, 10:])]  # off-centre crop
    reference = DlibJudge()
    ref = [reference.chip(im) for im in images]
    ref_chips, ref_detected = np.stack([r[0] for r in ref]), np.array([r[1] for r in ref])
    assert not ref_detected.all()  # the fallback is exercised
    with DlibTorchJudge(chip_backend="torch", cache=EmbeddingCache(tmp_path / "emb.sqlite")) as judge:
        assert judge.info.id != reference.info.id and judge.info.weights_sha256 == reference.info.weights_sha256
        assert judge.info.preprocess_version == reference.info.preprocess_version
        assert judge._key_suffix != reference._key_suffix
        chips, detected = judge.chips(images)
        assert np.array_equal(detected, ref_detected)
        mean, mx, frac = _chip_diff(chips.numpy(), ref_chips)
        assert mx <= 1 and frac <= 1e-4
        one, flag = judge.chip(images[-2])
        assert one.shape == (150, 150, 3) and one.dtype == np.uint8 and flag is False
        emb = judge.embed(images)
        dlib_emb = reference.embed(images)
        assert np.array_equal(emb.aligned, dlib_emb.aligned)
        assert _cosines(emb.vectors, dlib_emb.vectors).min() >= 0.9999
        judge.descriptors = lambda chips: pytest.fail("not served from the cache")
        again = judge.embed(images)
        assert np.array_equal(again.vectors, emb.vectors) and np.array_equal(again.aligned, emb.aligned)
    with DlibTorchJudge() as cpu_default:  # chips by dlib on the CPU
        assert cpu_default.chip_backend == "dlib"
        chips, detected = cpu_default.chips(images)
        assert np.array_equal(chips.numpy(), ref_chips) and np.array_equal(detected, ref_detected)
    with pytest.raises(ValueError, match="chip_backend"):
        DlibTorchJudge(chip_backend="opencv")


def test_judge_worker_pool_gives_the_same_chips():
    from benchmark.judges.dlib_torch import DlibTorchJudge

    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (160 + 20 * i, 170, 3), dtype=np.uint8) for i in range(4)]
    with DlibTorchJudge(chip_backend="torch") as inline, DlibTorchJudge(workers=2, chip_backend="dlib") as pooled:
        a, fa = inline.chips(images)
        b, fb = pooled.chips(images)
    assert np.array_equal(fa, fb) and (a.int() - b.int()).abs().max() <= 1
