"""The dataset manifest (benchmark.data.manifest_io): written by converters, read for scoring, checked by
`bench dataset validate`; vox1-s2f through its manifest scores exactly as the registered dataset."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import stored_result
from PIL import Image

from benchmark.cli import main
from benchmark.data.manifest_io import FORMAT, read_manifest, write_manifest
from benchmark.data.validate import validate_manifest
from benchmark.errors import DataError

REPO = Path(__file__).resolve().parents[1]


def _wav(path: Path, seconds: float = 0.5, freq: float = 220.0) -> None:
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(16000 * seconds)) / 16000
    sf.write(path, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), 16000)


def _jpg(path: Path, value: int = 128) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(value)
    Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(path)


def _hand_manifest(folder: Path, identities: str, utterances: str, faces: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "identities.csv").write_text(identities)
    (folder / "utterances.csv").write_text(utterances)
    (folder / "faces.csv").write_text(faces)
    head = {"format": FORMAT, "version": 1, "name": "lab", "root": ".", "split_rule": "by hand",
            "tables": {"identities": "identities.csv", "utterances": "utterances.csv", "faces": "faces.csv"}}
    (folder / "manifest.json").write_text(json.dumps(head))
    return folder


def test_hand_written_manifest_reads_with_labels_and_their_sources(tmp_path):
    for who in ("a", "b"):
        _wav(tmp_path / "audio" / f"{who}.wav")
        _jpg(tmp_path / "faces" / f"{who}.jpg")
    sha = "0" * 64
    folder = _hand_manifest(
        tmp_path,
        "id,gender,gender_source,age,age_source,split\n"
        f"a,m,human,34,model:age-net@{sha},test\nb,f,human,,,train\nc,,,,,train\n",
        "path,identity,video\naudio/a.wav,a,v1\naudio/b.wav,b,v2\n",
        "path,identity,kind,video\nfaces/a.jpg,a,clip,v1\nfaces/b.jpg,b,photo,\n")
    manifest = read_manifest(folder)
    assert [i.id for i in manifest.identities] == ["a", "b"]
    assert manifest.excluded == [{"identity": "c", "reason": "no voice"}]
    a = manifest.identity("a")
    assert (a.gender, a.gender_source, a.age, a.age_source) == ("m", "human", "34", f"model:age-net@{sha}")
    assert [(f.id, f.source, f.kind) for f in manifest.faces] == [("faces/a", "voxceleb", "clip"),
                                                                  ("faces/b", "vggface", "photo")]
    assert manifest.utterances[0].id == "audio/a" and Path(manifest.utterances[0].path).is_file()
    assert manifest.origin == "manifest" and manifest.split_rule == "by hand"
    report = validate_manifest(folder)
    assert report["problems"] == []
    assert report["counts"]["test"]["identities"] == 1 and report["counts"]["train"]["identities"] == 1
    assert report["counts"]["test"]["age"] == {f"model:age-net@{sha}": 1}


def test_validate_lists_every_problem_and_read_refuses(tmp_path, capsys):
    _wav(tmp_path / "audio" / "a.wav")
    _jpg(tmp_path / "faces" / "a.jpg")
    folder = _hand_manifest(
        tmp_path,
        "id,gender,gender_source,split\na,x,human,test\na,m,,dev\n",
        "path,identity\naudio/a.wav,a\naudio/missing.wav,a\naudio/a.wav,zz\n",
        "path,identity,kind\nfaces/a.jpg,a,selfie\n../escape.jpg,a,photo\n")
    problems = validate_manifest(folder)["problems"]
    text = "\n".join(problems)
    for needle in ("identity id 'a' appears 2 times", "gender 'x'", "split 'dev'", "gender_source ''",
                   "missing.wav not found", "identity 'zz' is not in the identities table", "path 'audio/a.wav' appears 2",
                   "kind 'selfie'", "without '..'"):
        assert needle in text, (needle, text)
    with pytest.raises(DataError, match="problem"):
        read_manifest(folder)
    assert main(["dataset", "validate", str(folder)]) == 1
    assert "problem(s)" in capsys.readouterr().out


def test_not_a_manifest_and_parquet_without_pyarrow(tmp_path):
    with pytest.raises(DataError, match="no dataset manifest"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text('{"format": "other"}')
    with pytest.raises(DataError, match="not a manifest of this suite"):
        read_manifest(tmp_path)
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        head = {"format": FORMAT, "version": 1, "name": "lab", "tables": {
            "identities": "i.parquet", "utterances": "u.parquet", "faces": "f.parquet"}}
        (tmp_path / "manifest.json").write_text(json.dumps(head))
        (tmp_path / "i.parquet").write_bytes(b"PAR1")
        with pytest.raises(DataError, match="pip install pyarrow"):
            read_manifest(tmp_path)


@pytest.mark.realdata
def test_vox1_s2f_manifest_equals_the_registered_dataset(vox1_s2f, tmp_path):
    from benchmark.data.datasets import load_dataset

    assert main(["dataset", "convert", "vox1-s2f", str(vox1_s2f), "--out", str(tmp_path / "m")]) == 0
    registered, through = load_dataset("vox1-s2f"), load_dataset(str(tmp_path / "m"))
    assert through.dataset_id == "vox1-s2f"
    assert through.sha256() == registered.sha256()
    assert [(f.id, f.kind) for f in through.faces][:1] == [(registered.faces[0].id, "clip")]
    assert through.summary() == registered.summary()
    report = validate_manifest(tmp_path / "m")
    assert report["problems"] == [] and report["counts"]["test"]["identities"] == 22


@pytest.mark.realdata
def test_vox1_s2f_scored_through_its_manifest_gives_the_stored_numbers(vox1_s2f, tmp_path):
    """`bench score` of the released Speech2Face outputs with --dataset <manifest>: the same trials (sha256) and the
    same numbers as the stored result of the registered dataset."""
    stored = json.loads(stored_result("speech2face-released", "stratified").read_text())
    assert main(["dataset", "convert", "vox1-s2f", str(vox1_s2f), "--out", str(tmp_path / "m")]) == 0
    out = tmp_path / "r.json"
    assert main(["score", "--faces", str(vox1_s2f / "speech2face" / "v2f-exg0.0"), "--name", "speech2face-released",
                 "--protocol", "stratified", "--dataset", str(tmp_path / "m"), "--split", "all", "--out", str(out),
                 "--quiet"]) == 0
    new = json.loads(out.read_text())
    assert new["trials"]["sha256"] == stored["trials"]["sha256"]
    assert new["dataset"]["manifest_sha256"] == stored["dataset"]["manifest_sha256"]
    assert new["dataset"]["files"] == stored["dataset"]["files"]
    assert new["scores"] == stored["scores"]
    assert new["strata"] == stored["strata"]


def test_parquet_tables_read_as_the_csv_ones(tmp_path):
    """The same dataset written as Parquet and as CSV is the same manifest (fingerprint, labels, paths). Needs the
    optional ``parquet`` extra (pyarrow), which the ``dev`` extra does not install."""
    pytest.importorskip("pyarrow", reason="the optional parquet extra (pip install pyarrow) is not installed")
    from benchmark.data.datasets import dataset_root

    for fmt in ("csv", "parquet"):
        assert main(["dataset", "convert", "vox1", str(dataset_root("toy")), "--out", str(tmp_path / fmt), "--name",
                     "toy-m", "--format", fmt]) == 0
    assert sorted(p.name for p in (tmp_path / "parquet").iterdir()) == [
        "faces.parquet", "identities.parquet", "manifest.json", "utterances.parquet"]
    csv_m, pq_m = read_manifest(tmp_path / "csv"), read_manifest(tmp_path / "parquet")
    assert pq_m.sha256() == csv_m.sha256()
    assert (pq_m.identities, pq_m.utterances, pq_m.faces) == (csv_m.identities, csv_m.utterances, csv_m.faces)
