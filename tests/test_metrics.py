"""Metrics against naive loops on seeded random data."""

import math

import torch

from benchmark.metrics.pairwise import cosine_similarity_rows, match_1to2


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


# The bootstrap aggregation (and its coverage with a known truth) is tested in tests/test_aggregate.py.
