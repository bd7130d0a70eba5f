"""The identity bootstrap of a set-to-set statistic (FD, KID) and its percentile interval: the replicates behind
the realism protocol's intervals (``benchmark.tasks.realism``). Metric definitions: ``benchmark.metrics.sets``."""

from __future__ import annotations

import math

import torch

from benchmark.metrics.sets import frechet_distance_batched, mmd2_between_identities


def set_bootstrap(x: torch.Tensor, x_owner: torch.Tensor, y: torch.Tensor, y_owner: torch.Tensor,
                  multiplicities: torch.Tensor, fd_chunk: int = 250) -> dict[str, torch.Tensor]:
    """FD and KID of every identity-bootstrap replicate of two feature sets whose rows belong to identities.

    A replicate draws the K identities with replacement (``multiplicities[b, a]`` copies of identity a) and takes
    each drawn identity's rows of *both* sets together (its generated and its real faces). The statistics are then
    recomputed on the resampled sets:

    * FD: mean and covariance of the resampled rows, the covariance as the same weighted U-statistic as KID's
      (``sum_{i != j} w_i w_j (x_i - x_j)(x_i - x_j)^T / 2`` over the sum of the weights; ``np.cov`` when every
      multiplicity is 1): a row's copies add no spurious zero-difference pairs that would shrink it. Sets
      smaller than D go through ``n × n`` Gram matrices (``_fd_sample_space``), larger ones through per-identity
      sums and scatter matrices and ``frechet_distance_batched``.
    * KID: ``mmd2_between_identities`` with the identities weighted by their multiplicities — each pair of rows of
      two different identities (a, b) weighted by ``m_a m_b``; pairs inside an identity and between copies of
      one identity left out, as in the point estimate — from identity block sums of the three kernel matrices.
      With every multiplicity 1 it is the point estimate.

    Args:
        x: float64 ``[n, D]``; x_owner: int64 ``[n]`` identity of each row in [0, K).
        y: float64 ``[m, D]``; y_owner: int64 ``[m]``.
        multiplicities: float64 ``[B, K]`` (``benchmark.metrics.aggregate.identity_multiplicities``).
        fd_chunk: replicates whose covariances are held at once (memory ``4·fd_chunk·D²`` floats).

    Returns:
        ``{"fd": [B], "kid": [B]}`` float64 on the CPU; NaN where a replicate leaves a set without two distinct
        rows (FD: no covariance) or without two different identities (KID: no pair).
    """
    dev = x.device
    mult = multiplicities.double().to(dev)  # [B, K]
    k = mult.shape[1]
    x, y = x.double(), y.double()
    d = x.shape[1]
    cx = torch.zeros(k, dtype=torch.float64, device=dev).index_add_(0, x_owner, torch.ones_like(x[:, 0]))  # [K]
    cy = torch.zeros(k, dtype=torch.float64, device=dev).index_add_(0, y_owner, torch.ones_like(y[:, 0]))  # [K]
    kid = mmd2_between_identities(x, x_owner, y, y_owner, mult).to(dev)  # [B]
    # FD
    fd = torch.full((mult.shape[0],), math.nan, dtype=torch.float64, device=dev)
    sample_space = min(x.shape[0], y.shape[0]) < d
    if not sample_space:  # per-identity sums and scatter matrices: [K, D] and [K, D*D]
        sums = [torch.zeros(k, d, dtype=torch.float64, device=dev).index_add_(0, o, v)
                for v, o in ((x, x_owner), (y, y_owner))]
        scats = [torch.zeros(k, d * d, dtype=torch.float64, device=dev).index_add_(
            0, o, (v.unsqueeze(2) * v.unsqueeze(1)).reshape(-1, d * d)) for v, o in ((x, x_owner), (y, y_owner))]
    for a in range(0, mult.shape[0], fd_chunk):
        w = mult[a:a + fd_chunk]  # [b, K]
        ok = ((w @ cx) ** 2 > (w * w) @ cx) & ((w @ cy) ** 2 > (w * w) @ cy)  # [b] both have 2 distinct rows
        idx = torch.arange(a, a + w.shape[0], device=dev)[ok]
        if not bool(ok.any()):
            continue
        w = w[ok]
        if sample_space:
            fd[idx] = _fd_sample_space(x, w[:, x_owner], y, w[:, y_owner])
            continue
        stats = []
        for i, c in enumerate((cx, cy)):
            n = (w @ c).unsqueeze(1)  # [b, 1]
            mu = (w @ sums[i]) / n  # [b, D]
            second = (w @ scats[i]).view(-1, d, d)  # [b, D, D] sum of x x^T over the resampled rows
            pairs = (n * n - (w * w) @ c.unsqueeze(1)).unsqueeze(2)  # [b, 1, 1] weight of distinct-row pairs
            cov = n.unsqueeze(2) * (second - n.unsqueeze(2) * mu.unsqueeze(2) * mu.unsqueeze(1)) / pairs
            stats += [mu, cov]
        fd[idx] = frechet_distance_batched(stats[0], stats[1], stats[2], stats[3])
    return {"fd": fd.cpu(), "kid": kid.cpu()}


def _weighted_factor(v: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Weighted mean ``[b, D]`` and factor ``A`` ``[b, n, D]`` with ``A^T A`` the weighted-U covariance of ``v``
    ``[n, D]`` under row weights ``w`` ``[b, n]`` (``set_bootstrap``)."""
    n = w.sum(1, keepdim=True)  # [b, 1]
    mu = (w @ v) / n  # [b, D]
    pairs = n * n - (w * w).sum(1, keepdim=True)  # [b, 1]
    scale = (n / pairs * w).sqrt().unsqueeze(2)  # [b, n, 1]
    return mu, scale * (v.unsqueeze(0) - mu.unsqueeze(1))  # [b, D], [b, n, D]


def _fd_sample_space(x: torch.Tensor, wx: torch.Tensor, y: torch.Tensor, wy: torch.Tensor) -> torch.Tensor:
    """FD of weighted replicates through ``n × n`` Gram matrices, for sets smaller than the dimension.

    With ``S1 = A1^T A1`` and ``S2 = A2^T A2``, ``tr((S1 S2)^(1/2))`` is the nuclear norm of ``A1 A2^T`` (its
    singular values are the square roots of the non-zero eigenvalues of ``S1 S2``), computed as the square roots of
    the eigenvalues of ``G G^T`` (the smaller side); ``tr(S) = ||A||_F^2``.

    Args:
        x: ``[n1, D]``; wx: ``[b, n1]`` row weights; y: ``[n2, D]``; wy: ``[b, n2]``.

    Returns:
        float64 ``[b]``.
    """
    mu1, a1 = _weighted_factor(x, wx)
    mu2, a2 = _weighted_factor(y, wy)
    g = a1 @ a2.transpose(1, 2)  # [b, n1, n2]
    gram = g @ g.transpose(1, 2) if g.shape[1] <= g.shape[2] else g.transpose(1, 2) @ g
    root = torch.linalg.eigvalsh((gram + gram.transpose(1, 2)) / 2).clamp_min(0).sqrt().sum(-1)  # [b]
    diff = mu1 - mu2
    return (diff * diff).sum(-1) + (a1 * a1).sum((1, 2)) + (a2 * a2).sum((1, 2)) - 2.0 * root


def percentile_interval(replicates: torch.Tensor, level: float) -> tuple[list[float], int]:
    """Percentile interval of the defined (non-NaN) replicates, and how many were undefined.

    Args:
        replicates: float ``[B]``.
        level: confidence level in (0, 1).

    Returns:
        ``([low, high], dropped)``; ``[nan, nan]`` when no replicate is defined.
    """
    ok = ~replicates.isnan()
    dropped = int((~ok).sum())
    if not bool(ok.any()):
        return [math.nan, math.nan], dropped
    alpha = (1.0 - level) / 2.0
    lo, hi = torch.quantile(replicates[ok].double(), torch.tensor([alpha, 1.0 - alpha], dtype=torch.float64)).tolist()
    return [float(lo), float(hi)], dropped
