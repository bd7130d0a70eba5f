"""The rules vox1-s2f brings, on hand-made inputs (no data needed): the true-face rule of a VoxCeleb1-crop gallery,
the per-dataset protocol overrides, the human age-band file, the single-face exclusion and the identity-level
training refusal."""

from __future__ import annotations

from dataclasses import replace

import pytest

from benchmark.data.manifest import Face, Identity, Manifest, Utterance
from benchmark.errors import DataError, ProtocolUnavailable
from benchmark.generators.base import GeneratorMeta
from benchmark.trials.builders import drop_single_face_identities, face_video, tier_counts, true_face_pool
from protocols import get_protocol

VOX = replace(get_protocol("unstratified"), gallery_source="voxceleb")


def test_other_video_first_then_same_video_then_own_clip():
    faces = ["voxceleb/id1/vidA/00001", "voxceleb/id1/vidA/00002", "voxceleb/id1/vidB/00003"]
    assert true_face_pool(VOX, "id1/vidA/00001", faces) == (["voxceleb/id1/vidB/00003"], "other-video")
    assert true_face_pool(VOX, "id1/vidA/00001", faces[:2]) == (["voxceleb/id1/vidA/00002"], "same-video")
    assert true_face_pool(VOX, "id1/vidA/00001", faces[:1]) == (faces[:1], "same-clip")
    # the probe's own crop is never in the pool while there is another face
    assert "voxceleb/id1/vidA/00001" not in true_face_pool(VOX, "id1/vidA/00001", faces[:2])[0]


def test_vggface_gallery_is_unchanged():
    spec = get_protocol("unstratified")
    faces = ["vggface/Name/00000001", "vggface/Name/00000002"]
    assert true_face_pool(spec, "id1/vidA/00001", faces) == (faces, "other-source")
    assert tier_counts(["other-source"] * 3) == {}


def test_tier_counts_list_every_tier():
    counts = tier_counts(["other-video", "other-video", "same-clip"])
    assert counts["trials"] == {"other-video": 2, "same-video": 0, "same-clip": 1}
    assert face_video("voxceleb/id1/vidB/00003") == "vidB" and face_video("vggface/N/1") == ""


def test_dataset_spec_overrides_only_vox1_s2f():
    from benchmark.data.datasets import dataset_spec
    from benchmark.engine.record import dataset_overrides

    spec = get_protocol("stratified")
    assert dataset_spec(spec, "vox1-mini") is spec
    s2f = dataset_spec(spec, "vox1-s2f")
    assert s2f.gallery_source == "voxceleb" and s2f.version == spec.version
    assert dataset_overrides(s2f) == {"gallery_source": "voxceleb"}
    age = dataset_spec(get_protocol("age"), "vox1-s2f")
    assert age.age_bands == (40.0, 59.0) and age.age_reference.startswith("human")


def test_age_band_edges_reproduce_the_human_bands():
    import torch

    from benchmark.data.clip_labels import AGE_BANDS
    from benchmark.data.datasets import HUMAN_AGE_BANDS
    from benchmark.metrics.pairwise import age_band

    edges = HUMAN_AGE_BANDS["vox1-s2f"]["age_bands"]
    ages = torch.tensor([15.0, 20.0, 39.0, 40.0, 59.0, 60.0, 80.0])
    assert [AGE_BANDS[b] for b in age_band(ages, edges).tolist()] == ["20-39", "20-39", "20-39", "40-59", "40-59",
                                                                      ">=60", ">=60"]


def test_clip_labels_name_the_file_and_line(tmp_path):
    from benchmark.data.clip_labels import read_clip_labels

    with pytest.raises(DataError, match="clip_attributes.csv not found"):
        read_clip_labels(tmp_path)
    (tmp_path / "clip_attributes.csv").write_text(
        "utterance,vggface1_id,s2f_code,gender,native,age_band,ethnicity\n"
        "id1/v/00001,A_B,0012,m,native,20-39,white\n"
        "id1/v/00002,A_B,0012,m,native,30-49,white\n")
    with pytest.raises(DataError, match="line 3: age band '30-49'"):
        read_clip_labels(tmp_path)
    (tmp_path / "clip_attributes.csv").write_text(
        "utterance,vggface1_id,s2f_code,gender,native,age_band,ethnicity\n"
        "id1/v/00001,A_B,0012,m,native,,white\n")
    assert read_clip_labels(tmp_path)["id1/v/00001"].band_index is None


def _manifest() -> Manifest:
    idents = [Identity("id1", "Fa", "m", "", "train"), Identity("id2", "Fb", "f", "", "train"),
              Identity("id3", "Ca", "m", "", "test")]
    utts = [Utterance(f"{i}/v/00001", i, "", "v") for i in ("id1", "id2", "id3")]
    faces = [Face("voxceleb/id1/v/00001", "id1", "", "voxceleb", "v"), Face("voxceleb/id1/w/00002", "id1", "", "voxceleb", "w"),
             Face("voxceleb/id2/v/00001", "id2", "", "voxceleb", "v"), Face("voxceleb/id3/v/00001", "id3", "", "voxceleb", "v")]
    return Manifest("vox1-s2f", "/nowhere", idents, utts, faces)


def test_single_face_speakers_are_dropped_and_counted():
    m = drop_single_face_identities(_manifest(), "voxceleb")
    assert [i.id for i in m.identities] == ["id1"]
    reasons = {e["identity"]: e["reason"] for e in m.excluded}
    assert sorted(reasons) == ["id2", "id3"] and all("only 1 voxceleb face" in r for r in reasons.values())


def test_identity_level_training_refusal():
    from benchmark.engine.plan import check_split_disjoint

    meta = GeneratorMeta(name="ckpt", training_datasets=("vox1-vggface",))
    spec_all = replace(VOX, probe_split="all")
    m = _manifest()
    check_split_disjoint(VOX, meta, "vox1-s2f", ("id1", "id2"), m)  # test split: id3 only, never trained on
    with pytest.raises(ProtocolUnavailable, match="2 identities of the 'all' split"):
        check_split_disjoint(spec_all, meta, "vox1-s2f", ("id1", "id2"), m)
    check_split_disjoint(spec_all, meta, "vox1-s2f", None, m)  # records no identities, trained elsewhere: allowed
