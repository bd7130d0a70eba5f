"""Realism metrics: Fréchet distance (FD) and kernel distance (KID) between a set of generated faces and a set of
real faces, in a face model's embedding space. Pure functions on arrays/tensors; the protocol is
``protocols.realism`` and its task ``benchmark.tasks.realism``.

* **FD** (Heusel, Ramsauer, Unterthiner, Nessler & Hochreiter, "GANs Trained by a Two Time-Scale Update Rule
  Converge to a Local Nash Equilibrium", NeurIPS 2017 — there in Inception-v3's pool space, "FID"): the Fréchet
  (2-Wasserstein) distance between two Gaussians fitted to the feature sets,
  ``||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2))``. The matrix square root is scipy.linalg.sqrtm, with
  pytorch-fid's handling (mseitzer/pytorch-fid, ``fid_score.calculate_frechet_distance``; clean-fid's
  ``fid.frechet_distance`` is the same code): a non-finite root is recomputed with ``eps`` = 1e-6 added to both
  diagonals, and a complex root is accepted only when its diagonal's imaginary parts are below 1e-3 (then the real
  part is kept), else ValueError. Means and covariances as pytorch-fid's ``calculate_activation_statistics``:
  ``np.mean(axis=0)`` and ``np.cov(rowvar=False)`` (unbiased, N − 1).
* **KID** (Bińkowski, Sutherland, Arbel & Gretton, "Demystifying MMD GANs", ICLR 2018, §4 and App. D): the squared
  maximum mean discrepancy with the cubic polynomial kernel ``k(x, y) = (x·y / d + 1)^3`` (d = feature dimension).
  ``mmd2_unbiased`` is the two-sample U-statistic (Gretton et al., "A Kernel Two-Sample Test", JMLR 13, 2012,
  Lemma 6, unequal sizes): unbiased for *independent* rows. Face sets here are clustered by identity (several
  clips or photos per speaker), and same-identity pairs in its within-set sums add a positive bias of about 1/K
  (K identities; simulated on one population with vox1-s2f's clip counts, ``benchmarks/realism_cluster_bias.py``:
  E ≈ 0.09 at K = 22). The protocol's estimator is ``mmd2_between_identities``: the incomplete U-statistic over
  pairs of rows of *different* identities only, in all three sums (within x, within y, and x against y). When
  identities are drawn independently from their populations its expectation is the MMD² of the two identity-
  mixture distributions — 0 for one population, whatever the cluster sizes; an estimate can be negative.

Sample size. FD is strongly biased upwards at small N: the sample covariances of N points in D dimensions have
rank ≤ N − 1 and the square-root term is biased low, so E[FD] exceeds the population value by roughly
``tr(S1)/N1 + tr(S2)/N2`` and more (Bińkowski et al. 2018, §4 and App. D, show it also ranks two models
differently at different N; Chong & Forsyth, "Effectively Unbiased FID and Inception Score and where to find
them", CVPR 2020, measure the 1/N trend). Here N is a few dozen to a few hundred faces (toy test 48, vox1-mini
validation+test 54 generated / 100 real, vox1-s2f test 43 / 43; Wen et al.'s full test set ~21,850 / 20,455) in
D = 128, so FD mostly measures N: read **KID** on the leaderboard; FD is flagged below ``FD_MIN_ROWS_PER_DIM`` · D
rows per set (``fd_small_n_flag``), and read only beside its floor (``benchmark.tasks.realism``) at the same N.

Subsets. clean-fid (``fid.kernel_distance``: 100 subsets of min(N1, N2, 1000)) and torch-fidelity
(``kid_subsets=100``, ``kid_subset_size=1000``) average the estimator over random subsets because a 50,000² kernel
matrix is costly. Averaged over all subsets of given sizes, the two-sample U-statistic is the full-sample one
(Hoeffding's representation of U-statistics), so the full estimator (``mmd2_unbiased``) is the subset scheme's
limit with no Monte Carlo noise (for independent rows);
at the sizes of this suite (≤ ~2·10^4 faces per side) its ``N1·N2·D`` kernel
costs seconds in chunks, so the protocol uses the whole sets (with the between-identity pairs). ``kid_subsets`` is
the clean-fid scheme, kept for comparison with numbers computed that way.

Features are float64 throughout (the sample covariance and its square root lose digits in float32).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy import linalg

FD_EPS = 1e-6
"""Added to both covariance diagonals when sqrtm's result is not finite (pytorch-fid's and clean-fid's eps)."""
IMAG_ATOL = 1e-3
"""Largest |imaginary part| on the diagonal of sqrtm's result that is discarded (pytorch-fid, clean-fid)."""
KID_DEGREE = 3
"""Degree of KID's polynomial kernel (Bińkowski et al. 2018: ``(x·y/d + 1)^3``)."""
KID_COEF0 = 1.0
"""Constant of KID's polynomial kernel."""
FD_MIN_ROWS_PER_DIM = 10
"""FD is flagged when a set has fewer than this many rows per feature dimension (``fd_small_n_flag``)."""
_CHUNK_ROWS = 4096  # kernel rows computed at a time: a [4096, N] float64 block


def unit_rms_features(vectors: torch.Tensor | np.ndarray, eps: float = 1e-12) -> torch.Tensor:
    """Each embedding scaled to unit L2 norm, then by ``sqrt(D)`` (so each coordinate has unit RMS).

    The realism protocol's features (``protocols.realism`` says why): on them ``x·y / D`` is the cosine
    similarity the rest of the suite compares faces by, so KID's kernel ``(x·y/D + 1)^3 = (cos + 1)^3``.

    Args:
        vectors: float ``[N, D]`` embeddings.
        eps: floor on each norm (a zero row stays zero).

    Returns:
        float64 ``[N, D]`` (CPU for a NumPy input; the input's device otherwise).
    """
    x = torch.as_tensor(vectors).double()  # [N, D]
    return x / x.norm(dim=1, keepdim=True).clamp_min(eps) * math.sqrt(x.shape[1])


def gaussian_stats(features: np.ndarray | torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance of a feature set (pytorch-fid's ``calculate_activation_statistics``).

    Args:
        features: float ``[N, D]``, N ≥ 2.

    Returns:
        ``(mu, sigma)``: float64 ``[D]`` and ``[D, D]``.

    Raises:
        ValueError: fewer than two rows, or not 2-D.
    """
    x = np.asarray(features.detach().cpu() if isinstance(features, torch.Tensor) else features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"features must be [N, D] with N >= 2 (a covariance needs two rows); got {x.shape}")
    return x.mean(axis=0), np.cov(x, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray,
                     eps: float = FD_EPS) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2) (Heusel et al. 2017; pytorch-fid's code path).

    ``||mu1 - mu2||^2 + tr(sigma1) + tr(sigma2) - 2 tr(sqrtm(sigma1 @ sigma2))`` with scipy.linalg.sqrtm. A
    non-finite root (a singular product, e.g. a generator whose faces all embed alike) is recomputed with ``eps``
    added to both diagonals; a complex root is kept as its real part when every diagonal imaginary part is below
    ``IMAG_ATOL`` (as pytorch-fid and clean-fid do).

    Args:
        mu1, mu2: float ``[D]`` means.
        sigma1, sigma2: float ``[D, D]`` covariances (symmetric positive semi-definite).
        eps: diagonal offset of the fallback.

    Returns:
        The distance, a float ≥ 0 up to rounding, in squared feature units.

    Raises:
        ValueError: shapes that do not match, or a root with a large imaginary component.

    Example (1-D: (0 - 2)² + 1 + 4 - 2·sqrt(1·4) = 5):
        >>> frechet_distance([0.0], [[1.0]], [2.0], [[4.0]])
        5.0
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    d = mu1.shape[0]
    if mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise ValueError(f"mu1 {mu1.shape}, mu2 {mu2.shape}, sigma1 {sigma1.shape}, sigma2 {sigma2.shape}: need [D], "
                         "[D], [D, D], [D, D] of one D")
    diff = mu1 - mu2
    import warnings

    with warnings.catch_warnings():  # scipy warns on a singular product; the finite check below handles it
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1 @ sigma2)
        if not np.isfinite(covmean).all():
            offset = np.eye(d) * eps
            covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=IMAG_ATOL):
            raise ValueError(f"Fréchet distance: sqrtm has an imaginary component of {np.max(np.abs(covmean.imag)):g}")
        covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def trace_sqrt_product(sigma1: torch.Tensor, sigma2: torch.Tensor) -> torch.Tensor:
    """``tr((S1 S2)^(1/2))`` for batches of PSD matrices, by symmetric eigenvalue problems.

    With any factor ``S1 = A A^T``, ``S1 S2 = A (A^T S2)`` has the eigenvalues of ``A^T S2 A`` (``XY`` and ``YX``
    share them), a symmetric PSD matrix, so they are real and ≥ 0 and the trace of the principal square root of
    ``S1 S2`` is the sum of their square roots. ``A`` is the Cholesky factor of ``S1`` (a ``cholesky`` and an
    ``eigvalsh``: 2.3× faster than through an ``eigh`` of ``S1`` on full-rank 128 × 128 matrices), or, where
    Cholesky refuses ``S1`` (singular or nearly so, e.g. a low-rank feature set: no gain there), ``S1^(1/2)`` from
    ``eigh``. Tiny negative eigenvalues from rounding are clipped to 0. Used for the bootstrap replicates
    (thousands of covariance pairs at once); ``frechet_distance`` (scipy.linalg.sqrtm) gives the point estimate,
    and tests hold the two together.

    Args:
        sigma1, sigma2: float ``[..., D, D]`` symmetric PSD.

    Returns:
        float ``[...]``.
    """
    factor, info = torch.linalg.cholesky_ex(sigma1)  # [..., D, D] lower, S1 = L L^T where info == 0
    failed = info != 0
    if bool(failed.any()):
        lam, vec = torch.linalg.eigh(sigma1[failed])  # [F, D], [F, D, D]
        factor = factor.clone()
        factor[failed] = (vec * lam.clamp_min(0).sqrt().unsqueeze(-2)) @ vec.transpose(-1, -2)  # S1^(1/2)
    inner = factor.transpose(-1, -2) @ sigma2 @ factor  # [..., D, D]
    inner = (inner + inner.transpose(-1, -2)) / 2  # symmetric up to rounding
    return torch.linalg.eigvalsh(inner).clamp_min(0).sqrt().sum(-1)


def frechet_distance_batched(mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor,
                             sigma2: torch.Tensor) -> torch.Tensor:
    """``frechet_distance`` for B pairs of Gaussians at once (``trace_sqrt_product`` for the root term).

    Args:
        mu1, mu2: float ``[B, D]``.
        sigma1, sigma2: float ``[B, D, D]`` symmetric PSD.

    Returns:
        float ``[B]``.
    """
    diff = mu1 - mu2  # [B, D]
    tr1 = sigma1.diagonal(dim1=-2, dim2=-1).sum(-1)  # [B]
    tr2 = sigma2.diagonal(dim1=-2, dim2=-1).sum(-1)  # [B]
    return (diff * diff).sum(-1) + tr1 + tr2 - 2.0 * trace_sqrt_product(sigma1, sigma2)


def polynomial_kernel(x: torch.Tensor, y: torch.Tensor, degree: int = KID_DEGREE,
                      coef0: float = KID_COEF0) -> torch.Tensor:
    """KID's kernel matrix ``(x @ y.T / d + coef0) ** degree`` (Bińkowski et al. 2018).

    Args:
        x: float ``[N, D]``.
        y: float ``[M, D]``.
        degree, coef0: the kernel's (3 and 1 for KID).

    Returns:
        float ``[N, M]``.
    """
    return (x @ y.T / x.shape[1] + coef0) ** degree


def mmd2_unbiased(x: torch.Tensor, y: torch.Tensor) -> float:
    """The MMD² U-statistic with the cubic kernel over all pairs of two sets of *independent* rows.

    Unbiased only when the rows are independent; with several rows per identity use ``mmd2_between_identities``
    (module docstring).

    ``sum_{i != j} k(x_i, x_j) / (n (n-1)) + sum_{i != j} k(y_i, y_j) / (m (m-1)) - 2 sum_{i,j} k(x_i, y_j) / (n m)``
    (Gretton et al. 2012, Lemma 6; Bińkowski et al. 2018, eq. 2 with their kernel).

    Args:
        x: float ``[n, D]``, n ≥ 2 (e.g. generated-face features).
        y: float ``[m, D]``, m ≥ 2 (real-face features).

    Returns:
        The estimate (float; for independent rows its expectation is the population MMD², so it can be negative).

    Raises:
        ValueError: a set with fewer than two rows, or dimensions that differ.
    """
    x, y = torch.as_tensor(x).double(), torch.as_tensor(y).double()
    n, m = x.shape[0], y.shape[0]
    if n < 2 or m < 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"KID needs two sets of >= 2 rows of one dimension; got {tuple(x.shape)} and {tuple(y.shape)}")
    kxx, kyy, kxy = _kernel_sum(x, x), _kernel_sum(y, y), _kernel_sum(x, y)
    dxx = (((x * x).sum(1) / x.shape[1] + KID_COEF0) ** KID_DEGREE).sum()
    dyy = (((y * y).sum(1) / y.shape[1] + KID_COEF0) ** KID_DEGREE).sum()
    return float((kxx - dxx) / (n * (n - 1)) + (kyy - dyy) / (m * (m - 1)) - 2 * kxy / (n * m))


def _kernel_sum(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Sum of all entries of ``polynomial_kernel(x, y)``, in row chunks (memory ``[_CHUNK_ROWS, M]``)."""
    return sum((polynomial_kernel(x[a:a + _CHUNK_ROWS], y).sum() for a in range(0, x.shape[0], _CHUNK_ROWS)),
               torch.zeros((), dtype=x.dtype, device=x.device))


def kid_subsets(x: torch.Tensor, y: torch.Tensor, num_subsets: int = 100, subset_size: int = 1000,
                rng: np.random.Generator | None = None) -> tuple[float, float]:
    """KID by clean-fid's subset scheme (``cleanfid.fid.kernel_distance``; StyleGAN2-ADA's ``compute_kid``).

    Each of ``num_subsets`` rounds draws ``s = min(n, m, subset_size)`` rows of each set without replacement and
    takes the unbiased MMD² of the two equal-size subsets; the mean and standard deviation over rounds are returned
    (torch-fidelity reports both). Its expectation given the data is ``mmd2_unbiased(x, y)`` (which assumes
    independent rows: module docstring).

    Args:
        x: float ``[n, D]``; y: float ``[m, D]`` (n, m ≥ 2).
        num_subsets: rounds (clean-fid: 100).
        subset_size: largest subset (clean-fid: 1000).
        rng: NumPy generator of the draws (default: ``default_rng(0)``).

    Returns:
        ``(mean, std)`` over rounds (std 0 for one round).
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    x, y = torch.as_tensor(x).double(), torch.as_tensor(y).double()
    s = min(x.shape[0], y.shape[0], int(subset_size))
    vals = [mmd2_unbiased(x[torch.from_numpy(rng.choice(x.shape[0], s, replace=False))],
                          y[torch.from_numpy(rng.choice(y.shape[0], s, replace=False))]) for _ in range(num_subsets)]
    return float(np.mean(vals)), float(np.std(vals))


def identity_block_sums(x: torch.Tensor, ox: torch.Tensor, y: torch.Tensor, oy: torch.Tensor, k: int) -> torch.Tensor:
    """``S[a, b]`` = sum of ``polynomial_kernel`` over the x rows of identity a and the y rows of identity b.

    Args:
        x: float64 ``[n, D]``; ox: int64 ``[n]`` identity of each row in [0, k).
        y: float64 ``[m, D]``; oy: int64 ``[m]``.
        k: number of identities.

    Returns:
        float64 ``[k, k]`` (computed in row chunks: memory ``[_CHUNK_ROWS, m]``).
    """
    out = torch.zeros(k, k, dtype=torch.float64, device=x.device)
    for a in range(0, x.shape[0], _CHUNK_ROWS):
        kern = polynomial_kernel(x[a:a + _CHUNK_ROWS], y)  # [c, m]
        per_col = torch.zeros(k, kern.shape[1], dtype=torch.float64, device=x.device).index_add_(
            0, ox[a:a + _CHUNK_ROWS], kern)  # [k, m]
        out += torch.zeros(k, k, dtype=torch.float64, device=x.device).index_add_(1, oy, per_col)
    return out


def between_identity_mean(s: torch.Tensor, cx: torch.Tensor, cy: torch.Tensor, mult: torch.Tensor) -> torch.Tensor:
    """Mean kernel value over pairs of rows of *different* identities, identities weighted by ``mult``.

    ``(sum_{a != b} m_a m_b S[a, b]) / (sum_{a != b} m_a m_b cx_a cy_b)``: the pairs inside one identity (and,
    in a bootstrap replicate, between copies of one identity) are left out.

    Args:
        s: float64 ``[k, k]`` block sums (``identity_block_sums``).
        cx, cy: float64 ``[k]`` rows per identity in each set.
        mult: float64 ``[B, k]`` identity multiplicities (all ones: the sample itself).

    Returns:
        float64 ``[B]``; NaN where no pair of different identities is left.
    """
    m2 = mult * mult  # [B, k]
    num = ((mult @ s) * mult).sum(1) - m2 @ s.diagonal()  # [B]
    den = (mult @ cx) * (mult @ cy) - m2 @ (cx * cy)  # [B]
    return num / den.where(den > 0, torch.full_like(den, math.nan))


def mmd2_between_identities(x: torch.Tensor, ox: torch.Tensor, y: torch.Tensor, oy: torch.Tensor,
                            mult: torch.Tensor | None = None) -> torch.Tensor:
    """KID of clustered sets: the MMD² incomplete U-statistic over pairs of different identities (module docstring).

    ``mean_{id(i) != id(j)} k(x_i, x_j) + mean_{id(i) != id(j)} k(y_i, y_j) − 2 mean_{id(i) != id(j)} k(x_i, y_j)``
    with the cubic kernel; every pair used joins two identities, so for identities drawn independently its
    expectation is the MMD² of the two identity-mixture distributions (0 for one population), unlike
    ``mmd2_unbiased``, whose same-identity pairs bias it upwards by about 1/K. Identities index one population for
    both sets (a generated face and a real face of identity a are a same-identity pair).

    Args:
        x: float ``[n, D]``; ox: int64 ``[n]`` identity of each row in [0, K).
        y: float ``[m, D]``; oy: int64 ``[m]``.
        mult: float64 ``[B, K]`` identity multiplicities of bootstrap replicates (copies of one identity are one
            identity); default one row of ones (the sample), K = 1 + the largest owner.

    Returns:
        float64 ``[B]`` on the CPU; NaN where a set has no pair of rows of two different identities.

    Raises:
        ValueError: dimensions or owner lengths that do not match.
    """
    x, y = torch.as_tensor(x).double(), torch.as_tensor(y).double()
    ox, oy = torch.as_tensor(ox, device=x.device).long(), torch.as_tensor(oy, device=y.device).long()
    if x.shape[1] != y.shape[1] or ox.shape != x.shape[:1] or oy.shape != y.shape[:1]:
        raise ValueError(f"x {tuple(x.shape)} / owners {tuple(ox.shape)}, y {tuple(y.shape)} / owners "
                         f"{tuple(oy.shape)}: need [n, D], [n], [m, D], [m] of one D")
    if mult is None:
        k = int(max(ox.max(), oy.max())) + 1
        mult = torch.ones(1, k, dtype=torch.float64)
    mult = mult.double().to(x.device)
    k = mult.shape[1]
    cx = torch.zeros(k, dtype=torch.float64, device=x.device).index_add_(0, ox, torch.ones_like(x[:, 0]))  # [K]
    cy = torch.zeros(k, dtype=torch.float64, device=x.device).index_add_(0, oy, torch.ones_like(y[:, 0]))  # [K]
    kid = (between_identity_mean(identity_block_sums(x, ox, x, ox, k), cx, cx, mult)
           + between_identity_mean(identity_block_sums(y, oy, y, oy, k), cy, cy, mult)
           - 2 * between_identity_mean(identity_block_sums(x, ox, y, oy, k), cx, cy, mult))
    return kid.cpu()


def fd_small_n_flag(n_rows: int, dim: int) -> str | None:
    """Why FD of a set of ``n_rows`` rows in ``dim`` dimensions is not to be read, or None.

    Below ``FD_MIN_ROWS_PER_DIM`` · D rows the sample covariance is rank-deficient (N ≤ D) or its entries' relative
    error ~ sqrt(D / N) exceeds about 0.3, and E[FD] is dominated by its 1/N bias (``tr(S)/N`` ≈ D / N on unit-RMS
    features; Chong & Forsyth, CVPR 2020): FD then measures N more than the sets (Bińkowski et al. 2018, App. D).

    Args:
        n_rows: rows of the smaller set.
        dim: feature dimension D.

    Returns:
        The reason, or None when ``n_rows >= FD_MIN_ROWS_PER_DIM * dim``.
    """
    need = FD_MIN_ROWS_PER_DIM * dim
    if n_rows >= need:
        return None
    return (f"FD not interpretable: {n_rows} faces in {dim} dimensions, fewer than {FD_MIN_ROWS_PER_DIM} x D = {need} "
            "(the covariance estimate is too noisy; FD's small-N bias dominates); read KID")
