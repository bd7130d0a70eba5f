"""Aggregation of per-trial values: mean, 95 % CI by a bootstrap over identities, strata.

Trials of one speaker share the speaker's voice and faces and are not independent, so the interval comes
from a cluster (identity-level) bootstrap: resample identities with replacement, recompute the trial-weighted
mean, take the 2.5 / 97.5 percentiles (Efron & Tibshirani 1993, percentile interval; Field & Welsh 2007 for
the cluster bootstrap). Vectorised: identity sums ``[K]`` and counts ``[K]`` against multinomial weights
``[B, K]``.
"""

from __future__ import annotations

import torch


def cluster_bootstrap_ci(values: torch.Tensor, clusters: torch.Tensor, n_boot: int = 2000, level: float = 0.95,
                         seed: int = 0) -> tuple[float, float]:
    """Percentile CI of the mean of ``values`` with clusters resampled as units.

    Args:
        values: float ``[N]`` per-trial values.
        clusters: int64 ``[N]`` cluster (identity) index of each trial, in [0, K).
        n_boot: resamples B.
        level: confidence level in (0, 1).
        seed: seed of the resampling (torch CPU generator; the result is device-independent).

    Returns:
        (low, high) floats. With a single cluster the interval is (mean, mean) — no spread can be estimated.
    """
    values = values.double().cpu()
    clusters = clusters.long().cpu()
    k = int(clusters.max()) + 1 if clusters.numel() else 0
    sums = torch.zeros(k, dtype=torch.float64).index_add_(0, clusters, values)  # [K]
    counts = torch.zeros(k, dtype=torch.float64).index_add_(0, clusters, torch.ones_like(values))  # [K]
    gen = torch.Generator().manual_seed(int(seed))
    picks = torch.randint(0, k, (n_boot, k), generator=gen)  # [B, K]
    weights = torch.zeros(n_boot, k, dtype=torch.float64).scatter_add_(1, picks, torch.ones(n_boot, k, dtype=torch.float64))
    means = (weights @ sums) / (weights @ counts)  # [B]
    alpha = (1.0 - level) / 2.0
    lo, hi = torch.quantile(means, torch.tensor([alpha, 1.0 - alpha], dtype=torch.float64)).tolist()
    return float(lo), float(hi)


def summarize(values: torch.Tensor, identities: list[str], n_boot: int, level: float, seed: int) -> dict:
    """Value, CI and counts of per-trial values.

    Args:
        values: float ``[N]`` per-trial values (any device).
        identities: length-N list of each trial's speaker identity (the bootstrap cluster).
        n_boot, level, seed: as in ``cluster_bootstrap_ci``.

    Returns:
        ``{"value": float, "ci95": [low, high], "n": N trials, "n_identities": K}``.
    """
    index = {ident: i for i, ident in enumerate(sorted(set(identities)))}
    clusters = torch.tensor([index[i] for i in identities], dtype=torch.long)
    values = values.detach().cpu()
    lo, hi = cluster_bootstrap_ci(values, clusters, n_boot=n_boot, level=level, seed=seed)
    return {"value": float(values.double().mean()), "ci95": [lo, hi], "n": int(values.numel()),
            "n_identities": len(index)}
