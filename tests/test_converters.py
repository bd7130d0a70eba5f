"""Converters from the field's layouts to a manifest (benchmark.data.converters), each on a small tree in that layout
that the test builds; VoxCeleb2's AAC audio decoded with PyAV; dataset plug-ins through entry points."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmark.cli import main
from benchmark.data.converters.common import hash_split
from benchmark.data.converters.hq_voxceleb import sf2f_split
from benchmark.data.manifest_io import read_manifest
from benchmark.errors import DataError


def _wav(path: Path, seconds: float = 0.5, freq: float = 220.0) -> None:
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(16000 * seconds)) / 16000
    sf.write(path, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), 16000)


def _jpg(path: Path, seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(path)


def _m4a(path: Path, seconds: float = 0.5, rate: int = 44100, freq: float = 440.0) -> np.ndarray:
    """A stereo AAC .m4a written with PyAV (the layout of VoxCeleb2's audio); returns the float32 [T] it encodes."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(rate * seconds)) / rate
    mono = (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=rate, layout="stereo")
        step = 1024
        for start in range(0, len(mono), step):
            chunk = np.stack([mono[start:start + step]] * 2)  # [2, n] planar
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout="stereo")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return mono


def test_hq_voxceleb_follows_sf2f_row_split(tmp_path):
    """SF2F's create_split_json.py: metadata row i is test if i % 10 == 8, validation if 9, else train; faces from
    <vox1|vox2>/masked_faces/<name>/, voices by VoxCeleb ID."""
    assert [sf2f_split(i) for i in range(12)] == ["train"] * 8 + ["test", "validation", "train", "train"]
    src = tmp_path / "VoxCeleb"
    rows = ["VoxCeleb1 ID\tVGGFace1 ID\tGender\tNationality\tSet"]
    for i in range(11):
        vid, name = f"id1{i:04d}", f"Person_{i}"
        rows.append(f"{vid}\t{name}\t{'m' if i % 2 else 'f'}\tUSA\tdev")
        if i == 3:
            continue  # listed in the metadata without data: counted in the row order, left out of the manifest
        _wav(src / "vox1" / "wav" / vid / "vidA" / "00001.wav", freq=200 + 10 * i)
        _jpg(src / "vox1" / "masked_faces" / name / "0001.jpg", seed=i)
        _jpg(src / "vox1" / "origin_faces" / name / "0001.jpg", seed=100 + i)
    (src / "vox1").mkdir(parents=True, exist_ok=True)
    (src / "vox1" / "vox1_meta.csv").write_text("\n".join(rows) + "\n")
    (src / "vox2").mkdir()
    (src / "vox2" / "full_vox2_meta.csv").write_text("Name,VoxCeleb2 ID,Gender,Set\nSomeone,id00001,f,dev\n")
    _m4a(src / "vox2" / "aac" / "id00001" / "vidB" / "00001.m4a")
    _jpg(src / "vox2" / "masked_faces" / "Someone" / "0001.jpg", seed=50)
    assert main(["dataset", "convert", "hq-voxceleb", str(src), "--out", str(tmp_path / "m")]) == 0
    manifest = read_manifest(tmp_path / "m")
    split = {i.id: i.split for i in manifest.identities}
    assert split["id10008"] == "test" and split["id10009"] == "validation" and split["id10010"] == "train"
    assert "id10003" not in split and {"identity": "id10003", "reason": "no voice"} in manifest.excluded
    assert split["id00001"] == "train"
    assert all(f.kind == "frame" and "/masked_faces/" in f.path for f in manifest.faces)
    assert manifest.identity("id10001").gender == "m" and manifest.identity("id10001").gender_source == "human"
    assert "SF2F" in manifest.split_rule


def test_vox2_m4a_is_decoded_with_pyav(tmp_path):
    from benchmark.data.audio import SAMPLE_RATE, audio_duration, load_audio

    src = tmp_path / "vox2"
    mono = _m4a(src / "aac" / "id00012" / "abc" / "00001.m4a", seconds=0.5, rate=44100)
    _m4a(src / "aac" / "id00020" / "xyz" / "00001.m4a", seconds=0.5, rate=16000, freq=300.0)
    _jpg(src / "vggface2" / "n000012" / "0001_01.jpg", 1)
    _jpg(src / "faces" / "id00020" / "xyz" / "0001.jpg", 2)
    (src / "vox2_meta.csv").write_text("VoxCeleb2 ID ,VGGFace2 ID ,Gender ,Set \n"
                                       "id00012 ,n000012 ,m ,dev \nid00020 ,n000020 ,f ,test \n")
    assert main(["dataset", "convert", "vox2", str(src), "--out", str(tmp_path / "m")]) == 0
    manifest = read_manifest(tmp_path / "m")
    assert {i.id: i.split for i in manifest.identities} == {"id00012": "train", "id00020": "test"}
    assert {f.identity: f.kind for f in manifest.faces} == {"id00012": "photo", "id00020": "frame"}
    utt = manifest.utterances_of("id00012")[0]
    assert utt.path.endswith(".m4a") and utt.video == "abc"
    pcm = load_audio(utt.path)  # 44.1 kHz stereo AAC -> 16 kHz mono float32
    assert pcm.dtype == np.float32 and pcm.ndim == 1
    assert abs(len(pcm) - 0.5 * SAMPLE_RATE) < 0.1 * SAMPLE_RATE  # AAC adds up to ~2 frames of priming/padding
    assert abs(audio_duration(utt.path) - 0.5) < 0.1
    spectrum = np.abs(np.fft.rfft(pcm))
    assert abs(np.argmax(spectrum) * SAMPLE_RATE / len(pcm) - 440.0) < 10.0  # the tone survives the codec
    assert np.max(np.abs(pcm)) == pytest.approx(np.max(np.abs(mono)), abs=0.05)


def test_broken_m4a_is_named(tmp_path):
    from benchmark.data.audio import load_audio

    bad = tmp_path / "x.m4a"
    bad.write_bytes(b"not audio")
    with pytest.raises(DataError, match="x.m4a"):
        load_audio(bad)


def test_clips_one_identity_per_clip_hash_split(tmp_path):
    src = tmp_path / "clips"
    for n in range(30):
        clip = src / f"yt{n:02d}__x_{n}.0"  # AVSpeech-like ids may hold "__"
        _wav(clip / "speech.wav", freq=150 + 5 * n)
        _jpg(clip / "face.jpg", seed=n)
    _wav(src / "voice_only" / "speech.wav")
    assert main(["dataset", "convert", "clips", str(src), "--out", str(tmp_path / "m"), "--option", "test=0.3"]) == 0
    manifest = read_manifest(tmp_path / "m")
    assert len(manifest.identities) == 30 and {"identity": "voice_only", "reason": "no face"} in manifest.excluded
    assert all(i.gender == "" and i.gender_source == "" for i in manifest.identities)
    assert all(i.split == hash_split(i.id, 0.2, 0.3) for i in manifest.identities)
    assert {i.split for i in manifest.identities} == {"train", "validation", "test"}
    for ident in manifest.identities:
        (face,), (utt,) = manifest.faces_of(ident.id), manifest.utterances_of(ident.id)
        assert face.kind == "clip" and face.video == utt.video == ident.id
    head = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert head["name"] == "clips" and "one identity per clip" in head["split_rule"]


def test_hash_split_fractions():
    keys = [f"clip{n}" for n in range(4000)]
    splits = [hash_split(k, 0.1, 0.2) for k in keys]
    assert abs(splits.count("test") / 4000 - 0.2) < 0.03 and abs(splits.count("validation") / 4000 - 0.1) < 0.03
    with pytest.raises(DataError):
        hash_split("x", 0.6, 0.6)


def test_dataset_plugin_through_an_entry_point(tmp_path, monkeypatch):
    """An installed package's entry point in voice2face_bench.datasets is a dataset name, like a generator's."""
    import importlib.metadata as md

    from benchmark.data import datasets

    for who in ("a", "b"):
        _wav(tmp_path / "data" / who / "s.wav")
        _jpg(tmp_path / "data" / who / "f.jpg")
    assert main(["dataset", "convert", "clips", str(tmp_path / "data"), "--out", str(tmp_path / "m"),
                 "--name", "labdata"]) == 0
    module = tmp_path / "my_plugin.py"
    module.write_text(f"def load(data_root):\n    return {str(tmp_path / 'm')!r}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    ep = md.EntryPoint(name="labdata", value="my_plugin:load", group=datasets.ENTRY_POINT_GROUP)
    monkeypatch.setattr(md, "entry_points", lambda group=None: [ep] if group == datasets.ENTRY_POINT_GROUP else [])
    manifest = datasets.load_dataset("labdata")
    assert manifest.dataset_id == "labdata" and len(manifest.identities) == 2
    assert datasets.dataset_root("labdata") == Path(manifest.root)
    assert any(row[0] == "labdata" for row in datasets.dataset_rows())
