"""End-to-end on the real vox1-mini sample (VoxCeleb1 voices + VGGFace faces). These run in CI."""

import shutil

import pytest

from benchmark.engine.run import run
from benchmark.errors import DataError
from conftest import MINI_SPLIT

pytestmark = pytest.mark.realdata

_RESULTS: dict = {}


def scored(vox1_mini, model, protocol, seed=0, batch_size=16):
    key = (model, protocol, seed, batch_size)
    if key not in _RESULTS:
        _RESULTS[key] = run(model, protocol, "vox1-mini", data_root=vox1_mini, split=MINI_SPLIT, seed=seed, batch_size=batch_size,
                            progress=False, write=False)
    return _RESULTS[key]


@pytest.mark.parametrize("protocol", ["unstratified", "stratified"])
def test_oracle_is_the_ceiling(vox1_mini, protocol):
    acc = scored(vox1_mini, "oracle", protocol)["scores"]["accuracy"]
    assert acc["value"] >= 0.95
    assert acc["n"] == 540 and acc["n_identities"] == 5  # validation + test (MINI_SPLIT)


@pytest.mark.parametrize("model", ["mean-face", "random-face"])
@pytest.mark.parametrize("protocol", ["unstratified", "stratified"])
def test_chance_references_are_at_chance(vox1_mini, model, protocol):
    acc = scored(vox1_mini, model, protocol)["scores"]["accuracy"]
    assert 0.35 <= acc["value"] <= 0.65
    assert acc["ci95"][0] <= 0.5 <= acc["ci95"][1]


def test_same_seed_same_scores_and_trials(vox1_mini):
    a = scored(vox1_mini, "random-face", "stratified")
    b = run("random-face", "stratified", "vox1-mini", data_root=vox1_mini, split=MINI_SPLIT, seed=0, progress=False, write=False)
    assert a["trials"]["sha256"] == b["trials"]["sha256"]
    assert a["scores"] == b["scores"] and a["strata"] == b["strata"]
    c = scored(vox1_mini, "random-face", "stratified", seed=1)
    assert c["trials"]["sha256"] != a["trials"]["sha256"]


def test_batch_size_does_not_change_scores(vox1_mini):
    a = scored(vox1_mini, "random-face", "unstratified", batch_size=16)
    b = scored(vox1_mini, "random-face", "unstratified", batch_size=5)
    assert a["scores"] == b["scores"] and a["strata"] == b["strata"]


def test_blank_images_are_counted_as_excluded(vox1_mini):
    inputs = scored(vox1_mini, "oracle", "stratified")["inputs"]
    assert inputs["real_faces_blank_excluded"] == 13
    assert all(f.startswith("vggface/Caitriona_Balfe/") for f in inputs["real_faces_blank_ids"])
    assert inputs["real_faces_embedded"] == 87


def test_per_gender_strata(vox1_mini):
    result = scored(vox1_mini, "oracle", "stratified")
    assert set(result["strata"]) == {"gender=f", "gender=m"}
    assert result["strata"]["gender=f"]["accuracy"]["n_identities"] == 2
    assert result["strata"]["gender=m"]["accuracy"]["n_identities"] == 3


@pytest.fixture
def mini_copy(vox1_mini, tmp_path):
    dst = tmp_path / "vox1-mini"
    shutil.copytree(vox1_mini, dst)
    return dst


def test_corrupt_wav_is_named(mini_copy):
    bad = mini_copy / "voxceleb1/wav/id10001/1zcIwhmdeo4/00001.wav"
    bad.write_bytes(b"not a wav file at all" * 50)
    with pytest.raises(DataError, match="id10001/1zcIwhmdeo4/00001.wav"):
        run("oracle", "unstratified", "vox1-mini", data_root=mini_copy, split=MINI_SPLIT, progress=False, write=False)


def test_corrupt_jpg_is_named(mini_copy):
    bad = mini_copy / "vggface/Debi_Mazar/00000001.jpg"
    bad.write_bytes(bad.read_bytes()[:40])
    with pytest.raises(DataError, match="Debi_Mazar/00000001.jpg"):
        run("oracle", "unstratified", "vox1-mini", data_root=mini_copy, split=MINI_SPLIT, progress=False, write=False)


def test_identity_without_faces_is_reported(mini_copy):
    from benchmark.data.manifest import load_vox1_layout

    shutil.rmtree(mini_copy / "vggface/Edward_Asner")
    shutil.rmtree(mini_copy / "voxceleb1/faces/id10278")
    manifest = load_vox1_layout(mini_copy, "vox1-mini")
    assert {"identity": "id10278", "reason": "voice but no face"} in manifest.excluded
    assert "id10278" not in {i.id for i in manifest.identities}


def test_result_file_is_written(vox1_mini, tmp_path):
    from benchmark.results.io import read_result

    out = tmp_path / "r.json"
    result = run("mean-face", "stratified", "vox1-mini", data_root=vox1_mini, split=MINI_SPLIT, out=out, progress=False)
    stored = read_result(out)
    assert stored["scores"] == result["scores"]
    for key in ("schema_version", "suite_version", "git_commit", "protocol", "trials", "dataset", "judge",
                "generator", "seed", "device", "inputs", "timing", "environment"):
        assert key in stored
    assert stored["judge"]["weights_sha256"] and stored["dataset"]["manifest_sha256"]


def test_oracle_never_shows_a_gallery_image(vox1_mini):
    """The oracle must draw its face from another source than the trials' gallery (else it shows the trial's own
    true face and the ceiling is a lookup): it never reads a gallery-source file, and no face it returns is a
    gallery image passed through its own resize."""
    import numpy as np

    from baselines.oracle import OracleGenerator
    from benchmark.data.datasets import load_dataset
    from benchmark.generators.base import GeneratorContext
    from benchmark.data.images import load_image, square_resize

    mini = load_dataset("vox1-mini", data_root=vox1_mini)
    read = []

    def load_face(face):
        read.append(face)
        return load_image(face.path)

    ctx = GeneratorContext(manifest=mini, seed=0, gallery_source="vggface", load_face=load_face)
    oracle = OracleGenerator(ctx)
    probes = [u.id for i in mini.split(MINI_SPLIT) for u in mini.utterances_of(i.id)]
    faces = oracle.generate(None, None, probes).permute(0, 2, 3, 1).numpy()  # [U, S, S, 3]
    assert read and all(f.source != "vggface" for f in read)
    for utt, face in zip(probes, faces):
        for gallery in mini.faces_of(utt.split("/")[0], "vggface"):
            assert not np.array_equal(face, square_resize(load_image(gallery.path), oracle.image_size)), utt
