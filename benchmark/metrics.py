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
