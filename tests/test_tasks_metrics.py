"""The metrics of the full protocol set, and each task's vectorised scoring, against naive Python loops on seeded
random embeddings."""

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from benchmark.metrics.pairwise import (age_band, agreement, angle_degrees, cosine_similarity_matrix, identity_centroids,
                               l1_distance_rows, l2_distance_rows, l2_normalise, match_1ofn, topk_hits)
from benchmark.tasks import get_task
from benchmark.tasks.base import FaceTable, Generated
from benchmark.tasks.consistency import ratio_summary
from benchmark.data.manifest import Face, Identity, Manifest, Utterance
from protocols import get_protocol


def synthetic_manifest(genders="mmmff", faces_per=3, utts_per=2, videos=1, split="test"):
    """Identities ``id00000``… of the given genders, each with ``utts_per`` utterances spread over ``videos``
    videos and ``faces_per`` vggface faces (no files: for trial building and scoring on given embeddings)."""
    identities, utts, faces = [], [], []
    for k, g in enumerate(genders):
        vid = f"id{k:05d}"
        identities.append(Identity(vid, f"{'A' if split == 'test' else 'T'}_{k}", g, "X", split))
        utts += [Utterance(f"{vid}/v{n % videos}/{n:05d}", vid, "", f"v{n % videos}") for n in range(utts_per)]
        faces += [Face(f"vggface/A_{k}/{n}", vid, "", "vggface") for n in range(faces_per)]
    return Manifest("synthetic", "", identities, sorted(utts, key=lambda u: u.id), faces)


def cos(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def rand(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# --- pure metric functions ------------------------------------------------------------------------------------


def test_cosine_matrix_equals_naive_loop():
    a, b = rand(7, 5, seed=1), rand(4, 5, seed=2)
    got = cosine_similarity_matrix(a, b)
    assert got.shape == (7, 4)
    want = [[cos(x, y) for y in b.tolist()] for x in a.tolist()]
    assert torch.allclose(got, torch.tensor(want, dtype=torch.float64), atol=1e-12, rtol=0)


def naive_match_1ofn(sims):
    out = []
    for row in sims.tolist():
        top = max(row)
        out.append(1.0 / sum(v == top for v in row) if row[0] == top else 0.0)
    return out


def test_match_1ofn_equals_naive_loop_with_ties():
    sims = rand(400, 6, seed=3).round(decimals=0)  # coarse values: many ties at the top
    got = match_1ofn(sims)
    assert got.dtype == torch.float32 and got.shape == (400,)
    assert got.tolist() == pytest.approx(naive_match_1ofn(sims))
    assert any(0 < v < 1 for v in got.tolist())  # the tie rule was exercised
    assert 0.1 < match_1ofn(rand(4000, 6, seed=4)).mean().item() < 0.24  # random: about chance 1/6


def test_match_1ofn_with_two_columns_is_match_1to2():
    from benchmark.metrics.pairwise import match_1to2

    g, t, i = rand(300, 8, seed=5), rand(300, 8, seed=6), rand(300, 8, seed=7)
    sims = torch.stack([torch.nn.functional.cosine_similarity(g, t), torch.nn.functional.cosine_similarity(g, i)], 1)
    assert match_1ofn(sims).tolist() == match_1to2(g, t, i).tolist()


def naive_topk(sims, target, ks):
    out = []
    for row, t in zip(sims.tolist(), target.tolist()):
        greater = sum(v > row[t] for v in row)
        ties = sum(v == row[t] for v in row) - 1
        # the target's position is uniform over greater+1 … greater+ties+1
        out.append([sum(1 for p in range(greater + 1, greater + ties + 2) if p <= k) / (ties + 1) for k in ks])
    return out


def test_topk_hits_equals_naive_loop_with_ties():
    sims = rand(300, 12, seed=8).round(decimals=0)
    target = torch.randint(0, 12, (300,), generator=torch.Generator().manual_seed(9))
    ks = (1, 2, 5, 10)
    got = topk_hits(sims, target, ks)
    assert got.shape == (300, 4) and got.dtype == torch.float32
    assert torch.allclose(got, torch.tensor(naive_topk(sims, target, ks), dtype=torch.float32), atol=1e-6, rtol=0)
    assert any(0 < v < 1 for v in got[:, 0].tolist())


def test_topk_hits_matches_torch_topk_without_ties():
    sims = rand(200, 30, seed=10)
    target = torch.randint(0, 30, (200,), generator=torch.Generator().manual_seed(11))
    got = topk_hits(sims, target, (1, 5))
    for j, k in enumerate((1, 5)):
        want = (torch.topk(sims, k, dim=1).indices == target[:, None]).any(1).float()
        assert got[:, j].tolist() == want.tolist()


def test_masked_candidates_never_count():
    sims = torch.tensor([[0.9, 0.5, float("-inf"), 0.1]])
    assert topk_hits(sims, torch.tensor([1]), (1, 2, 3)).tolist() == [[0.0, 1.0, 1.0]]


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("eps", [0.0, 1e-6])
def test_l1_l2_equal_naive_loop(reduction, eps):
    a, b = rand(20, 9, seed=12), rand(20, 9, seed=13)
    red = (lambda v: sum(v)) if reduction == "sum" else (lambda v: sum(v) / len(v))
    want_l1 = [red([abs(x - y + eps) for x, y in zip(r, s)]) for r, s in zip(a.tolist(), b.tolist())]
    want_l2 = [math.sqrt(red([(x - y + eps) ** 2 for x, y in zip(r, s)])) for r, s in zip(a.tolist(), b.tolist())]
    assert l1_distance_rows(a, b, reduction, eps).tolist() == pytest.approx(want_l1, abs=1e-12)
    assert l2_distance_rows(a, b, reduction, eps).tolist() == pytest.approx(want_l2, abs=1e-12)


def test_summed_distances_are_pytorch_pairwise_distance_as_sf2f_uses_it():
    a, b = rand(16, 128, seed=14).float(), rand(16, 128, seed=15).float()
    for p, fn in ((1.0, l1_distance_rows), (2.0, l2_distance_rows)):
        want = torch.nn.PairwiseDistance(p=p, eps=1e-6)(a, b)
        assert torch.allclose(fn(a, b, "sum", 1e-6), want, rtol=1e-5)
    with pytest.raises(ValueError):
        l1_distance_rows(a, b, "median")


def test_angle_degrees_equals_naive():
    c = torch.tensor([1.0, 0.5, 0.0, -1.0, 1.0000001], dtype=torch.float64)
    want = [math.degrees(math.acos(max(-1.0, min(1.0, v)))) for v in c.tolist()]
    assert angle_degrees(c).tolist() == pytest.approx(want, abs=1e-9)


@pytest.mark.parametrize("normalise", [False, True])
def test_identity_centroids_equal_naive_loop(normalise):
    v = rand(30, 6, seed=16)
    owner = torch.tensor([i % 4 for i in range(30)])
    got = identity_centroids(v, owner, 4, normalise=normalise)
    for k in range(4):
        rows = [r for r, o in zip(v.tolist(), owner.tolist()) if o == k]
        mean = [sum(col) / len(rows) for col in zip(*rows)]
        if normalise:
            n = math.sqrt(sum(x * x for x in mean))
            mean = [x / n for x in mean]
        assert got[k].tolist() == pytest.approx(mean, abs=1e-12)
    assert torch.allclose(l2_normalise(v).norm(dim=1), torch.ones(30, dtype=torch.float64))


def test_age_band_edges():
    ages = torch.tensor([0, 20, 34, 34.9, 35, 50, 65, 65.5, 66, 90], dtype=torch.float64)
    naive = [0 if a < 35 else 1 if a <= 65 else 2 for a in ages.tolist()]
    assert age_band(ages, (35.0, 65.0)).tolist() == naive == [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]


def test_agreement():
    assert agreement(torch.tensor([1, 0, 2]), torch.tensor([1, 1, 2])).tolist() == [1.0, 0.0, 1.0]


def test_ratio_summary_equals_naive_bootstrap():
    gen = torch.Generator().manual_seed(17)
    num, den = torch.rand(120, generator=gen) + 0.5, torch.rand(120, generator=gen) + 0.5
    ids = [f"s{i % 6}" for i in range(120)]
    got = ratio_summary(num, den, ids, n_boot=200, level=0.95, seed=3)
    assert got["value"] == pytest.approx(num.double().sum().item() / den.double().sum().item(), abs=1e-12)
    assert got["n"] == 120 and got["n_identities"] == 6
    picks = torch.randint(0, 6, (200, 6), generator=torch.Generator().manual_seed(3))  # cluster_bootstrap_ci's draws
    index = {s: i for i, s in enumerate(sorted(set(ids)))}
    ratios = []
    for row in picks.tolist():
        n = sum(float(x) for c in row for x, s in zip(num.tolist(), ids) if index[s] == c)
        d = sum(float(x) for c in row for x, s in zip(den.tolist(), ids) if index[s] == c)
        ratios.append(n / d)
    want = torch.quantile(torch.tensor(ratios, dtype=torch.float64), torch.tensor([0.025, 0.975], dtype=torch.float64))
    assert got["ci95"] == pytest.approx(want.tolist(), abs=1e-12)


def test_ratio_of_identical_values_is_exactly_one():
    v = torch.full((77,), 0.8123456, dtype=torch.float32)
    s = ratio_summary(v, v.clone(), [f"s{i % 5}" for i in range(77)], n_boot=100, level=0.95, seed=0)
    assert s["value"] == 1.0 and s["ci95"] == [1.0, 1.0]


# --- each task's scoring against a naive loop over its own trials ---------------------------------------------


def world(seed=0, genders="mmmffmfm", faces_per=3, utts_per=3, dim=16, videos=1):
    """A synthetic manifest, real-face and generated embeddings (seeded), as the engine hands them to a task."""
    m = synthetic_manifest(genders, faces_per=faces_per, utts_per=utts_per, videos=videos)
    rng = np.random.default_rng(seed)
    real = FaceTable([f.id for f in m.faces], rng.standard_normal((len(m.faces), dim)).astype(np.float32),
                     np.ones(len(m.faces), bool), [])
    utts = [u.id for u in m.utterances]
    gen = Generated(utts, rng.standard_normal((len(utts), dim)).astype(np.float32), rng.random(len(utts)) > 0.3,
                    (64, 64))
    return m, real, gen


def vec(table, key):
    return table.vectors[table.index()[key]].astype(np.float64).tolist()


def score_of(name, spec=None, seed=0, **kw):
    m, real, gen = world(**kw)
    spec = spec or get_protocol(name)
    task = get_task(spec.task)
    plan = task.build(m, spec, seed, real)
    return m, real, gen, plan, task.score(plan, gen, real, m, spec, "cpu", seed)


@pytest.mark.parametrize("name", ["match-1ofN", "match-1ofN-stratified"])
def test_match_1ofn_task_equals_naive_loop(name):
    m, real, gen, plan, res = score_of(name)
    t = plan.trials
    for n in plan.info["ns"]:
        rows = [i for i in range(len(t)) if t["n"][i] == str(n)]
        vals = []
        for i in rows:
            g = vec(gen, t["probe"][i])
            sims = [cos(g, vec(real, f)) for f in [t["true_face"][i]] + t["imposter_faces"][i].split(";")]
            vals.append(naive_match_1ofn(torch.tensor([sims]))[0])
        assert res.scores[f"acc@N={n}"]["value"] == pytest.approx(sum(vals) / len(vals), abs=1e-6)
        assert res.scores[f"acc@N={n}"]["n"] == len(rows)


def naive_centroid(m, real, ident, normalise):
    rows = [vec(real, f.id) for f in m.faces_of(ident, "vggface")]
    if normalise:
        rows = [[x / math.sqrt(sum(y * y for y in r)) for x in r] for r in rows]
    return [sum(c) / len(rows) for c in zip(*rows)]


def test_identification_task_equals_naive_loop():
    m, real, gen, plan, res = score_of("id-topk-open", genders="mmmffmfmfmffm")  # 13 identities: top-10 scored
    refs = sorted(i.id for i in m.split("test"))
    cents = {r: naive_centroid(m, real, r, True) for r in refs}
    hits = {k: [] for k in (1, 5, 10)}
    for p, s in zip(plan.trials["probe"], plan.trials["speaker"]):
        g = vec(gen, p)
        sims = {r: cos(g, c) for r, c in cents.items()}
        rank = 1 + sum(v > sims[s] for v in sims.values())
        for k in hits:
            hits[k].append(1.0 if rank <= k else 0.0)
    for k in hits:
        assert res.scores[f"top-{k}"]["value"] == pytest.approx(sum(hits[k]) / len(hits[k]), abs=1e-9)
    assert res.info["chance"]["top-1"] == pytest.approx(1 / 13)


@pytest.mark.parametrize("order", ["seeded-shuffle", "sorted"])
def test_retrieval_task_equals_naive_loop_with_several_galleries(order):
    spec = replace(get_protocol("retrieval"), gallery_identities=4, ks=(1, 2, 3), gallery_order=order)
    m, real, gen, plan, res = score_of("retrieval", spec=spec, genders="mmmffmfmfm")  # 10 ids: galleries 4, 4, 2+2
    galleries = plan.trials.aux["galleries"]
    assert len(galleries) == 3 and all(len(mem) == 4 for _, mem in galleries)
    assert sorted(i for probes, _ in galleries for i in probes) == sorted(i.id for i in m.identities)
    cents = {i.id: naive_centroid(m, real, i.id, True) for i in m.identities}
    hits = {k: [] for k in (1, 2, 3)}
    for p, s, g in zip(plan.trials["probe"], plan.trials["speaker"], plan.trials["gallery"]):
        members = galleries[int(g)][1]
        assert s in galleries[int(g)][0]
        sims = {r: cos(vec(gen, p), cents[r]) for r in members}
        rank = 1 + sum(v > sims[s] for v in sims.values())
        for k in hits:
            hits[k].append(1.0 if rank <= k else 0.0)
    for k in hits:
        assert res.scores[f"R@{k}"]["value"] == pytest.approx(sum(hits[k]) / len(hits[k]), abs=1e-9)


@pytest.mark.parametrize("name", ["feature"])  # feature-sf2f (identity-weighted): tests/test_conventions.py
def test_feature_task_equals_naive_loop(name):
    m, real, gen, plan, res = score_of(name)
    spec = get_protocol(name)
    t = plan.trials

    def norm(v):
        n = math.sqrt(sum(x * x for x in v))
        return [x / n for x in v]

    want = {k: [] for k in res.scores}
    for p, s, f in zip(t["probe"], t["speaker"], t["true_face"]):
        g, true = norm(vec(gen, p)), norm(vec(real, f))  # both specs normalise per-image embeddings
        cent = naive_centroid(m, real, s, True)
        if spec.normalise_centroid:
            cent = norm(cent)
        for suffix, ref in (("", true), ("@centroid", cent)):
            d = [x - y + spec.distance_eps for x, y in zip(g, ref)]
            c = cos(g, ref)
            want[f"l1{suffix}"].append(sum(abs(x) for x in d))
            want[f"l2{suffix}"].append(math.sqrt(sum(x * x for x in d)))
            want[f"cosine{suffix}"].append(c)
            want[f"angle_deg{suffix}"].append(math.degrees(math.acos(max(-1.0, min(1.0, c)))))
    for k, v in want.items():
        assert res.scores[k]["value"] == pytest.approx(sum(v) / len(v), rel=1e-5), k


def test_feature_sf2f_differs_from_feature_only_where_the_spec_says():
    a, b = get_protocol("feature").to_dict(), get_protocol("feature-sf2f").to_dict()
    diff = {k for k in a if a[k] != b[k]}
    assert diff == {"name", "version", "description", "source", "normalise_centroid", "distance_eps", "ground_truth",
                    "trials_per_probe", "probe_unit"}  # version: feature-sf2f v3 (SF2F's eps order), feature v2


def test_consistency_task_equals_naive_loop():
    m, real, gen, plan, res = score_of("consistency")
    t = plan.trials
    within = [cos(vec(gen, p), vec(gen, q)) for p, q in zip(t["probe"], t["same_partner"])]
    between = [cos(vec(gen, p), vec(gen, q)) for p, q in zip(t["probe"], t["other_partner"])]
    assert res.scores["within"]["value"] == pytest.approx(sum(within) / len(within), abs=1e-6)
    assert res.scores["between"]["value"] == pytest.approx(sum(between) / len(between), abs=1e-6)
    # float32 cosines vs a float64 naive sum: relative, since the ratio's denominator can be near 0
    assert res.scores["ratio"]["value"] == pytest.approx(sum(within) / sum(between), rel=1e-5)
    assert set(res.strata) == {"gender=f", "gender=m"} and "ratio" in res.strata["gender=f"]


def test_consistency_ratio_leaves_out_trials_of_failed_faces():
    """A failed (blank) generated face has a NaN embedding: the ratio is taken over the trials whose three faces
    are all defined, overall and per stratum, and the others are counted and flagged."""
    m, real, gen = world()
    gen.vectors[::4] = np.nan  # every fourth utterance's face failed
    spec = get_protocol("consistency")
    task = get_task(spec.task)
    plan = task.build(m, spec, 0, real)
    res = task.score(plan, gen, real, m, spec, "cpu", 0)
    t = plan.trials
    failed = {u for u, v in zip(gen.utterance_ids, gen.vectors) if np.isnan(v).any()}
    for where, rows in [("all", range(len(t)))] + [(s, [i for i in range(len(t)) if t["stratum"][i] == s])
                                                   for s in ("f", "m")]:
        kept = [i for i in rows if not {t["probe"][i], t["same_partner"][i], t["other_partner"][i]} & failed]
        within = sum(cos(vec(gen, t["probe"][i]), vec(gen, t["same_partner"][i])) for i in kept)
        between = sum(cos(vec(gen, t["probe"][i]), vec(gen, t["other_partner"][i])) for i in kept)
        got = res.scores["ratio"] if where == "all" else res.strata[f"gender={where}"]["ratio"]
        assert 0 < len(kept) < len(rows)
        assert got["n"] == len(kept) and got["failed_excluded"] == len(rows) - len(kept) and "failed" in got["flag"]
        assert got["value"] == pytest.approx(within / between, rel=1e-5)


def test_detect_task_equals_naive_loop():
    m, real, gen, plan, res = score_of("detect")
    flags = dict(zip(gen.utterance_ids, gen.aligned.tolist()))
    want = [1.0 if flags[p] else 0.0 for p in plan.trials["probe"]]
    assert res.scores["detected"]["value"] == pytest.approx(sum(want) / len(want))
    assert res.scores["real_faces_detected"]["value"] == 1.0


def attribute_plan(task_name):
    """A gender/age plan built by hand (their ``build`` runs the real predictor on image files)."""
    from benchmark.tasks.base import Plan
    from benchmark.tasks.trialsets import TrialTable

    m, real, gen = world()
    utts = [u for u in m.utterances]
    rng = np.random.default_rng(5)
    attrs = np.stack([rng.random(len(utts)) > 0.5, np.full(len(utts), 0.9), rng.integers(15, 90, len(utts)),
                      np.ones(len(utts))], 1).astype(np.float32)
    gen.extra["attributes"] = attrs
    cols = {"probe": [u.id for u in utts], "speaker": [u.identity for u in utts],
            "stratum": [m.identity(u.identity).gender for u in utts]}
    if task_name == "gender":
        faces = [f.id for f in m.faces]
        owners = [f.identity for f in m.faces]
        real_pred = np.stack([rng.random(len(faces)) > 0.2, np.ones(len(faces)), np.full(len(faces), 40.0),
                              np.ones(len(faces))], 1).astype(np.float32)
        trials = TrialTable(cols, aux={"real_faces": faces, "real_owner": owners, "real_pred": real_pred})
        return m, real, gen, Plan(trials, sorted(cols["probe"])), real_pred
    ref = {i.id: float(rng.integers(20, 80)) for i in m.identities}
    cols = {**cols, "ref_age": [f"{ref[s]:.1f}" for s in cols["speaker"]],
            "ref_band": [str(0 if ref[s] < 35 else 1 if ref[s] <= 65 else 2) for s in cols["speaker"]]}
    trials = TrialTable(cols, aux={"reference_age_years": ref})
    return m, real, gen, Plan(trials, sorted(cols["probe"])), ref


def test_gender_task_equals_naive_loop():
    m, real, gen, plan, real_pred = attribute_plan("gender")
    res = get_task("gender").score(plan, gen, real, m, get_protocol("gender"), "cpu", 0)
    row = gen.index()
    want = [float((gen.extra["attributes"][row[p], 0] > 0.5) == (m.identity(s).gender == "m"))
            for p, s in zip(plan.trials["probe"], plan.trials["speaker"])]
    assert res.scores["gender_consistency"]["value"] == pytest.approx(sum(want) / len(want))
    ceil = [float((r[0] > 0.5) == (m.identity(o).gender == "m")) for r, o in zip(real_pred, plan.trials.aux["real_owner"])]
    assert res.scores["real_face_accuracy"]["value"] == pytest.approx(sum(ceil) / len(ceil))
    assert res.scores["real_face_accuracy"]["n"] == len(m.faces)
    assert res.info["attribute_model"]["weights_sha256"]


def test_age_task_equals_naive_loop():
    m, real, gen, plan, ref = attribute_plan("age")
    res = get_task("age").score(plan, gen, real, m, get_protocol("age"), "cpu", 0)
    row = gen.index()
    band = lambda a: 0 if a < 35 else 1 if a <= 65 else 2  # noqa: E731
    acc, gap = [], []
    for p, s in zip(plan.trials["probe"], plan.trials["speaker"]):
        a = float(gen.extra["attributes"][row[p], 2])
        acc.append(float(band(a) == band(ref[s])))
        gap.append(abs(a - ref[s]))
    assert res.scores["band_accuracy"]["value"] == pytest.approx(sum(acc) / len(acc))
    assert res.scores["abs_age_gap"]["value"] == pytest.approx(sum(gap) / len(gap), rel=1e-6)
