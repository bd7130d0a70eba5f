"""Issue 19's "done when": a user's own Speech2Face-style clip folder (one identity per clip, gender unlabelled), made
here from vox1-s2f's clips, goes through the documented commands — convert, label, validate, score the released
Speech2Face outputs, run the references — and every step gives its known answer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import stored_result

from benchmark.cli import main

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def clip_world(vox1_s2f, tmp_path_factory):
    """``clips/<clip>/speech.wav`` + ``face.jpg`` from each vox1-s2f clip, and the released Speech2Face output of each
    clip as a submission folder ``s2f/<clip>/speech.jpg`` (nested: the utterance id is ``<clip>/speech``)."""
    base = tmp_path_factory.mktemp("own")
    n = 0
    for wav in sorted((vox1_s2f / "voxceleb1" / "wav").rglob("*.wav")):
        vid, video, stem = wav.relative_to(vox1_s2f / "voxceleb1" / "wav").with_suffix("").parts
        clip = f"{video}_{stem}"  # no speaker id: AVSpeech has none; YouTube ids may hold "_" and "-"
        (base / "clips" / clip).mkdir(parents=True)
        shutil.copyfile(wav, base / "clips" / clip / "speech.wav")
        shutil.copyfile(vox1_s2f / "voxceleb1" / "faces" / vid / video / f"{stem}.jpg", base / "clips" / clip / "face.jpg")
        (base / "s2f" / clip).mkdir(parents=True)
        shutil.copyfile(vox1_s2f / "speech2face" / "v2f-exg0.0" / vid / video / f"{stem}.jpg",
                        base / "s2f" / clip / "speech.jpg")
        n += 1
    assert n == 328
    m = base / "manifest"
    assert main(["dataset", "convert", "clips", str(base / "clips"), "--out", str(m), "--name", "s2f-clips"]) == 0
    assert main(["label", str(m)]) == 0
    return base


def test_convert_and_label(clip_world, capsys):
    from benchmark.data.validate import validate_manifest
    from benchmark.judges.labels import model_source

    report = validate_manifest(clip_world / "manifest")
    assert report["problems"] == []
    counts = report["counts"]
    assert sum(c["identities"] for c in counts.values()) == 328  # one identity per clip
    source = model_source()
    assert all(set(c["gender"]) == {source} for c in counts.values() if c["identities"])
    assert all(set(c["age"]) == {source} for c in counts.values() if c["identities"])
    assert main(["dataset", "validate", str(clip_world / "manifest")]) == 0
    assert "no problems found" in capsys.readouterr().out


def test_model_labels_agree_with_vox1_meta_mostly(clip_world, vox1_s2f):
    """The predicted genders are labels, not truth: they agree with VoxCeleb1's human genders on most clips (the
    attribute model's accuracy on these crops is what gender's real_face_accuracy measured on vox1-s2f)."""
    import csv

    from benchmark.data.manifest import read_meta

    meta = read_meta(vox1_s2f / "vox1_meta.csv")
    video_owner = {}
    for wav in (vox1_s2f / "voxceleb1" / "wav").rglob("*.wav"):
        vid, video, stem = wav.relative_to(vox1_s2f / "voxceleb1" / "wav").with_suffix("").parts
        video_owner[f"{video}_{stem}"] = meta[vid]["Gender"].lower()
    rows = list(csv.DictReader(open(clip_world / "manifest" / "identities.csv", encoding="utf-8")))
    agree = sum(r["gender"] == video_owner[r["id"]] for r in rows) / len(rows)
    stored = json.loads(stored_result("oracle", "gender").read_text())["scores"]["real_face_accuracy"]["ci95"]
    assert stored[0] - 0.05 <= agree <= 1.0


def test_speech2face_outputs_scored_on_own_data(clip_world):
    out = clip_world / "results"
    assert main(["score", "--faces", str(clip_world / "s2f"), "--name", "speech2face-released", "--protocol",
                 "unstratified,stratified,gender,age", "--dataset", str(clip_world / "manifest"), "--split", "all",
                 "--results-dir", str(out), "--quiet"]) == 0
    files = sorted(out.rglob("*.json"))
    assert len(files) == 4 and all("/all/" in f.as_posix() for f in files)  # the split is in the path
    results = {json.loads(f.read_text())["protocol"]["name"]: {**json.loads(f.read_text()), "path": str(f)}
               for f in files}
    for r in results.values():
        ident = r["dataset"]["identity"]
        assert ident["name"] == "s2f-clips" and ident["origin"] == "manifest"
        assert "one identity per clip" in ident["split_rule"] and sum(ident["counts"].values()) == 328
        assert list(ident["labels"]["gender"]) == [r_ for r_ in ident["labels"]["gender"] if r_.startswith("model:")]
        assert f"s2f-clips-{ident['fingerprint'][:8]}" in Path(r["path"]).as_posix()
    un = results["unstratified"]["scores"]["accuracy"]
    assert un["n_identities"] == 328 and un["ci95"][0] > 0.5  # the released outputs carry the voice's identity
    gender = results["gender"]
    assert "real_face_accuracy" not in gender["scores"]  # truth = the same model's labels: no ceiling shown
    assert gender["info"]["truth"]["model_labels"] and gender["info"]["ceiling"].startswith("none")
    age = results["age"]  # truth: the ages bench label wrote (the manifest's, not the faces' predicted median)
    assert age["protocol"]["spec"]["age_reference"].startswith("manifest age labels")
    assert age["info"]["truth"]["model_labels"] and age["info"]["ceiling"].startswith("none")
    assert set(age["scores"]) == {"band_accuracy", "abs_age_gap", "majority_band_accuracy"}
    assert age["scores"]["band_accuracy"]["n_identities"] == 328
    # the stored results of a manifest are re-checkable: bench check finds the manifest they record, re-scores the
    # submission folder on it and reproduces every number
    assert all(Path(r["dataset"]["manifest"]) == (clip_world / "manifest" / "manifest.json").resolve()
               for r in results.values())
    assert main(["check", "--results-dir", str(out), "--tolerance", "exact", "--quiet"]) == 0
    print("s2f-clips speech2face-released:", {k: round(v["scores"][next(iter(v["scores"]))]["value"], 4)
                                              for k, v in results.items()})


@pytest.mark.parametrize("model", ["mean-face", "random-face"])
def test_chance_references_at_chance_on_own_data(clip_world, model):
    out = clip_world / f"results-{model}"
    assert main(["run", "--model", model, "--protocol", "unstratified,stratified", "--dataset",
                 str(clip_world / "manifest"), "--results-dir", str(out), "--quiet"]) == 0
    for f in out.rglob("*.json"):
        acc = json.loads(f.read_text())["scores"]["accuracy"]
        assert acc["ci95"][0] <= 0.5 <= acc["ci95"][1], (f, acc)


def test_oracle_refuses_single_face_speakers(clip_world, capsys):
    """Its known answer here is a refusal: every speaker has one face, the crop of the probe's own clip, which would
    be the trial's own true face (benchmark.trials.builders.drop_single_face_identities)."""
    code = main(["run", "--model", "oracle", "--protocol", "unstratified,stratified", "--dataset",
                 str(clip_world / "manifest"), "--results-dir", str(clip_world / "results-oracle"), "--quiet"])
    assert code == 2  # several protocols, none scored: an error, with every reason
    err = capsys.readouterr().err
    assert "nothing was scored" in err and "unstratified:" in err and "stratified:" in err
    assert not list((clip_world / "results-oracle").rglob("*.json"))
