"""Tests of the toy world (benchmark.data.toy): determinism, layout, signals, and the known answer in cheap form.

The full known answer with the judge (1:2 matching of latent twins, about 0.7 gender-stratified) is measured
in the module docstring of ``benchmark.data.toy``; here only its cheap, identity-level consequences are checked.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import re
from pathlib import Path

import numpy as np
import pytest

from benchmark.data import toy
from benchmark.data.manifest import load_vox1_layout, wen_split

N = 6  # 2 test identities (1 f, 1 m) and 4 training identities (2 f, 2 m)
SEED = 3


def tree_digest(root: Path) -> str:
    """sha256 over every file's relative path and bytes, in sorted order."""
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def f0_autocorrelation(x: np.ndarray, sr: int = 16_000) -> float:
    """Median f0 in Hz of the voiced 40 ms frames (normalised autocorrelation peak > 0.5 in 60–400 Hz)."""
    frame, hop, lo, hi = 640, 160, sr // 400, sr // 60
    starts = range(0, len(x) - frame, hop)
    energy = np.array([np.sum(x[i:i + frame] ** 2) for i in starts])
    f0s = []
    for e, i in zip(energy, starts):
        if e < 0.1 * energy.max():
            continue
        seg = x[i:i + frame] - x[i:i + frame].mean()
        ac = np.correlate(seg, seg, "full")[frame - 1:]
        ac = ac / ac[0]
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] > 0.5:
            f0s.append(sr / lag)
    assert len(f0s) >= 10, "too few voiced frames to estimate f0"
    return float(np.median(f0s))


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    return toy.make_toy_world(tmp_path_factory.mktemp("toy") / "world", n_identities=N, seed=SEED)


@pytest.fixture(scope="module")
def identities(world) -> list[toy.ToyIdentity]:
    return toy.read_toy_latents(world)


# ------------------------------------------------------------------------------------------ determinism

def test_two_generations_are_byte_identical(world, tmp_path):
    again = toy.make_toy_world(tmp_path / "again", n_identities=N, seed=SEED)
    assert tree_digest(again) == tree_digest(world)


def test_files_do_not_depend_on_generation_order(world, identities, tmp_path):
    # write only the last identity, alone: its files must equal those written after all the others
    index = N - 1
    ident = identities[index]
    toy.world._write_identity(tmp_path, ident, index, SEED)
    alone = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert len(alone) == 6 + 6 + 4
    for path in alone:
        rel = path.relative_to(tmp_path)
        assert path.read_bytes() == (world / rel).read_bytes(), rel


def test_seed_changes_the_population():
    a, b = toy.sample_identities(N, 0), toy.sample_identities(N, 1)
    assert [i.name for i in a] == [i.name for i in b]
    assert all(x.age != y.age and x.face_noise != y.face_noise for x, y in zip(a, b))
    assert toy.sample_identities(N, 0) == a


def test_render_and_synthesis_are_pure_functions_of_the_rng():
    ident = toy.sample_identities(4, 0)[1]
    assert np.array_equal(toy.render_face(ident, np.random.default_rng(5)),
                          toy.render_face(ident, np.random.default_rng(5)))
    assert not np.array_equal(toy.render_face(ident, np.random.default_rng(5)),
                              toy.render_face(ident, np.random.default_rng(6)))
    assert np.array_equal(toy.synthesize_voice(ident, np.random.default_rng(5), 1.0),
                          toy.synthesize_voice(ident, np.random.default_rng(5), 1.0))


# ------------------------------------------------------------------------------------------------ layout

def test_default_population_split_and_gender():
    people = toy.sample_identities()  # 48, seed 0
    assert len(people) == 48
    assert [p.voxceleb_id for p in people] == [f"toy{k:05d}" for k in range(1, 49)]
    test = [p for p in people if wen_split(p.name) == "test"]
    validation = [p for p in people if wen_split(p.name) == "validation"]
    train = [p for p in people if wen_split(p.name) == "train"]
    assert (len(validation), len(test), len(train)) == (8, 8, 32)  # held-out names A–E: A–B validation, C–E test
    assert sum(p.gender == "f" for p in test) == 4 and sum(p.gender == "f" for p in validation) == 4
    assert sum(p.gender == "f" for p in train) == 16
    assert len({p.name for p in people}) == 48
    assert all(re.fullmatch(r"[A-Za-z0-9_]+", p.name) for p in people)
    assert all(toy.AGE_RANGE[0] <= p.age <= toy.AGE_RANGE[1] and 0 <= p.skin_tone <= 1 for p in people)


def test_bad_arguments_raise():
    with pytest.raises(ValueError):
        toy.sample_identities(1)
    with pytest.raises(ValueError):
        toy.sample_identities(8, seed=-1)
    ident = toy.sample_identities(2)[0]
    with pytest.raises(ValueError):
        toy.render_face(ident, np.random.default_rng(0), size=16)
    with pytest.raises(ValueError):
        toy.synthesize_voice(ident, np.random.default_rng(0), 0.0)
    with pytest.raises(ValueError):
        dataclasses.replace(ident, gender="x")


def test_layout_matches_voxceleb_vggface(world, identities):
    with open(world / "vox1_meta.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))
    assert rows[0] == ["VoxCeleb1 ID", "VGGFace1 ID", "Gender", "Nationality", "Set"]
    assert [r[0] for r in rows[1:]] == [i.voxceleb_id for i in identities]
    assert all(r[2] in ("m", "f") and r[3] == "Toyland" and r[4] == "dev" for r in rows[1:])
    assert (world / "TOY_VERSION").read_text() == f"{toy.TOY_VERSION}\n"
    assert "synthetic" in (world / "README.md").read_text().lower()
    for ident in identities:
        videos = sorted(p.name for p in (world / "voxceleb1" / "wav" / ident.voxceleb_id).iterdir())
        assert len(videos) == 3 and all(re.fullmatch(r"[A-Za-z0-9_-]{11}", v) for v in videos)
        for v in videos:
            wavs = sorted(p.name for p in (world / "voxceleb1" / "wav" / ident.voxceleb_id / v).iterdir())
            assert wavs == ["00001.wav", "00002.wav"]
        photos = sorted(p.name for p in (world / "vggface" / ident.name).iterdir())
        assert photos == [f"{k:08d}.png" for k in range(1, 7)]
        frame_videos = sorted(p.name for p in (world / "voxceleb1" / "faces" / ident.voxceleb_id).iterdir())
        assert len(frame_videos) == 2 and set(frame_videos) <= set(videos)
        for v in frame_videos:
            frames = [p.name for p in (world / "voxceleb1" / "faces" / ident.voxceleb_id / v).iterdir()]
            assert len(frames) == 2 and all(re.fullmatch(r"\d{7}\.png", f) for f in frames)


def test_project_loader_reads_the_toy_world(world):
    m = load_vox1_layout(world, "toy")
    assert m.excluded == []
    # 6 identities: the two held-out ones are named A… (Alma, Abel): Wen et al.'s validation split (A–B)
    assert m.summary()["validation"] == {"identities": 2, "utterances": 12, "faces": 20}
    assert m.summary()["test"] == {"identities": 0, "utterances": 0, "faces": 0}
    assert m.summary()["train"] == {"identities": 4, "utterances": 24, "faces": 40}
    assert {i.gender for i in m.split("validation")} == {"f", "m"}


def test_latents_file_round_trips(world, identities):
    assert identities == toy.sample_identities(N, SEED)


# ------------------------------------------------------------------------------------------- signals

def test_voices_are_16k_mono_pcm16_in_range_and_not_silent(world):
    import soundfile as sf

    wavs = sorted((world / "voxceleb1" / "wav").rglob("*.wav"))
    assert len(wavs) == 6 * N
    for path in wavs:
        info = sf.info(str(path))
        assert (info.samplerate, info.channels, info.subtype) == (16_000, 1, "PCM_16")
        assert 3.0 <= info.duration <= 5.0
        x, _ = sf.read(str(path), dtype="float32")
        peak, rms = float(np.abs(x).max()), float(np.sqrt(np.mean(x ** 2)))
        assert 0.3 < peak < 0.99, path  # loud enough, never clipped
        assert rms > 0.02, path


def test_synthesize_voice_contract():
    ident = toy.sample_identities(4, 0)[0]
    x = toy.synthesize_voice(ident, np.random.default_rng(0), 1.25)
    assert x.dtype == np.float32 and x.shape == (20_000,)
    assert np.all(np.isfinite(x)) and float(np.abs(x).max()) <= 1.0
    # silences (pauses) exist, but most 100 ms windows carry sound
    win = x[: len(x) // 1600 * 1600].reshape(-1, 1600)
    assert np.mean(np.sqrt(np.mean(win ** 2, axis=1)) > 0.01) > 0.5


def test_faces_are_uint8_rgb_of_the_right_size(world):
    from PIL import Image

    pngs = sorted((world / "vggface").rglob("*.png")) + sorted((world / "voxceleb1" / "faces").rglob("*.png"))
    assert len(pngs) == 10 * N
    for path in pngs:
        with Image.open(path) as im:
            assert (im.mode, im.size) == ("RGB", (toy.FACE_SIZE, toy.FACE_SIZE))
            assert np.asarray(im).std() > 10  # not blank
    ident = toy.sample_identities(4, 0)[2]
    img = toy.render_face(ident, np.random.default_rng(0), size=64)
    assert img.dtype == np.uint8 and img.shape == (64, 64, 3)


# ------------------------------------------------------------------------------------------ known answer

def test_female_voices_have_higher_f0_than_male_voices(world, identities):
    import soundfile as sf

    f0 = {}
    for ident in identities:
        wavs = sorted((world / "voxceleb1" / "wav" / ident.voxceleb_id).rglob("*.wav"))
        f0[ident.voxceleb_id] = np.mean([f0_autocorrelation(sf.read(str(p), dtype="float32")[0]) for p in wavs])
    female = [f0[i.voxceleb_id] for i in identities if i.gender == "f"]
    male = [f0[i.voxceleb_id] for i in identities if i.gender == "m"]
    assert 150 < np.mean(female) < 260 and 85 < np.mean(male) < 150
    assert np.mean(female) > 1.3 * np.mean(male)


def test_body_size_lowers_f0():
    ident = toy.sample_identities(4, 0)[1]
    small = dataclasses.replace(ident, body_size=-2.0)
    large = dataclasses.replace(ident, body_size=2.0)
    f_small = f0_autocorrelation(toy.synthesize_voice(small, np.random.default_rng(1), 3.0))
    f_large = f0_autocorrelation(toy.synthesize_voice(large, np.random.default_rng(1), 3.0))
    assert f_large < 0.85 * f_small  # exp(-0.06 * 4) = 0.79 by construction


def test_skin_tone_darkens_the_face_and_body_size_widens_it():
    ident = toy.sample_identities(4, 0)[2]

    def cheek_luma(tone: float) -> float:
        img = toy.render_face(dataclasses.replace(ident, skin_tone=tone), np.random.default_rng(0)).astype(float)
        patch = img[68:76, 72:80]  # skin between the right eye and the nose
        return float(patch.mean())

    assert cheek_luma(0.9) < cheek_luma(0.1) - 60

    def face_width(body: float) -> int:
        img = toy.render_face(dataclasses.replace(ident, body_size=body), np.random.default_rng(0)).astype(float)
        row = img[80]  # a row at the cheeks: count skin-coloured pixels
        skin = np.array(toy.faces._face_params(dataclasses.replace(ident, body_size=body))["skin"])
        return int(np.sum(np.abs(row - skin).max(axis=1) < 40))

    assert face_width(2.0) > face_width(-2.0) + 6


def test_the_judge_detects_every_toy_face_and_tells_identities_apart(world, identities):
    pytest.importorskip("dlib")
    pytest.importorskip("face_recognition_models")
    from benchmark.judges.cache import EmbeddingCache
    from benchmark.data.images import load_image
    from benchmark.judges.dlib_bin import DlibJudge

    m = load_vox1_layout(world, "toy")
    faces = [f for f in m.faces if f.source == "vggface" and f.id[-1] in "123"]  # 3 photos each: ~0.15 s a face
    emb = DlibJudge(EmbeddingCache(None)).embed([load_image(f.path) for f in faces])
    assert emb.aligned.all()  # dlib's HOG detector finds every face
    labels = np.array([f.identity for f in faces])
    d = np.linalg.norm(emb.vectors[:, None] - emb.vectors[None], axis=-1)  # [F, F]
    d[np.eye(len(faces), dtype=bool)] = np.inf
    nearest = labels[np.argmin(d, axis=1)]
    assert np.mean(nearest == labels) == 1.0  # every photo's nearest other photo is the same identity


# ------------------------------------------------------------------------------------------- cache

def test_ensure_reuses_and_repairs(tmp_path):
    n, seed = 2, 0
    root = toy.ensure_toy_world(tmp_path, n, seed)
    assert root == tmp_path / f"toy-v{toy.TOY_VERSION}-n{n}-s{seed}"
    assert toy.is_toy_world(root, n, seed)
    digest = tree_digest(root)
    stamp = (root / "vox1_meta.csv").stat().st_mtime_ns
    assert toy.ensure_toy_world(tmp_path, n, seed) == root
    assert (root / "vox1_meta.csv").stat().st_mtime_ns == stamp  # reused, not regenerated

    wav = next((root / "voxceleb1" / "wav").rglob("*.wav"))
    wav.write_bytes(wav.read_bytes()[:100])  # half-written file
    assert not toy.is_toy_world(root, n, seed)
    toy.ensure_toy_world(tmp_path, n, seed)
    assert tree_digest(root) == digest

    (root / "vggface" / "stray.png").write_bytes(b"x")  # foreign extra file: detected
    assert not toy.is_toy_world(root, n, seed)

    import shutil
    shutil.rmtree(root)
    root.mkdir()
    (root / "something_else.txt").write_text("not a toy world")  # foreign directory
    toy.ensure_toy_world(tmp_path, n, seed)
    assert tree_digest(root) == digest
    assert [p.name for p in tmp_path.iterdir()] == [root.name]  # no temporary directories left behind


def test_make_toy_world_never_deletes_a_foreign_directory_but_replaces_a_toy_world(tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.txt").write_text("precious")
    with pytest.raises(FileExistsError):
        toy.make_toy_world(foreign, n_identities=2, seed=0)
    assert (foreign / "thesis.txt").read_text() == "precious"
    with pytest.raises(FileExistsError):
        toy.make_toy_world(foreign / "thesis.txt", n_identities=2, seed=0)

    target = tmp_path / "w"
    toy.make_toy_world(target, n_identities=2, seed=0)
    toy.make_toy_world(target, n_identities=2, seed=1)  # an older toy world is replaced
    assert toy.is_toy_world(target, 2, 1)
    assert not toy.is_toy_world(target, 2, 0)  # the seed is part of the identity of a world
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "w"]  # no temporary directories left
