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
* **KID** (Bińkowski, Sutherland, Arbel & Gretton, "Demystifying MMD GANs", ICLR 2018, §4 and App. D): the
  unbiased estimator of the squared maximum mean discrepancy (Gretton et al., "A Kernel Two-Sample Test", JMLR
  13, 2012, Lemma 6, unequal sizes) with the cubic polynomial kernel ``k(x, y) = (x·y / d + 1)^3`` (d = feature
  dimension). Its expectation is the population MMD² whatever the sample sizes — 0 for two samples of one
  distribution, so an estimate can be negative.

Sample size. FD is strongly biased upwards at small N: the sample covariances of N points in D dimensions have
rank ≤ N − 1 and the square-root term is biased low, so E[FD] exceeds the population value by roughly
``tr(S1)/N1 + tr(S2)/N2`` and more (Bińkowski et al. 2018, §4 and App. D, show it also ranks two models
differently at different N; Chong & Forsyth, "Effectively Unbiased FID and Inception Score and where to find
them", CVPR 2020, measure the 1/N trend). Here N is a few dozen to a few hundred faces (toy test 48, vox1-mini
validation+test 54 generated / 100 real, vox1-s2f test 43 / 43; Wen et al.'s full test set ~21,850 / 20,455) in
D = 128, so FD mostly measures N: read **KID**, which is unbiased, on the leaderboard, and FD only beside a floor
(the same statistic between two halves of the real faces, ``benchmark.tasks.realism``) at the same N.

Subsets. clean-fid (``fid.kernel_distance``: 100 subsets of min(N1, N2, 1000)) and torch-fidelity
(``kid_subsets=100``, ``kid_subset_size=1000``) average the estimator over random subsets because a 50,000² kernel
matrix is costly. Averaged over all subsets of given sizes, the two-sample U-statistic is the full-sample one
(Hoeffding's representation of U-statistics), so the full estimator (``mmd2_unbiased``) is the subset scheme's
limit with no Monte Carlo noise; at the sizes of this suite (≤ ~2·10^4 faces per side) its ``N1·N2·D`` kernel
costs seconds in chunks, so the protocol uses it (one "subset": the whole sets). ``kid_subsets`` is the clean-fid
scheme, kept for comparison with numbers computed that way.

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
    """KID: the unbiased MMD² estimate with the cubic kernel, over all pairs of the two full sets.

    ``sum_{i != j} k(x_i, x_j) / (n (n-1)) + sum_{i != j} k(y_i, y_j) / (m (m-1)) - 2 sum_{i,j} k(x_i, y_j) / (n m)``
    (Gretton et al. 2012, Lemma 6; Bińkowski et al. 2018, eq. 2 with their kernel).

    Args:
        x: float ``[n, D]``, n ≥ 2 (e.g. generated-face features).
        y: float ``[m, D]``, m ≥ 2 (real-face features).

    Returns:
        The estimate (float; its expectation is the population MMD², so it can be negative).

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
    (torch-fidelity reports both). Its expectation given the data is ``mmd2_unbiased(x, y)``.

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


# --- the identity bootstrap of a set-to-set statistic ------------------------------------------------------------


def _block_sums(x: torch.Tensor, ox: torch.Tensor, y: torch.Tensor, oy: torch.Tensor, k: int) -> torch.Tensor:
    """``S[a, b] = sum over x of identity a and y of identity b of k(x, y)``: float64 ``[K, K]`` (row chunks)."""
    out = torch.zeros(k, k, dtype=torch.float64, device=x.device)
    for a in range(0, x.shape[0], _CHUNK_ROWS):
        kern = polynomial_kernel(x[a:a + _CHUNK_ROWS], y)  # [c, M]
        per_col = torch.zeros(k, kern.shape[1], dtype=torch.float64, device=x.device).index_add_(
            0, ox[a:a + _CHUNK_ROWS], kern)  # [K, M]
        out += torch.zeros(k, k, dtype=torch.float64, device=x.device).index_add_(1, oy, per_col)
    return out


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
    * KID: the unbiased MMD² as a weighted U-statistic — each pair of distinct original rows (i, j) weighted by
      the product of their identities' multiplicities, a row never paired with its own copy (which would add
      ``k(x, x)``, the kernel's largest value, and bias the replicate up) — from identity block sums of the three
      kernel matrices. With every multiplicity 1 it is ``mmd2_unbiased``.

    Args:
        x: float64 ``[n, D]``; x_owner: int64 ``[n]`` identity of each row in [0, K).
        y: float64 ``[m, D]``; y_owner: int64 ``[m]``.
        multiplicities: float64 ``[B, K]`` (``benchmark.metrics.aggregate.identity_multiplicities``).
        fd_chunk: replicates whose covariances are held at once (memory ``4·fd_chunk·D²`` floats).

    Returns:
        ``{"fd": [B], "kid": [B]}`` float64 on the CPU; NaN where a replicate leaves a set without two distinct
        rows (no covariance, no pair).
    """
    dev = x.device
    mult = multiplicities.double().to(dev)  # [B, K]
    k = mult.shape[1]
    x, y = x.double(), y.double()
    d = x.shape[1]
    cx = torch.zeros(k, dtype=torch.float64, device=dev).index_add_(0, x_owner, torch.ones_like(x[:, 0]))  # [K]
    cy = torch.zeros(k, dtype=torch.float64, device=dev).index_add_(0, y_owner, torch.ones_like(y[:, 0]))  # [K]
    # KID
    diag_x = torch.zeros(k, dtype=torch.float64, device=dev).index_add_(
        0, x_owner, ((x * x).sum(1) / d + KID_COEF0) ** KID_DEGREE)  # [K]
    diag_y = torch.zeros(k, dtype=torch.float64, device=dev).index_add_(
        0, y_owner, ((y * y).sum(1) / d + KID_COEF0) ** KID_DEGREE)  # [K]
    sxx, syy, sxy = _block_sums(x, x_owner, x, x_owner, k), _block_sums(y, y_owner, y, y_owner, k), \
        _block_sums(x, x_owner, y, y_owner, k)  # [K, K] each
    m2 = mult * mult  # [B, K]
    nx, ny = mult @ cx, mult @ cy  # [B] resampled set sizes

    def within(s: torch.Tensor, diag: torch.Tensor, c: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
        pairs = n * n - m2 @ c  # [B] weight of the distinct-row pairs
        return (((mult @ s) * mult).sum(1) - m2 @ diag) / pairs.where(pairs > 0, torch.full_like(pairs, math.nan))

    kid = within(sxx, diag_x, cx, nx) + within(syy, diag_y, cy, ny) - 2 * ((mult @ sxy) * mult).sum(1) / (nx * ny)
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
