"""Metric functions: pure, batched torch on any device, one value per trial (torchmetrics' functional style).

Aggregation (mean, bootstrap CI, strata) is a separate step: ``benchmark.metrics.aggregate``.
"""

from __future__ import annotations

import torch


COSINE_EPS = 1e-8
"""Floor on each norm in the cosine similarities (``cosine_similarity_rows``, ``cosine_similarity_matrix``)."""
MEMORY_BYTES = 256 << 20
"""Default working-memory budget of the blockwise functions below (bytes of temporaries per block)."""
CACHE_BLOCK_ROWS = 4096
"""Upper bound on the rows of a gathered block (``gathered_dot``): blocks that stay in the CPU caches."""


def cosine_similarity_rows(a: torch.Tensor, b: torch.Tensor, eps: float = COSINE_EPS) -> torch.Tensor:
    """Row-wise cosine similarity.

    Args:
        a: float ``[N, D]``.
        b: float ``[N, D]``.
        eps: floor on each norm.

    Returns:
        float ``[N]`` in [-1, 1].
    """
    return (l2_normalise(a, eps) * l2_normalise(b, eps)).sum(dim=1)  # [N]


def block_rows(bytes_per_row: int, memory_bytes: int = MEMORY_BYTES) -> int:
    """Rows per block so that a block's temporaries (``bytes_per_row`` each) stay within ``memory_bytes`` (≥ 1)."""
    return max(1, int(memory_bytes) // max(1, int(bytes_per_row)))


def gathered_dot(a: torch.Tensor, a_rows: torch.Tensor, b: torch.Tensor, b_rows: torch.Tensor,
                 memory_bytes: int = MEMORY_BYTES) -> torch.Tensor:
    """``(a[a_rows] * b[b_rows]).sum(1)``, gathered block by block: with unit rows (``l2_normalise`` once per
    table), the per-trial cosine similarity — equal to ``cosine_similarity_rows(a_raw[a_rows], b_raw[b_rows])``
    value for value, since normalising a row does not depend on the rows gathered with it.

    Args:
        a: float ``[U, D]`` (e.g. unit judge embeddings of the generated faces).
        a_rows: int64 ``[N]`` rows of ``a``.
        b: float ``[F, D]``.
        b_rows: int64 ``[N]`` rows of ``b``.
        memory_bytes: budget of the gathered ``[block, D]`` temporaries.

    Returns:
        float ``[N]`` on ``a``'s device.
    """
    n, d = int(a_rows.numel()), int(a.shape[1])
    dtype = torch.result_type(a, b)
    out = torch.empty(n, dtype=dtype, device=a.device)
    step = min(block_rows(2 * d * a.element_size(), memory_bytes), CACHE_BLOCK_ROWS)
    buf_a = torch.empty(min(step, n), d, dtype=a.dtype, device=a.device)  # reused: no page faults per block
    buf_b = torch.empty(min(step, n), d, dtype=b.dtype, device=b.device)
    for start in range(0, n, step):
        stop = min(n, start + step)
        ga = torch.index_select(a, 0, a_rows[start:stop], out=buf_a[:stop - start])  # [block, D]
        gb = torch.index_select(b, 0, b_rows[start:stop], out=buf_b[:stop - start])  # [block, D]
        torch.sum(ga * gb, dim=1, out=out[start:stop])
    return out  # [N]


def gathered_matvec(table: torch.Tensor, candidates: torch.Tensor, queries: torch.Tensor, query_rows: torch.Tensor,
                    memory_bytes: int = MEMORY_BYTES) -> torch.Tensor:
    """``bmm(table[candidates], queries[query_rows, :, None])``: each trial's query against its own candidates,
    block by block (with unit rows: the ``[T, N]`` cosine similarities of 1:N trials).

    Args:
        table: float ``[F, D]`` candidate embeddings (e.g. unit real-face embeddings).
        candidates: int64 ``[T, N]`` rows of ``table`` per trial.
        queries: float ``[U, D]`` (e.g. unit generated-face embeddings).
        query_rows: int64 ``[T]`` rows of ``queries``.
        memory_bytes: budget of the gathered ``[block, N, D]`` temporaries.

    Returns:
        float ``[T, N]`` on ``table``'s device.
    """
    t, n = int(candidates.shape[0]), int(candidates.shape[1])
    d = int(table.shape[1])
    out = torch.empty(t, n, dtype=torch.result_type(table, queries), device=table.device)
    step = min(block_rows((n + 1) * d * table.element_size(), memory_bytes), CACHE_BLOCK_ROWS)
    for start in range(0, t, step):
        stop = min(t, start + step)
        cand = table[candidates[start:stop]]  # [block, N, D]
        q = queries.index_select(0, query_rows[start:stop]).unsqueeze(2)  # [block, D, 1]
        out[start:stop] = torch.bmm(cand, q).squeeze(2)
    return out  # [T, N]


def match_1to2(generated: torch.Tensor, true_face: torch.Tensor, imposter_face: torch.Tensor) -> torch.Tensor:
    """1:2 matching outcome per trial (Wen, Singh, Raj, NeurIPS 2019, Table 3).

    Args:
        generated: float ``[N, D]`` judge embeddings of the faces generated from each trial's probe.
        true_face: float ``[N, D]`` embeddings of the speaker's real face in each trial.
        imposter_face: float ``[N, D]`` embeddings of the imposter's real face in each trial.

    Returns:
        float32 ``[N]``: 1.0 where the generated face is closer (cosine) to the true face, 0.0 where closer
        to the imposter, 0.5 on an exact tie (chance's expectation).

    Example:
        >>> gen, true = torch.tensor([[1., 0.], [0., 1.], [1., 1.]]), torch.tensor([[1., 0.]] * 3)
        >>> match_1to2(gen, true, torch.tensor([[0., 1.]] * 3)).tolist()  # closer to true, to imposter, a tie
        [1.0, 0.0, 0.5]
    """
    return match_1to2_similarities(cosine_similarity_rows(generated, true_face),
                                   cosine_similarity_rows(generated, imposter_face))


def match_1to2_similarities(s_true: torch.Tensor, s_imp: torch.Tensor) -> torch.Tensor:
    """``match_1to2`` from the similarities: float ``[N]`` each (cosine to the true face, to the imposter face).

    Returns:
        float32 ``[N]``: 1.0 where ``s_true > s_imp``, 0.5 where equal, else 0.0 (NaN, a failed face: 0.0).
    """
    return ((s_true > s_imp).float() + 0.5 * (s_true == s_imp).float()).to(torch.float32)  # [N]


# --- metrics of the full protocol set (issue 3): 1:N matching, identification, retrieval, features, attributes


def l2_normalise(x: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Scale each row to unit Euclidean norm.

    Args:
        x: float ``[N, D]``.
        eps: floor on each norm (a zero row stays zero).

    Returns:
        float ``[N, D]``, same dtype and device.
    """
    return x / x.norm(dim=-1, keepdim=True).clamp_min(eps)  # [N, D]


def cosine_similarity_matrix(a: torch.Tensor, b: torch.Tensor, eps: float = COSINE_EPS) -> torch.Tensor:
    """All-pairs cosine similarity.

    Args:
        a: float ``[M, D]``.
        b: float ``[K, D]``.
        eps: floor on each norm.

    Returns:
        float ``[M, K]`` in [-1, 1]; entry (i, j) is cos(a_i, b_j).

    Example:
        >>> a, b = torch.tensor([[1., 0.], [0., 2.]], dtype=torch.float64), torch.tensor([[3., 0.], [3., 4.]]).double()
        >>> cosine_similarity_matrix(a, b).tolist()  # cos(a_i, b_j): 3/3, 3/5; 0/3, 8/10
        [[1.0, 0.6], [0.0, 0.8]]
    """
    return l2_normalise(a, eps) @ l2_normalise(b, eps).T  # [M, K]


def match_1ofn(sims: torch.Tensor) -> torch.Tensor:
    """1:N matching outcome per trial (Nagrani, Albanie, Zisserman, "Seeing voices and hearing faces", CVPR 2018).

    Args:
        sims: float ``[T, N]`` similarity of the generated face to the N candidate faces of each trial; column 0
            is the speaker's true face, columns 1…N−1 the imposters.

    Returns:
        float32 ``[T]``: the expected outcome when ties are broken uniformly at random — 1 where the true face is
        the single most similar, 1/m where it shares the maximum with m − 1 imposters (0.5 for a 1:2 tie, as
        ``match_1to2``), 0 otherwise. Chance is 1/N. A row holding NaN (a failed face) scores 0, as NaN
        similarities do in ``match_1to2``.

    Example:
        >>> match_1ofn(torch.tensor([[0.9, 0.1, 0.2], [0.5, 0.5, 0.1], [0.1, 0.8, 0.3]])).tolist()
        [1.0, 0.5, 0.0]
    """
    failed = sims.isnan().any(dim=1)  # [T]
    top = sims.max(dim=1, keepdim=True).values  # [T, 1]
    at_max = sims == top  # [T, N]
    value = at_max[:, 0].float() / at_max.sum(dim=1).float().clamp_min(1.0)  # [T]
    return value.masked_fill(failed, 0.0).to(torch.float32)  # [T]


def topk_hits(sims: torch.Tensor, target: torch.Tensor, ks) -> torch.Tensor:
    """Whether the target is among the k most similar candidates, for several k at once.

    The target's rank is 1 + (number of candidates strictly more similar); candidates exactly as similar as the
    target are ordered uniformly at random, so the value is the probability that the target lands in the top k:
    ``clamp((k − greater) / (ties + 1), 0, 1)`` — 0 or 1 without ties.

    Args:
        sims: float ``[T, R]`` similarity of each probe to the R reference candidates (identities).
        target: int64 ``[T]`` column of each probe's true candidate, in [0, R).
        ks: the k values (ints ≥ 1), length K.

    Returns:
        float32 ``[T, K]`` in [0, 1] (identification top-k accuracy, or retrieval Recall@K, per probe). A probe
        whose similarity to its target is NaN (a failed face) scores 0 for every k.

    Example:
        >>> topk_hits(torch.tensor([[0.2, 0.9, 0.5], [0.5, 0.5, 0.1]]), torch.tensor([0, 0]), (1, 2, 3)).tolist()
        [[0.0, 0.0, 1.0], [0.5, 1.0, 1.0]]
    """
    s_true = sims.gather(1, target.view(-1, 1))  # [T, 1]
    greater = (sims > s_true).sum(dim=1, keepdim=True).float()  # [T, 1]
    ties = (sims == s_true).sum(dim=1, keepdim=True).float() - 1.0  # [T, 1] (the target itself excluded)
    k = torch.as_tensor(list(ks), dtype=torch.float32, device=sims.device).view(1, -1)  # [1, K]
    hits = ((k - greater) / (ties + 1.0).clamp_min(1.0)).clamp(0.0, 1.0)  # [T, K]
    return hits.masked_fill(s_true.isnan(), 0.0).to(torch.float32)  # [T, K]


def blockwise_topk_hits(queries: torch.Tensor, references: torch.Tensor, target: torch.Tensor, ks,
                        own: torch.Tensor | None = None, allowed: torch.Tensor | None = None,
                        allowed_rows: torch.Tensor | None = None, eps: float = COSINE_EPS,
                        memory_bytes: int = MEMORY_BYTES) -> torch.Tensor:
    """``topk_hits`` of the cosine similarities of ``T`` queries to ``R`` references, block by block: the ``[T, R]``
    matrix is never held whole, only ``[block, R]`` rows of it within ``memory_bytes`` (rows are L2-normalised once).

    Args:
        queries: float ``[T, D]`` (e.g. generated-face embeddings).
        references: float ``[R, D]`` (e.g. identity centroids).
        target: int64 ``[T]`` column of each query's true reference.
        ks: the k values (``topk_hits``).
        own: None, or float ``[T]``: the similarity to use at ``(t, target[t])`` instead of the matrix entry (e.g.
            to the centroid of the probe's own true-face pool, ``benchmark.trials.builders.TRUE_FACE_RULE``).
        allowed: None, or bool ``[G, R]``: the references each group may rank (others count as −inf), with
            ``allowed_rows`` int64 ``[T]`` the group of each query (e.g. retrieval galleries).
        eps: floor on each norm (``cosine_similarity_matrix``).
        memory_bytes: budget of the ``[block, R]`` temporaries.

    Returns:
        float32 ``[T, K]``, as ``topk_hits(sims, target, ks)`` on the full matrix.
    """
    q = l2_normalise(queries, eps)  # [T, D]
    r = l2_normalise(references, eps)  # [R, D]
    t_all, n_ref = int(q.shape[0]), int(r.shape[0])
    out = torch.empty(t_all, len(list(ks)), dtype=torch.float32, device=q.device)
    step = block_rows(4 * n_ref * 4, memory_bytes)  # sims, masks and comparisons: a few [block, R] temporaries
    for start in range(0, t_all, step):
        stop = min(t_all, start + step)
        sims = q[start:stop] @ r.T  # [block, R]
        tgt = target[start:stop]
        if own is not None:
            sims[torch.arange(stop - start, device=sims.device), tgt] = own[start:stop]
        if allowed is not None:
            sims = sims.masked_fill(~allowed[allowed_rows[start:stop]], float("-inf"))
        out[start:stop] = topk_hits(sims, tgt, ks)
    return out  # [T, K]


def l1_distance_rows(a: torch.Tensor, b: torch.Tensor, reduction: str = "sum", eps: float = 0.0) -> torch.Tensor:
    """Row-wise L1 distance ``reduce_d |a − b + eps|``.

    Args:
        a: float ``[N, D]``.
        b: float ``[N, D]``.
        reduction: "sum" over the D dimensions (``torch.nn.PairwiseDistance(p=1)``, SF2F) or "mean".
        eps: added to each difference, as ``torch.nn.PairwiseDistance`` does (SF2F uses 1e-6).

    Returns:
        float ``[N]`` ≥ 0.

    Raises:
        ValueError: unknown reduction.

    Example:
        >>> a, b = torch.tensor([[0., 0.], [1., 1.]]), torch.tensor([[3., 4.], [1., 1.]])
        >>> l1_distance_rows(a, b).tolist(), l1_distance_rows(a, b, reduction="mean").tolist()
        ([7.0, 0.0], [3.5, 0.0])
    """
    diff = (a - b + eps).abs()  # [N, D]
    if reduction == "sum":
        return diff.sum(dim=1)  # [N]
    if reduction == "mean":
        return diff.mean(dim=1)  # [N]
    raise ValueError(f"l1 reduction must be 'sum' or 'mean', not {reduction!r}")


def l2_distance_rows(a: torch.Tensor, b: torch.Tensor, reduction: str = "sum", eps: float = 0.0) -> torch.Tensor:
    """Row-wise L2 distance ``sqrt(reduce_d (a − b + eps)²)``.

    Args:
        a: float ``[N, D]``.
        b: float ``[N, D]``.
        reduction: "sum" (Euclidean distance, ``torch.nn.PairwiseDistance(p=2)``, SF2F) or "mean" (root mean
            square over the D dimensions).
        eps: added to each difference, as ``torch.nn.PairwiseDistance`` does.

    Returns:
        float ``[N]`` ≥ 0.

    Raises:
        ValueError: unknown reduction.

    Example:
        >>> l2_distance_rows(torch.tensor([[0., 0.]]), torch.tensor([[3., 4.]])).tolist()
        [5.0]
    """
    sq = (a - b + eps).pow(2)  # [N, D]
    if reduction == "sum":
        return sq.sum(dim=1).sqrt()  # [N]
    if reduction == "mean":
        return sq.mean(dim=1).sqrt()  # [N]
    raise ValueError(f"l2 reduction must be 'sum' or 'mean', not {reduction!r}")


def angle_degrees(cos: torch.Tensor) -> torch.Tensor:
    """The angle, in degrees in [0, 180], whose cosine is ``cos`` (clamped to [-1, 1] first). Shape kept."""
    return torch.rad2deg(torch.arccos(cos.clamp(-1.0, 1.0)))


def identity_centroids(vectors: torch.Tensor, owner: torch.Tensor, n_identities: int,
                       normalise: bool = False) -> torch.Tensor:
    """Mean embedding of each identity's faces (the identity-centroid ground truth).

    Args:
        vectors: float ``[F, D]`` face embeddings (normalise them first if the protocol says so).
        owner: int64 ``[F]`` identity index of each face, in [0, n_identities); every identity must own ≥ 1 face.
        n_identities: K.
        normalise: L2-normalise each centroid after averaging (SF2F does not).

    Returns:
        float ``[K, D]``.

    Example:
        >>> identity_centroids(torch.tensor([[0., 0.], [2., 2.], [4., 0.]]), torch.tensor([0, 0, 1]), 2).tolist()
        [[1.0, 1.0], [4.0, 0.0]]
    """
    sums = torch.zeros(n_identities, vectors.shape[1], dtype=vectors.dtype, device=vectors.device)
    sums.index_add_(0, owner, vectors)  # [K, D]
    counts = torch.zeros(n_identities, dtype=vectors.dtype, device=vectors.device)
    counts.index_add_(0, owner, torch.ones_like(owner, dtype=vectors.dtype))  # [K]
    centroids = sums / counts.clamp_min(1.0).unsqueeze(1)  # [K, D]
    return l2_normalise(centroids) if normalise else centroids


AGE_BAND_NAMES = {(35.0, 65.0): ["under 35", "35-65", "over 65"], (40.0, 59.0): ["20-39", "40-59", ">=60"]}
"""Names of the bands ``age_band`` gives for the edges protocols use: AR-SPM's (Table 6) and Speech2Face's human bands."""


def age_band(ages: torch.Tensor, edges=(35.0, 65.0)) -> torch.Tensor:
    """Age band index of each age (AR-SPM, Table 6: under 35 / 35–65 / over 65).

    Band 0 is ``age < edges[0]``; band j ≥ 1 is ``edges[j-1] ≤ age ≤ edges[j]`` for j = 1 and
    ``edges[j-1] < age ≤ edges[j]`` after; the last band is ``age > edges[-1]``. With (35, 65): 34 → 0, 35 → 1,
    65 → 1, 66 → 2.

    Args:
        ages: float ``[N]`` ages in years.
        edges: increasing band edges in years.

    Returns:
        int64 ``[N]`` in [0, len(edges)].

    Example:
        >>> age_band(torch.tensor([34., 35., 65., 66.])).tolist()
        [0, 1, 1, 2]
    """
    band = (ages >= edges[0]).long()  # [N]
    for edge in edges[1:]:
        band = band + (ages > edge).long()
    return band


def agreement(predicted: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """Per-item agreement of two label tensors of the same shape ``[N]``: float32 1.0 where equal, else 0.0."""
    return (predicted == truth).to(torch.float32)  # [N]
