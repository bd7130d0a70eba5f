"""The realism protocol: FD and KID against naive loops and known answers, the identity bootstrap of a set
statistic, the protocol's seeded trials, the Inception hook's sha256 check, and the mean-face bound on real data."""

import hashlib
import math

import numpy as np
import pytest
import torch
from scipy import linalg

from benchmark.metrics import sets as realism
from benchmark.metrics.set_bootstrap import percentile_interval, set_bootstrap
from benchmark.metrics.aggregate import identity_multiplicities
from benchmark.errors import BenchError


def psd(rng, d, rank=None):
    a = rng.normal(size=(d, rank or d))
    return a @ a.T / (rank or d)


# --- FD ------------------------------------------------------------------------------------------------------------


def test_gaussian_stats_match_a_naive_loop():
    x = np.random.default_rng(0).normal(size=(9, 4))
    mu = sum(x) / 9
    cov = sum(np.outer(r - mu, r - mu) for r in x) / 8
    got_mu, got_cov = realism.gaussian_stats(x)
    assert np.allclose(got_mu, mu) and np.allclose(got_cov, cov)
    with pytest.raises(ValueError, match="N >= 2"):
        realism.gaussian_stats(x[:1])


def test_fd_of_diagonal_gaussians_is_the_closed_form():
    """Commuting covariances: FD = |mu1 - mu2|^2 + sum_i (sqrt(a_i) - sqrt(b_i))^2."""
    rng = np.random.default_rng(1)
    a, b = rng.uniform(0.1, 3, 16), rng.uniform(0.1, 3, 16)
    mu1, mu2 = rng.normal(size=16), rng.normal(size=16)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert realism.frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-9)


def test_fd_of_general_gaussians_matches_the_symmetric_form_and_the_batched_path():
    rng = np.random.default_rng(2)
    s1, s2, mu1, mu2 = psd(rng, 12), psd(rng, 12), rng.normal(size=12), rng.normal(size=12)
    lam, vec = np.linalg.eigh(s1)
    root1 = vec @ np.diag(np.sqrt(lam)) @ vec.T  # S1^(1/2)
    tr_root = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh(root1 @ s2 @ root1), 0, None)))
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * tr_root
    assert realism.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)
    t = [torch.from_numpy(v)[None] for v in (mu1, s1, mu2, s2)]
    assert realism.frechet_distance_batched(*t).item() == pytest.approx(expected, rel=1e-8)
    assert realism.trace_sqrt_product(t[1], t[3]).item() == pytest.approx(np.trace(linalg.sqrtm(s1 @ s2)).real, rel=1e-8)


def test_trace_sqrt_product_on_a_batch_with_singular_first_matrices():
    """The Cholesky route and its eigh fallback (rank-deficient S1, and S1 = 0: a replicate of one repeated face)
    give tr((S1 S2)^(1/2)) of the numpy symmetric-root reference, each matrix of the batch on its own."""
    rng = np.random.default_rng(4)
    d = 12
    low_rank = rng.normal(size=(5, d))
    firsts = [psd(rng, d), low_rank.T @ low_rank / 5, np.zeros((d, d)), psd(rng, d)]
    seconds = [psd(rng, d) for _ in firsts]
    assert (torch.linalg.cholesky_ex(torch.from_numpy(np.stack(firsts))).info != 0).tolist() == [False, True, True,
                                                                                                 False]

    def reference(s1, s2):
        lam, vec = np.linalg.eigh(s1)
        root1 = vec @ np.diag(np.sqrt(np.clip(lam, 0, None))) @ vec.T
        return np.sum(np.sqrt(np.clip(np.linalg.eigvalsh(root1 @ s2 @ root1), 0, None)))

    got = realism.trace_sqrt_product(torch.from_numpy(np.stack(firsts)), torch.from_numpy(np.stack(seconds)))
    for i, (s1, s2) in enumerate(zip(firsts, seconds)):
        assert got[i].item() == pytest.approx(reference(s1, s2), rel=1e-8, abs=1e-10), i


def test_fd_of_a_sample_with_itself_is_zero_and_a_constant_set_gives_the_trace_bound():
    x = np.random.default_rng(3).normal(size=(200, 8))
    mu, cov = realism.gaussian_stats(x)
    assert abs(realism.frechet_distance(mu, cov, mu, cov)) < 1e-8 * np.trace(cov)
    # one point repeated (the mean-face): covariance 0, so FD = |mu_g - mu_r|^2 + tr(S_r) >= tr(S_r) exactly
    const = np.tile(x[0] + 0.5, (30, 1))
    mu_c, cov_c = realism.gaussian_stats(const)
    assert np.abs(cov_c).max() < 1e-25  # zero up to rounding
    fd = realism.frechet_distance(mu_c, cov_c, mu, cov)
    assert fd == pytest.approx(np.sum((mu_c - mu) ** 2) + np.trace(cov), rel=1e-8) and fd >= np.trace(cov)


def test_fd_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="need"):
        realism.frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


# --- KID -----------------------------------------------------------------------------------------------------------


def naive_mmd2(x, y):
    d = x.shape[1]

    def k(a, b):
        return (float(np.dot(a, b)) / d + 1) ** 3

    n, m = len(x), len(y)
    kxx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    kyy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    kxy = sum(k(x[i], y[j]) for i in range(n) for j in range(m)) / (n * m)
    return kxx + kyy - 2 * kxy


def test_kid_matches_a_naive_loop():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(7, 5)), rng.normal(size=(11, 5)) + 0.3
    assert realism.mmd2_unbiased(torch.from_numpy(x), torch.from_numpy(y)) == pytest.approx(naive_mmd2(x, y), rel=1e-10)
    with pytest.raises(ValueError, match=">= 2 rows"):
        realism.mmd2_unbiased(torch.from_numpy(x[:1]), torch.from_numpy(y))


def test_kid_of_one_distribution_is_zero_on_average_and_can_be_negative():
    rng = np.random.default_rng(5)
    vals = np.array([realism.mmd2_unbiased(torch.from_numpy(rng.normal(size=(20, 8))),
                                           torch.from_numpy(rng.normal(size=(25, 8)))) for _ in range(200)])
    se = vals.std(ddof=1) / math.sqrt(len(vals))
    assert abs(vals.mean()) < 4 * se  # unbiased: E = 0 (4 standard errors: a false alarm once in ~16,000)
    assert (vals < 0).any()
    shifted = [realism.mmd2_unbiased(torch.from_numpy(rng.normal(size=(20, 8)) + 1.0),
                                     torch.from_numpy(rng.normal(size=(25, 8)))) for _ in range(20)]
    assert np.mean(shifted) > vals.mean() + 4 * se * math.sqrt(10)


def test_kid_subsets_average_to_the_full_estimator():
    rng = np.random.default_rng(6)
    x, y = torch.from_numpy(rng.normal(size=(30, 6))), torch.from_numpy(rng.normal(size=(30, 6)) + 0.2)
    full = realism.mmd2_unbiased(x, y)
    assert realism.kid_subsets(x, y, num_subsets=3, subset_size=1000) == (pytest.approx(full, rel=1e-12),
                                                                         pytest.approx(0, abs=1e-12))
    mean, std = realism.kid_subsets(x, y, num_subsets=3000, subset_size=10, rng=np.random.default_rng(0))
    assert abs(mean - full) < 4 * std / math.sqrt(3000)  # Hoeffding: E over subsets = the full U-statistic


# --- the identity bootstrap ------------------------------------------------------------------------------------------


def naive_replicate(x, ox, y, oy, m):
    """FD and KID of one replicate, by explicit weighted pair sums (set_bootstrap's definition)."""
    wx, wy = m[ox], m[oy]
    d = x.shape[1]

    def k(a, b):
        return (float(np.dot(a, b)) / d + 1) ** 3

    def between(u, ou, wu, v, ov, wv):  # pairs of rows of two different identities, weighted
        pairs = [(i, j) for i in range(len(u)) for j in range(len(v)) if ou[i] != ov[j]]
        return sum(wu[i] * wv[j] * k(u[i], v[j]) for i, j in pairs) / sum(wu[i] * wv[j] for i, j in pairs)

    kid = between(x, ox, wx, x, ox, wx) + between(y, oy, wy, y, oy, wy) - 2 * between(x, ox, wx, y, oy, wy)

    def stats(v, w):
        mu = (w[:, None] * v).sum(0) / w.sum()
        num = sum(w[i] * w[j] * np.outer(v[i] - v[j], v[i] - v[j]) / 2
                  for i in range(len(v)) for j in range(len(v)) if i != j)
        return mu, num / sum(w[i] * w[j] for i in range(len(v)) for j in range(len(v)) if i != j)

    return realism.frechet_distance(*stats(x, wx), *stats(y, wy)), kid


@pytest.mark.parametrize("dim", [16, 3])  # sets smaller than D (Gram route) and larger (D-space route)
def test_bootstrap_replicates_match_a_naive_weighted_computation(dim):
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(9, dim)), rng.normal(size=(12, dim)) + 0.4
    ox, oy = np.arange(9) % 4, np.arange(12) % 4
    mult = torch.tensor([[1.0, 1, 1, 1], [2, 0, 1, 1], [0, 3, 1, 0]], dtype=torch.float64)
    rep = set_bootstrap(torch.from_numpy(x), torch.from_numpy(ox), torch.from_numpy(y), torch.from_numpy(oy),
                                mult)
    for b in range(3):
        fd, kid = naive_replicate(x, ox, y, oy, mult[b].numpy())
        assert rep["fd"][b].item() == pytest.approx(fd, rel=1e-7, abs=1e-9)
        assert rep["kid"][b].item() == pytest.approx(kid, rel=1e-9, abs=1e-12)
    # every multiplicity 1: the point estimates
    mu1, s1 = realism.gaussian_stats(x)
    mu2, s2 = realism.gaussian_stats(y)
    assert rep["fd"][0].item() == pytest.approx(realism.frechet_distance(mu1, s1, mu2, s2), rel=1e-7)
    assert rep["kid"][0].item() == pytest.approx(realism.mmd2_between_identities(
        torch.from_numpy(x), torch.from_numpy(ox), torch.from_numpy(y), torch.from_numpy(oy))[0].item(), rel=1e-10)


def test_a_replicate_without_two_rows_has_no_value():
    x, y = torch.randn(3, 4, dtype=torch.float64), torch.randn(3, 4, dtype=torch.float64)
    owners = torch.tensor([0, 1, 2])
    rep = set_bootstrap(x, owners, y, owners, torch.tensor([[3.0, 0, 0], [1, 1, 1]], dtype=torch.float64))
    assert math.isnan(rep["fd"][0]) and math.isnan(rep["kid"][0])
    assert not math.isnan(rep["fd"][1]) and not math.isnan(rep["kid"][1])
    ci, dropped = percentile_interval(rep["kid"], 0.95)
    assert dropped == 1 and ci[0] == ci[1] == rep["kid"][1].item()


def test_unit_rms_features_make_the_kernel_a_function_of_the_cosine():
    v = torch.randn(5, 128, dtype=torch.float64) * torch.rand(5, 1, dtype=torch.float64) * 10
    f = realism.unit_rms_features(v)
    assert torch.allclose((f * f).sum(1), torch.full((5,), 128.0, dtype=torch.float64))
    cos = torch.nn.functional.cosine_similarity(v[:, None], v[None], dim=2)
    assert torch.allclose(realism.polynomial_kernel(f, f), (cos + 1) ** 3)


# --- the protocol ----------------------------------------------------------------------------------------------------


def test_protocol_is_registered_and_its_floor_split_is_seeded():
    from test_protocols import build

    from benchmark.tasks import get_task
    from protocols import PROTOCOLS, get_protocol
    from test_tasks_metrics import synthetic_manifest

    spec = get_protocol("realism")
    assert "realism" in PROTOCOLS and spec.version == 2 and spec.task == "realism" and spec.rank_by == "kid"
    assert spec.normalise_embeddings and get_task("realism").NEEDS == {"embedding"}
    m = synthetic_manifest("mmmffmfmff", utts_per=3)
    a, b = build("realism", m, 0), build("realism", m, 0)
    halves = {build("realism", m, s).trials.sha256 for s in range(6)}
    assert a.trials.sha256 == b.trials.sha256 and len(halves) > 1
    sets = list(a.trials["set"])
    assert sets.count("generated") == len(a.probes) == 30 == sets.count("floor") and sets.count("real") > 0
    floor = [(s, f) for kind, s, f in zip(sets, a.trials["speaker"], a.trials["stands_for"]) if kind == "floor"]
    donors = dict((f, s) for s, f in floor)
    assert all(s != f for s, f in floor) and sorted(donors.values()) == sorted(donors)  # a derangement


# --- the Inception hook ----------------------------------------------------------------------------------------------


class _TinyFeatures(torch.nn.Module):
    def forward(self, x: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        return x.float().mean(dim=(2, 3)).repeat(1, 683)[:, :2048]


def test_inception_file_with_the_wrong_sha256_is_refused_naming_the_file(tmp_path):
    from benchmark.judges.inception import InceptionJudge, load_inception

    path = tmp_path / "inception-2015-12-05.pt"
    torch.jit.save(torch.jit.script(_TinyFeatures()), str(path))
    with pytest.raises(BenchError, match=f"{path}.*has sha256 .*expected {'0' * 64}"):
        load_inception(path, "0" * 64)
    with pytest.raises(BenchError, match="expected sha256 .*is required"):
        InceptionJudge(path=path, sha256="")
    with pytest.raises(BenchError, match="no Inception file given"):
        InceptionJudge(path="", sha256="0" * 64)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    judge = InceptionJudge(path=path, sha256=digest.upper())
    assert judge.info.weights_sha256 == digest and judge.info.embedding_dim == 2048
    img = np.full((40, 30, 3), (10, 20, 30), dtype=np.uint8)
    emb = judge.embed([img, img[:20]])
    assert emb.vectors.shape == (2, 2048) and emb.aligned.all() and np.allclose(emb.vectors[:, :3], [10, 20, 30])


# --- real data: the mean-face bound ----------------------------------------------------------------------------------


def test_mean_face_fd_is_at_least_the_trace_of_the_real_covariance(vox1_mini):
    """mean-face shows one image for every voice: its covariance is 0, so FD = |mu_g - mu_r|^2 + tr(S_real) >= tr(S_real)
    (derived, not measured); KID of one point against a spread set is positive in expectation but not bounded, so only
    FD is asserted. The real set's features are recomputed here from the judge."""
    from benchmark.judges.cache import EmbeddingCache
    from benchmark.data.datasets import dataset_spec, load_dataset
    from benchmark.engine.embed import embed_real_faces
    from benchmark.engine.plan import resolve_specs
    from benchmark.engine.run import run
    from benchmark.judges import DEFAULT_JUDGE, make_judge
    from benchmark.settings import cache_dir
    from benchmark.tasks import get_task
    from conftest import MINI_SPLIT

    r = run("mean-face", "realism", "vox1-mini", data_root=vox1_mini, split=MINI_SPLIT, progress=False, write=False)
    manifest = load_dataset("vox1-mini", data_root=vox1_mini, progress=False)
    spec = dataset_spec(resolve_specs(["realism"], MINI_SPLIT)[0], manifest.dataset_id)
    cache = EmbeddingCache(cache_dir() / "embeddings.sqlite")  # the run above cached these faces
    try:
        faces = sorted(get_task("realism").faces_needed(manifest, spec), key=lambda f: f.id)
        real = embed_real_faces(make_judge(DEFAULT_JUDGE, cache=cache), faces, progress=False)
    finally:
        cache.close()
    feats = realism.unit_rms_features(torch.from_numpy(real.vectors)).numpy()
    trace = float(np.trace(np.cov(feats, rowvar=False)))
    fd = r["scores"]["fd"]
    assert r["scores"]["fd"]["n_real"] == len(real.ids) and fd["n"] == r["trials"]["probes"]
    assert fd["value"] >= trace * (1 - 1e-9)
    assert r["info"]["embedding_dim"] == 128 and r["judge"]["id"] == "dlib-torch-resnet-v1"
