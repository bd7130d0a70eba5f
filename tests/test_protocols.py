"""Protocol specs of the full set and their trial rules: registered, versioned, seeded, hashed, capped, and
unavailable with a reason where the data cannot support them."""

import json
from dataclasses import replace

import numpy as np
import pytest

from benchmark.errors import ProtocolUnavailable
from benchmark.tasks import TASKS, get_task
from benchmark.tasks.base import FaceTable
from protocols import PROTOCOLS, get_protocol
from test_tasks_metrics import synthetic_manifest

NEW = ["match-1ofN", "match-1ofN-stratified", "id-topk-seen", "id-topk-open", "retrieval", "retrieval-sf2f",
       "feature", "feature-sf2f", "gender", "age", "consistency", "detect"]
SEEDED = ["match-1ofN", "match-1ofN-stratified", "retrieval", "feature", "consistency"]
# feature-sf2f draws nothing (one trial per identity, SF2F's rule): its trials do not depend on the seed


def table(m, drop=()):
    ids = [f.id for f in m.faces if f.id not in drop]
    return FaceTable(ids, np.zeros((len(ids), 4), np.float32), np.ones(len(ids), bool), [])


def build(name, m, seed=0, spec=None, drop=()):
    spec = spec or get_protocol(name)
    return get_task(spec.task).build(m, spec, seed, table(m, drop))


@pytest.mark.parametrize("name", NEW)
def test_registered_versioned_and_serialisable(name):
    spec = get_protocol(name)
    assert name in PROTOCOLS and spec.name == name and spec.version >= 1
    assert spec.task in TASKS and hasattr(get_task(spec.task), "NEEDS")
    d = json.loads(json.dumps(spec.to_dict()))
    for field in ("ns", "ks", "gallery_identities", "normalise_embeddings", "normalise_centroid", "l1_reduction",
                  "ground_truth", "stratify_by", "attribute_model", "age_bands"):
        assert field in d


def test_conventions_are_fields():
    assert get_protocol("match-1ofN").ns == tuple(range(2, 11))
    assert get_protocol("match-1ofN-stratified").stratify_by == "gender"
    assert get_protocol("id-topk-open").ks == (1, 5, 10) and get_protocol("retrieval").ks == (1, 2, 5, 10)
    sf2f = get_protocol("feature-sf2f")
    assert (sf2f.normalise_centroid, sf2f.l1_reduction, sf2f.l2_reduction) == (False, "sum", "sum")
    assert get_protocol("retrieval-sf2f").gallery_identities == 100 == get_protocol("retrieval").gallery_identities
    assert get_protocol("age").age_bands == (35.0, 65.0)
    assert {"attributes"} <= get_task("gender").NEEDS and {"attributes"} <= get_task("age").NEEDS


def test_existing_protocols_unchanged():
    for name in ("unstratified", "stratified"):
        spec = get_protocol(name)
        # v2: "test" became Wen et al.'s C–E identities (three-way split), so every protocol's trials changed
        assert spec.version == 2 and spec.task == "match-1to2" and spec.ns == () and spec.ks == ()


@pytest.mark.parametrize("name", SEEDED)
def test_same_seed_same_trials_other_seed_other(name):
    m = synthetic_manifest("mmmffmf", utts_per=3)
    spec = get_protocol(name)
    if name == "retrieval":  # one gallery of all 7 identities draws nothing: use galleries of 3
        spec = replace(spec, gallery_identities=3)
    a, b, c = build(name, m, 0, spec), build(name, m, 0, spec), build(name, m, 1, spec)
    assert a.trials.to_csv() == b.trials.to_csv() and a.trials.sha256 == b.trials.sha256
    assert a.trials.sha256 != c.trials.sha256 and len(a.trials) > 0


def test_trial_file_round_trip(tmp_path):
    plan = build("id-topk-open", synthetic_manifest())
    path = plan.trials.save(tmp_path / "t.csv")
    text = path.read_text()
    assert text.startswith("# reference_identities: id00000;id00001;id00002;id00003;id00004\ntrial,probe,speaker,")
    import hashlib

    assert hashlib.sha256(path.read_bytes()).hexdigest() == plan.trials.sha256


def test_match_1ofn_caps_n_and_draws_distinct_imposters_of_the_right_gender():
    m = synthetic_manifest("mmmmff", utts_per=2)  # 6 identities: N ≤ 6; stratified: f has 2 → N = 2 only
    gender = {i.id: i.gender for i in m.identities}
    owner = {f.id: f.identity for f in m.faces}
    plan = build("match-1ofN", m)
    assert plan.info["ns"] == [2, 3, 4, 5, 6] and plan.info["ns_capped"] == [7, 8, 9, 10]
    t = plan.trials
    assert len(t) == len(m.utterances) * 5 * get_protocol("match-1ofN").trials_per_probe
    for s, n, tf, imps, imfs in zip(t["speaker"], t["n"], t["true_face"], t["imposters"], t["imposter_faces"]):
        imps, imfs = imps.split(";"), imfs.split(";")
        assert len(imps) == int(n) - 1 == len(set(imps)) and s not in imps
        assert owner[tf] == s and [owner[f] for f in imfs] == imps
    plan = build("match-1ofN-stratified", m)
    assert plan.info["ns"] == [2] and "gender=f" in plan.info["cap_reason"]
    assert all(gender[i] == gender[s] for s, i in zip(plan.trials["speaker"], plan.trials["imposters"]))


def test_match_1ofn_lonely_gender_is_excluded_and_reported():
    plan = build("match-1ofN-stratified", synthetic_manifest("mmmf"))
    assert "id00003" not in plan.trials["speaker"]
    assert any(e["identity"] == "id00003" for e in plan.trials.excluded)
    with pytest.raises(ProtocolUnavailable, match="at least two"):
        build("match-1ofN-stratified", synthetic_manifest("mf"))


def test_id_topk_seen_holds_out_the_last_video_of_training_speakers():
    m = synthetic_manifest("mfmf", utts_per=6, videos=3, split="train")
    plan = build("id-topk-seen", m)
    assert plan.trials["probe"] and all(p.split("/")[1] == "v2" for p in plan.trials["probe"])
    assert len(plan.trials) == 4 * 2  # two utterances of the last video per speaker
    assert plan.info["ks"] == [1] and plan.info["ks_capped"] == [5, 10]  # 4 reference identities
    assert "held_out_videos" in plan.trials.context
    faces = get_task("id-topk").faces_needed(m, get_protocol("id-topk-seen"))
    assert faces and all(f.identity.startswith("id") for f in faces)  # training faces are needed


def test_id_topk_seen_unavailable_with_one_training_identity_or_one_video():
    with pytest.raises(ProtocolUnavailable, match="at least two train identities"):
        build("id-topk-seen", synthetic_manifest("m", utts_per=4, videos=2, split="train"))
    with pytest.raises(ProtocolUnavailable, match="two videos"):
        build("id-topk-seen", synthetic_manifest("mf", utts_per=4, videos=1, split="train"))
    with pytest.raises(ProtocolUnavailable, match="train identities"):
        build("id-topk-seen", synthetic_manifest("mmff"))  # only test identities


def test_retrieval_galleries_cover_every_identity_once_and_are_topped_up():
    m = synthetic_manifest("mf" * 7)  # 14 identities
    spec = replace(get_protocol("retrieval"), gallery_identities=5)
    plan = build("retrieval", m, spec=spec)
    gals = plan.trials.aux["galleries"]
    assert [len(p) for p, _ in gals] == [5, 5, 4] and all(len(mem) == 5 == len(set(mem)) for _, mem in gals)
    assert sorted(i for p, _ in gals for i in p) == sorted(i.id for i in m.identities)
    for (probes, members), g in zip(gals, range(3)):
        assert members[:len(probes)] == probes and set(members[len(probes):]).isdisjoint(probes)
        assert {s for s, x in zip(plan.trials["speaker"], plan.trials["gallery"]) if x == str(g)} == set(probes)
    assert "topped up" in plan.info["gallery_note"]
    sf2f = build("retrieval-sf2f", m, spec=replace(get_protocol("retrieval-sf2f"), gallery_identities=5))
    assert [p for p, _ in sf2f.trials.aux["galleries"]][0] == ["id00000", "id00001", "id00002", "id00003", "id00004"]


def test_retrieval_with_fewer_identities_than_the_gallery_says_so():
    plan = build("retrieval", synthetic_manifest("mmmff"))
    assert plan.info["galleries"] == 1 and plan.info["gallery_size"] == 5
    assert plan.info["ks"] == [1, 2] and plan.info["ks_capped"] == [5, 10]
    assert "one gallery of 5" in plan.info["gallery_note"]


def test_consistency_partners():
    m = synthetic_manifest("mmff", utts_per=3)
    t = build("consistency", m).trials
    for p, s, same, other, o in zip(t["probe"], t["speaker"], t["same_partner"], t["other_partner"],
                                    t["other_speaker"]):
        assert same != p and same.startswith(s + "/") and other.startswith(o + "/") and o != s
    with pytest.raises(ProtocolUnavailable, match="two or more utterances"):
        build("consistency", synthetic_manifest("mf", utts_per=1))


def test_faceless_identity_is_reported_not_used():
    m = synthetic_manifest("mmmff")
    drop = {f.id for f in m.faces if f.identity == "id00001"}
    for name in ("match-1ofN", "retrieval", "feature", "id-topk-open"):
        plan = build(name, m, drop=drop)
        assert "id00001" not in plan.trials["speaker"]
        assert {"identity": "id00001", "reason": "no usable vggface face"} in plan.trials.excluded
