"""Metric functions: pure, batched torch on any device, one value per trial (torchmetrics' functional style).

Aggregation (mean, bootstrap CI, strata) is a separate step: ``benchmark.aggregate``.
"""

from __future__ import annotations

import torch


def cosine_similarity_rows(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Row-wise cosine similarity.

    Args:
        a: float ``[N, D]``.
        b: float ``[N, D]``.
        eps: floor on each norm.

    Returns:
        float ``[N]`` in [-1, 1].
    """
    a = a / a.norm(dim=1, keepdim=True).clamp_min(eps)  # [N, D]
    b = b / b.norm(dim=1, keepdim=True).clamp_min(eps)  # [N, D]
    return (a * b).sum(dim=1)  # [N]


def match_1to2(generated: torch.Tensor, true_face: torch.Tensor, imposter_face: torch.Tensor) -> torch.Tensor:
    """1:2 matching outcome per trial (Wen, Singh, Raj, NeurIPS 2019, Table 3).

    Args:
        generated: float ``[N, D]`` judge embeddings of the faces generated from each trial's probe.
        true_face: float ``[N, D]`` embeddings of the speaker's real face in each trial.
        imposter_face: float ``[N, D]`` embeddings of the imposter's real face in each trial.

    Returns:
        float32 ``[N]``: 1.0 where the generated face is closer (cosine) to the true face, 0.0 where closer
        to the imposter, 0.5 on an exact tie (chance's expectation).
    """
    s_true = cosine_similarity_rows(generated, true_face)  # [N]
    s_imp = cosine_similarity_rows(generated, imposter_face)  # [N]
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


def cosine_similarity_matrix(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """All-pairs cosine similarity.

    Args:
        a: float ``[M, D]``.
        b: float ``[K, D]``.
        eps: floor on each norm.

    Returns:
        float ``[M, K]`` in [-1, 1]; entry (i, j) is cos(a_i, b_j).
    """
    a = a / a.norm(dim=1, keepdim=True).clamp_min(eps)  # [M, D]
    b = b / b.norm(dim=1, keepdim=True).clamp_min(eps)  # [K, D]
    return a @ b.T  # [M, K]


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
    """
    s_true = sims.gather(1, target.view(-1, 1))  # [T, 1]
    greater = (sims > s_true).sum(dim=1, keepdim=True).float()  # [T, 1]
    ties = (sims == s_true).sum(dim=1, keepdim=True).float() - 1.0  # [T, 1] (the target itself excluded)
    k = torch.as_tensor(list(ks), dtype=torch.float32, device=sims.device).view(1, -1)  # [1, K]
    hits = ((k - greater) / (ties + 1.0).clamp_min(1.0)).clamp(0.0, 1.0)  # [T, K]
    return hits.masked_fill(s_true.isnan(), 0.0).to(torch.float32)  # [T, K]


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
    """
    sums = torch.zeros(n_identities, vectors.shape[1], dtype=vectors.dtype, device=vectors.device)
    sums.index_add_(0, owner, vectors)  # [K, D]
    counts = torch.zeros(n_identities, dtype=vectors.dtype, device=vectors.device)
    counts.index_add_(0, owner, torch.ones_like(owner, dtype=vectors.dtype))  # [K]
    centroids = sums / counts.clamp_min(1.0).unsqueeze(1)  # [K, D]
    return l2_normalise(centroids) if normalise else centroids


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
    """
    band = (ages >= edges[0]).long()  # [N]
    for edge in edges[1:]:
        band = band + (ages > edge).long()
    return band


def agreement(predicted: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """Per-item agreement of two label tensors of the same shape ``[N]``: float32 1.0 where equal, else 0.0."""
    return (predicted == truth).to(torch.float32)  # [N]
