"""Metrics and aggregation against naive loops on seeded random data."""

import math

import pytest
import torch

from benchmark.aggregate import cluster_bootstrap_ci, summarize
from benchmark.metrics import cosine_similarity_rows, match_1to2


def naive_match(gen, true, imp):
    out = []
    for g, t, i in zip(gen.tolist(), true.tolist(), imp.tolist()):
        def cos(a, b):
            dot = sum(x * y for x, y in zip(a, b))
            return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))
        st, si = cos(g, t), cos(g, i)
        out.append(1.0 if st > si else 0.0 if st < si else 0.5)
    return out


def test_match_1to2_equals_naive_loop():
    gen = torch.Generator().manual_seed(0)
    g, t, i = (torch.randn(500, 16, generator=gen, dtype=torch.float64) for _ in range(3))
    got = match_1to2(g, t, i)
    assert got.dtype == torch.float32 and got.shape == (500,)
    assert got.tolist() == naive_match(g, t, i)
    assert 0.3 < got.mean().item() < 0.7  # random embeddings: about chance


def test_match_1to2_ties_and_perfect():
    v = torch.randn(4, 8)
    assert match_1to2(v, v, v).tolist() == [0.5] * 4  # identical faces: exact tie
    far = -v
    assert match_1to2(v, v, far).tolist() == [1.0] * 4
    assert match_1to2(v, far, v).tolist() == [0.0] * 4


def test_cosine_rows_matches_torch():
    a, b = torch.randn(32, 5), torch.randn(32, 5)
    assert torch.allclose(cosine_similarity_rows(a, b), torch.nn.functional.cosine_similarity(a, b), atol=1e-6)


def naive_cluster_bootstrap(values, clusters, n_boot, level, seed):
    k = int(clusters.max()) + 1
    gen = torch.Generator().manual_seed(seed)
    picks = torch.randint(0, k, (n_boot, k), generator=gen)
    means = []
    for row in picks.tolist():
        total, count = 0.0, 0
        for c in row:
            members = [v for v, cl in zip(values.tolist(), clusters.tolist()) if cl == c]
            total += sum(members)
            count += len(members)
        means.append(total / count)
    means = torch.tensor(means, dtype=torch.float64)
    alpha = (1 - level) / 2
    return torch.quantile(means, torch.tensor([alpha, 1 - alpha], dtype=torch.float64)).tolist()


def test_cluster_bootstrap_equals_naive_loop():
    gen = torch.Generator().manual_seed(1)
    values = torch.rand(200, generator=gen)
    clusters = torch.randint(0, 7, (200,), generator=gen)
    clusters[:7] = torch.arange(7)  # every cluster present
    got = cluster_bootstrap_ci(values, clusters, n_boot=300, level=0.95, seed=3)
    want = naive_cluster_bootstrap(values, clusters, 300, 0.95, 3)
    assert got == pytest.approx(want, abs=1e-12)
    assert got[0] < values.double().mean().item() < got[1]


def test_summarize_fields_and_single_cluster():
    s = summarize(torch.tensor([1.0, 0.0, 1.0, 1.0]), ["a", "a", "b", "b"], n_boot=200, level=0.95, seed=0)
    assert s["value"] == 0.75 and s["n"] == 4 and s["n_identities"] == 2
    assert s["ci95"][0] <= 0.75 <= s["ci95"][1]
    one = summarize(torch.tensor([1.0, 0.0]), ["a", "a"], n_boot=50, level=0.95, seed=0)
    assert one["ci95"] == [0.5, 0.5]
