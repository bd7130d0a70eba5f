"""Realism with several faces per identity (issue 20 §1): on one simulated population whose faces cluster by identity,
KID and its floor must expect 0 at vox1-s2f's clip counts — K = 22 (its test split) and K = 130 (all of it) —
and FD must be flagged at small N. The protocol's own build and score run on simulated embeddings."""

import math

import numpy as np
import pytest
import torch

from benchmark.data.manifest import Face, Identity, Manifest, Utterance
from benchmark.metrics import sets
from benchmark.tasks import get_task
from benchmark.tasks.base import FaceTable, Generated
from protocols import get_protocol

VOX1_S2F_TEST_CLIPS = [1] * 13 + [2] * 3 + [4] * 6  # clips per identity, vox1-s2f test (22 identities, 43 clips)
VOX1_S2F_ALL_CLIPS = [1] * 70 + [2] * 17 + [3] * 8 + [4] * 20 + [8] * 15  # all 130 identities, 328 clips
DIM = 128


def clustered_manifest(clips: list[int]) -> Manifest:
    """One utterance and one gallery face per clip (as vox1-s2f: each clip's crop), identities id00000…"""
    identities, utts, faces = [], [], []
    for k, n in enumerate(clips):
        vid = f"id{k:05d}"
        identities.append(Identity(vid, f"A_{k}", "mf"[k % 2], "X", "test"))
        utts += [Utterance(f"{vid}/v0/{j:05d}", vid, "", "v0") for j in range(n)]
        faces += [Face(f"vggface/A_{k}/{j}", vid, "", "vggface") for j in range(n)]
    return Manifest("clustered", "", identities, sorted(utts, key=lambda u: u.id), faces)


def clustered(rng: np.random.Generator, counts: list[int], icc: float = 0.5) -> np.ndarray:
    """Rows of one population: identity effect + face noise, intra-identity correlation ``icc``: float ``[sum, D]``."""
    centres = rng.normal(size=(len(counts), DIM)) * math.sqrt(icc)
    return np.repeat(centres, counts, axis=0) + rng.normal(size=(sum(counts), DIM)) * math.sqrt(1 - icc)


def simulate(clips: list[int], reps: int, seed: int = 0) -> dict[str, np.ndarray]:
    """``kid`` and ``kid_floor`` of ``reps`` simulated data sets: a generator consistent per speaker (its own
    identity effect, independent of the real one) from the real faces' population. The sets and the floor are the
    protocol's own (``build``'s trial rows, seeded per data set); KID is the task's estimator on them."""
    spec = get_protocol("realism")
    task = get_task("realism")
    m = clustered_manifest(clips)
    face_ids = [f.id for f in m.faces]
    table = FaceTable(face_ids, np.zeros((len(face_ids), DIM), np.float32), np.ones(len(face_ids), bool), [])
    rng = np.random.default_rng(seed)
    out: dict[str, list[float]] = {"kid": [], "kid_floor": []}
    for r in range(reps):
        plan = task.build(m, spec, r, table)
        kind, item, speaker = (np.asarray(list(plan.trials[c])) for c in ("set", "item", "speaker"))
        owner = {s: i for i, s in enumerate(sorted(set(speaker)))}
        real = dict(zip(face_ids, sets.unit_rms_features(torch.from_numpy(clustered(rng, clips)))))
        gen = dict(zip([u.id for u in m.utterances], sets.unit_rms_features(torch.from_numpy(clustered(rng, clips)))))

        def rows(which, lookup):
            sel = kind == which
            return (torch.stack([lookup[i] for i in item[sel]]), torch.tensor([owner[s] for s in speaker[sel]]))

        y, oy = rows("real", real)
        for key, (x, ox) in (("kid", rows("generated", gen)), ("kid_floor", rows("floor", real))):
            out[key].append(float(sets.mmd2_between_identities(x, ox, y, oy)[0]))
    return {k: np.asarray(v) for k, v in out.items()}


@pytest.mark.slow
@pytest.mark.parametrize("clips,reps", [(VOX1_S2F_TEST_CLIPS, 400), (VOX1_S2F_ALL_CLIPS, 100)], ids=["K22", "K130"])
def test_kid_and_its_floor_expect_zero_on_one_clustered_population(clips, reps):
    """True MMD² = 0: E[kid] and E[kid_floor] within 2 standard errors of 0 (version 1, with same-identity pairs
    in the within-set sums and a half-size floor, expected about +0.09 / +0.34 at K = 22)."""
    sim = simulate(clips, reps)
    for key in ("kid", "kid_floor"):
        v = sim[key]
        se = v.std(ddof=1) / math.sqrt(len(v))
        assert abs(v.mean()) < 2 * se, (key, v.mean(), se)


def test_the_plain_u_statistic_is_biased_by_clusters_and_the_between_identity_one_is_not():
    """The same data through both estimators: the plain U-statistic (``mmd2_unbiased``) sits several standard
    errors above 0, the between-identity one does not — the bias the protocol's version 2 removes."""
    rng = np.random.default_rng(1)
    clips = VOX1_S2F_TEST_CLIPS
    owners = torch.from_numpy(np.repeat(np.arange(len(clips)), clips))
    plain, between = [], []
    for _ in range(300):
        x = sets.unit_rms_features(torch.from_numpy(clustered(rng, clips)))
        y = sets.unit_rms_features(torch.from_numpy(clustered(rng, clips)))
        plain.append(sets.mmd2_unbiased(x, y))
        between.append(float(sets.mmd2_between_identities(x, owners, y, owners)[0]))
    plain, between = np.asarray(plain), np.asarray(between)
    se = plain.std(ddof=1) / math.sqrt(len(plain))
    assert plain.mean() > 4 * se
    assert abs(between.mean()) < 2 * between.std(ddof=1) / math.sqrt(len(between))


def test_between_identity_kid_matches_a_naive_pair_loop():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(7, 5)), rng.normal(size=(6, 5)) + 0.3
    ox, oy = np.array([0, 0, 1, 2, 2, 2, 3]), np.array([0, 1, 1, 2, 3, 3])

    def k(a, b):
        return (float(a @ b) / 5 + 1) ** 3

    def mean(u, ou, v, ov):
        vals = [k(u[i], v[j]) for i in range(len(u)) for j in range(len(v)) if ou[i] != ov[j]]
        return sum(vals) / len(vals)

    want = mean(x, ox, x, ox) + mean(y, oy, y, oy) - 2 * mean(x, ox, y, oy)
    got = sets.mmd2_between_identities(torch.from_numpy(x), torch.from_numpy(ox), torch.from_numpy(y),
                                       torch.from_numpy(oy))
    assert got.shape == (1,) and got[0].item() == pytest.approx(want, rel=1e-12)


def test_fd_small_n_flag_states_the_rule():
    assert sets.fd_small_n_flag(43, 128) is not None and "1280" in sets.fd_small_n_flag(43, 128)
    assert sets.fd_small_n_flag(1280, 128) is None


def test_a_copy_of_the_real_set_is_not_applicable_and_a_negative_interval_is_truncated():
    """The oracle on a clip-crop gallery shows the real faces themselves: marked not applicable, and a KID interval
    wholly below 0 is truncated to [0, 0] and flagged."""
    spec = get_protocol("realism")
    task = get_task("realism")
    clips = VOX1_S2F_TEST_CLIPS
    m = clustered_manifest(clips)
    rng = np.random.default_rng(3)
    vec = clustered(rng, clips, icc=0.9).astype(np.float32)  # clip order = face order within each identity
    face_ids = [f.id for f in m.faces]
    order = np.argsort(face_ids)
    real = FaceTable([face_ids[i] for i in order], vec[order], np.ones(len(face_ids), bool), [])
    gen = Generated([u.id for u in m.utterances], vec, np.ones(len(vec), bool), (64, 64))  # utterance j -> face j
    plan = task.build(m, spec, 0, real)
    scores = task.score(plan, gen, real, m, spec, "cpu", 0).scores
    assert scores["kid"]["copies_of_real"] == len(vec) and "real set itself" in scores["kid"]["not_applicable"]
    assert "not_applicable" in scores["fd"] and "FD not interpretable" in scores["fd"]["flag"]  # 43 < 10 x 128
    if scores["kid"].get("ci95_raw"):
        assert scores["kid"]["ci95"] == [0.0, 0.0] and "truncated" in scores["kid"]["flag"]


def test_a_wholly_negative_kid_interval_is_truncated_and_flagged():
    from benchmark.tasks.realism import _summary

    spec = get_protocol("realism")
    reps = torch.linspace(-0.3, -0.1, 100, dtype=torch.float64)
    out = _summary(-0.2, reps, 40, 40, 22, spec, kid=True)
    assert out["ci95"] == [0.0, 0.0] and out["ci95_raw"][1] < 0 and "truncated" in out["flag"]
    assert _summary(-0.2, reps, 40, 40, 22, spec)["ci95"][1] < 0  # FD and others are not truncated
