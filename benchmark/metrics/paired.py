"""Paired comparisons of two results scored on the same trials: the bootstrap replicates each result stores for its
ranked metric (``encode_replicates``), their per-replicate difference, its percentile interval and p-value, and
Holm's correction across the pairs a table shows.

Rows scored on the same trials with the same seed resample the same identities in every replicate
(``benchmark.metrics.aggregate.identity_multiplicities`` of the same K, B and seed), so replicate b of row A and
replicate b of row B are one draw of identities: ``d_b = A_b − B_b`` is the bootstrap distribution of the paired
difference (Efron & Tibshirani, An Introduction to the Bootstrap, 1993, §13 percentile interval; the p-value is
the achieved significance level of §16.4 read off the same replicates: twice the smaller tail mass at 0).
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Sequence

import numpy as np
import torch

ENCODING = "float32-le-base64"
"""How ``encode_replicates`` stores the replicate means (B float32 values, little-endian, base64; NaN = dropped)."""


def identities_sha256(names: Sequence[str]) -> str:
    """sha256 of the resampled identities, in the resampling order (newline-joined)."""
    return hashlib.sha256("\n".join(names).encode("utf-8")).hexdigest()


def encode_replicates(replicates: torch.Tensor, names: Sequence[str], seed: int) -> dict:
    """The compact form a result stores: ``{"encoding", "n", "seed", "identities_sha256", "data"}``.

    Args:
        replicates: float ``[B]`` replicate values (NaN for a dropped replicate).
        names: the K resampled identities, in the order their multiplicities are drawn.
        seed: the bootstrap seed.

    Returns:
        A JSON-ready dict (about 1.33 · 4 · B characters of data).
    """
    data = np.asarray(replicates.detach().cpu(), dtype="<f4").tobytes()
    return {"encoding": ENCODING, "n": int(replicates.numel()), "seed": int(seed),
            "identities_sha256": identities_sha256(names), "data": base64.b64encode(data).decode("ascii")}


def decode_replicates(stored: dict) -> np.ndarray:
    """float64 ``[B]`` from ``encode_replicates``'s dict.

    Raises:
        ValueError: another encoding, or a length that does not match ``n``.
    """
    if stored.get("encoding") != ENCODING:
        raise ValueError(f"replicates encoded as {stored.get('encoding')!r}; expected {ENCODING!r}")
    out = np.frombuffer(base64.b64decode(stored["data"]), dtype="<f4").astype(np.float64)
    if out.shape != (int(stored["n"]),):
        raise ValueError(f"replicates hold {out.size} values, the record says {stored['n']}")
    return out


def pairable(a: dict, b: dict) -> str | None:
    """Why two stored replicate records cannot be paired, or None (same B, seed and resampled identities)."""
    for key in ("n", "seed", "identities_sha256"):
        if a.get(key) != b.get(key):
            return f"different {key} ({a.get(key)} vs {b.get(key)}): not the same identity resamples"
    return None


def paired_difference(value_a: float, reps_a: np.ndarray, value_b: float, reps_b: np.ndarray,
                      level: float = 0.95) -> dict:
    """Paired difference A − B with its percentile interval and two-sided bootstrap p-value (module docstring).

    Args:
        value_a, value_b: the two point estimates.
        reps_a, reps_b: float ``[B]`` replicates drawn with the same identity multiplicities (NaN: dropped).
        level: confidence level in (0, 1).

    Returns:
        ``{"difference", "ci95": [low, high], "p_value", "replicates"}``; p in [1/B', 1] (B' the replicates
        defined in both), NaN fields when none is.
    """
    d = np.asarray(reps_a, np.float64) - np.asarray(reps_b, np.float64)  # [B]
    d = d[~np.isnan(d)]
    diff = float(value_a - value_b)
    if not d.size:
        return {"difference": diff, "ci95": [math.nan, math.nan], "p_value": math.nan, "replicates": 0}
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(d, [alpha, 1.0 - alpha])
    tail = min(float(np.mean(d <= 0)), float(np.mean(d >= 0)))
    p = min(1.0, max(2.0 * tail, 1.0 / d.size))
    return {"difference": diff, "ci95": [float(lo), float(hi)], "p_value": p, "replicates": int(d.size)}


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (Holm, Scand. J. Statist. 6(2), 1979), in the input order; NaN stays NaN.

    Args:
        p_values: m raw p-values in [0, 1].

    Returns:
        m adjusted p-values: ``max_{j ≤ i} min(1, (m − j + 1) p_(j))`` over the sorted order.
    """
    p = np.asarray(p_values, np.float64)
    ok = np.flatnonzero(~np.isnan(p))
    out = np.full(p.shape, math.nan)
    m = ok.size
    running = 0.0
    for rank, i in enumerate(ok[np.argsort(p[ok], kind="stable")]):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out.tolist()
