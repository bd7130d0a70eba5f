"""Trial construction: seeded, frozen, stratified correctly, exclusions reported."""

import pytest

from benchmark.data.manifest import Face, Identity, Manifest, Utterance
from benchmark.errors import ProtocolUnavailable
from benchmark.trials.builders import build_match_trials
from protocols import get_protocol


def synthetic_manifest(genders="mmmff", faces_per=3, utts_per=2):
    identities, utts, faces = [], [], []
    for k, g in enumerate(genders):
        vid = f"id{k:05d}"
        identities.append(Identity(vid, f"A_{k}", g, "X", "test"))
        utts += [Utterance(f"{vid}/v/{n:05d}", vid, "", "v") for n in range(utts_per)]
        faces += [Face(f"vggface/A_{k}/{n}", vid, "", "vggface") for n in range(faces_per)]
    return Manifest("synthetic", "", identities, utts, faces)


def usable(m):
    return {f.id for f in m.faces}


@pytest.mark.parametrize("name", ["unstratified", "stratified"])
def test_same_seed_same_trials_other_seed_other(name):
    m, spec = synthetic_manifest(), get_protocol(name)
    a = build_match_trials(m, spec, 0, usable(m))
    b = build_match_trials(m, spec, 0, usable(m))
    c = build_match_trials(m, spec, 1, usable(m))
    assert a.to_csv() == b.to_csv() and a.sha256 == b.sha256
    assert a.sha256 != c.sha256
    assert len(a) == len(m.utterances) * spec.trials_per_probe


def test_trial_fields_are_consistent():
    m = synthetic_manifest()
    gender = {i.id: i.gender for i in m.identities}
    face_owner = {f.id: f.identity for f in m.faces}
    for name in ("unstratified", "stratified"):
        t = build_match_trials(m, get_protocol(name), 0, usable(m))
        for p, s, tf, imp, imf, st in zip(t.probe, t.speaker, t.true_face, t.imposter, t.imposter_face, t.stratum):
            assert p.startswith(s + "/") and face_owner[tf] == s and face_owner[imf] == imp and imp != s
            assert st == gender[s]
            if name == "stratified":
                assert gender[imp] == gender[s]
    t = build_match_trials(m, get_protocol("unstratified"), 0, usable(m))
    assert any(gender[i] != gender[s] for s, i in zip(t.speaker, t.imposter))  # cross-gender imposters occur


def test_stratified_excludes_lonely_gender_and_reports_it():
    m = synthetic_manifest("mmmf")
    t = build_match_trials(m, get_protocol("stratified"), 0, usable(m))
    assert "id00003" not in t.speaker
    assert any(e["identity"] == "id00003" for e in t.excluded)


def test_blank_faces_are_not_used_and_faceless_speaker_is_reported():
    m = synthetic_manifest()
    keep = {f.id for f in m.faces if f.identity != "id00001"}
    t = build_match_trials(m, get_protocol("unstratified"), 0, keep)
    assert "id00001" not in set(t.speaker) | set(t.imposter)
    assert {"identity": "id00001", "reason": "no usable vggface face"} in t.excluded


def test_too_few_identities_is_a_clear_error():
    m = synthetic_manifest("mf")
    with pytest.raises(ProtocolUnavailable, match="at least two"):
        build_match_trials(m, get_protocol("stratified"), 0, usable(m))
