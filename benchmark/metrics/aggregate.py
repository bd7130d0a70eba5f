"""Aggregation of per-trial values: mean, 95 % CI by a bootstrap over identities, strata, and flags.

Trials of one speaker share the speaker's voice and faces and are not independent, so every interval comes from
a bootstrap over *identities*, not trials: draw the K identities of the (sub)population with replacement
(multiplicities ``m[b, k]``, one multinomial vector per replicate b), weight each trial by the multiplicities
of the identities it involves, recompute the weighted mean, and take the 2.5 / 97.5 percentiles of the replicates
(percentile interval, Efron & Tibshirani, An Introduction to the Bootstrap, 1993, ch. 13). Vectorised: per-identity
(or per identity-pair) sums and counts against the multiplicities ``[B, K]``.

Which protocol uses which bootstrap (the ``"bootstrap"`` field of every summary says which one was used):

* ``"one-way identity"`` — trials that involve one identity: the speaker's identities are resampled and a
  trial's weight is ``m[speaker]`` (cluster bootstrap; Field & Welsh 2007). Used by ``feature*``, ``gender``,
  ``age``, ``detect`` and consistency ``within``; also by ``id-topk*`` and ``retrieval*``, whose trials rank the
  speaker against a *fixed* reference set or gallery: their intervals are conditional on that set (the gallery
  centroids are not resampled), as the result's ``info`` says.
* ``"two-way pigeonhole"`` — trials that pair the speaker with one other identity: 1:2 matching (speaker,
  imposter), ``match-1ofN`` at N = 2, consistency ``between`` (two speakers' generated faces). Speakers and
  imposters are drawn from the same identity population, so one multiplicity vector serves both roles and a
  trial's weight is ``m[speaker] * m[imposter]`` (Owen, "The pigeonhole bootstrap", Ann. Appl. Stat. 1(2), 2007;
  for one population in both roles, the dyadic bootstrap of Davezies, D'Haultfœuille & Guyonvarch, Ann. Statist.
  49(2), 2021). In ``benchmarks/bootstrap_coverage.py`` (K = 10…189) a nominal 95 % one-way interval covered
  43–47 % with imposter-side identity effects and 77–86 % with effects on both sides; the pigeonhole interval
  covered 0.89–0.97. It is conservative where trial-level noise dominates: the noise enters its variance about 3
  times instead of once (Owen 2007), e.g. 1.3–1.4x too wide when one face effect cancels across the two roles
  (where the one-way interval is 2.2x too wide).
* ``"two-way pigeonhole, first-order weights"`` — 1:N trials with M = N − 1 ≥ 2 imposters (``match-1ofN``,
  N ≥ 3).
  The product ``m[s] * prod_j m[o_j]`` over N identities counts the trial-level noise (2^N − 1) times (Owen &
  Eckles, "Bootstrapping data arrays of arbitrary order", Ann. Appl. Stat. 6(3), 2012): measured, at N = 5 the
  interval is 2x too wide (coverage 1.0) and at N = 10 it spans [0, 1].
  The weight is its first-order (linear) term instead, ``m[s] + sum_j m[o_j] − M``: every identity's effect, as
  speaker and as each imposter, enters to first order exactly as in the product, the noise about N times. A trial's
  weight may be negative, so replicate means are clipped to the range of the values (the range of any
  non-negatively weighted mean). Measured coverage 0.90–0.96 (K = 30, N = 5 and 10) where the one-way interval
  gave 0.50–0.82. On the designs the leaderboard scores (benchmarks/README.md, "Coverage of the 1:N intervals":
  K = 22, vox1-s2f's 1–8 clips per identity, gender strata) it is conservative with few trials per identity (1.3–1.8x
  the exact width) and short when a trial's imposters are a large share of the identities (flagged above
  ``MAX_IMPOSTER_SHARE``); balanced K = 22 covered 0.895–0.943, unflagged.

Replicates whose total weight is not positive (no trial among the drawn identities: possible with pigeonhole
weights at small K, e.g. two identities that are each other's only imposter) have no mean. They are counted in
``"dropped_replicates"`` and, not to pretend a precision the resampling cannot show, taken at the far end of the
range of the values — at ``min(values)`` for the lower percentile and at ``max(values)`` for the upper one (any
weighted mean lies in that range; the worst case of what they could have been). With none dropped this is the
plain percentile interval; when more than the tail mass ``(1 - level) / 2`` is dropped the endpoints reach the
range of the values, and the interval is flagged.

Flags (``"flag"``: the reasons, ``"; "``-joined; absent when the interval is fine):

* fewer than ``MIN_IDENTITIES`` = 10 identities on a side (speakers; imposters for the two-way bootstraps):
  cluster-bootstrap intervals over few clusters understate the spread (Cameron, Gelbach & Miller, Rev. Econ.
  Stat. 90(3), 2008); the threshold of 10 is this project's rule (issue 8);
* a zero-width interval: every replicate agrees, so the interval shows no uncertainty. Typically a value of
  exactly 0 or 1 (a proportion of 1 over n trials still has a one-sided 95 % bound of about 1 − 3/n, the rule of
  three), or all values equal;
* trials that each involve every identity of the population (1:N with N = K, 1:2 with K = 2): weights built from
  identity multiplicities are then equal for all trials (first-order weights are all 1, since the multiplicities
  sum to K), so the two-way bootstrap cannot show any spread; ``summarize`` gives the one-way interval over the
  speakers instead, flagged as understating the spread;
* dropped replicates above the tail mass (above);
* 1:N first-order weights where a trial's N − 1 imposters are more than ``MAX_IMPOSTER_SHARE`` of the other
  identities (``benchmark.metrics.flags``): measured coverage falls below the level there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from benchmark.metrics.flags import MAX_IMPOSTER_SHARE, MIN_IDENTITIES, interval_flag  # noqa: F401 (re-exported)
from benchmark.metrics.identity_codes import factorized as _factorized, imposter_codes as _imposter_codes, \
    to_union as _to_union

ONE_WAY = "one-way identity"
PIGEONHOLE = "two-way pigeonhole"
PIGEONHOLE_FIRST_ORDER = "two-way pigeonhole, first-order weights"
_DENSE_MAX_IDENTITIES = 2048  # above: pair sums are gathered in chunks instead of held as a dense [K, K] matrix
_CHUNK_ELEMENTS = 1 << 22  # [B, chunk] float64 blocks of at most 32 MiB


def identity_multiplicities(n_identities: int, n_boot: int, seed: int) -> torch.Tensor:
    """Multinomial multiplicities of K identities drawn with replacement, B times.

    Args:
        n_identities: K ≥ 1.
        n_boot: B replicates.
        seed: seed of a torch CPU generator (the draws are device-independent); the same draws as
            ``cluster_bootstrap_ci`` for the same K, B and seed.

    Returns:
        float64 ``[B, K]``: ``m[b, k]`` = times identity k is drawn in replicate b; every row sums to K.

    Example:
        >>> identity_multiplicities(5, 3, seed=0).sum(dim=1).tolist()  # each replicate draws K = 5 identities
        [5.0, 5.0, 5.0]
    """
    k = int(n_identities)
    gen = torch.Generator().manual_seed(int(seed))
    picks = torch.randint(0, k, (n_boot, k), generator=gen)  # [B, K]
    ones = torch.ones(n_boot, k, dtype=torch.float64)
    return torch.zeros(n_boot, k, dtype=torch.float64).scatter_add_(1, picks, ones)


def _percentiles(stats: torch.Tensor, level: float) -> tuple[float, float]:
    alpha = (1.0 - level) / 2.0
    lo, hi = torch.quantile(stats, torch.tensor([alpha, 1.0 - alpha], dtype=torch.float64)).tolist()
    return float(lo), float(hi)


def cluster_bootstrap_ci(values: torch.Tensor, clusters: torch.Tensor, n_boot: int = 2000, level: float = 0.95,
                         seed: int = 0) -> tuple[float, float]:
    """Percentile CI of the mean of ``values`` with clusters resampled as units (the one-way bootstrap).

    Args:
        values: float ``[N]`` per-trial values.
        clusters: int64 ``[N]`` cluster (identity) index of each trial, in [0, K).
        n_boot: resamples B.
        level: confidence level in (0, 1).
        seed: seed of the resampling (torch CPU generator; the result is device-independent).

    Returns:
        (low, high) floats. With a single cluster the interval is (mean, mean) — no spread can be estimated.

    Example:
        >>> cluster_bootstrap_ci(torch.tensor([1., 0., 1., 0.]), torch.tensor([0, 0, 0, 0]))  # one cluster
        (0.5, 0.5)
        >>> cluster_bootstrap_ci(torch.tensor([1., 1., 1.]), torch.tensor([0, 1, 2]))  # no spread to resample
        (1.0, 1.0)
    """
    return _percentiles(cluster_bootstrap_replicates(values, clusters, n_boot, seed), level)


def cluster_bootstrap_replicates(values: torch.Tensor, clusters: torch.Tensor, n_boot: int = 2000,
                                 seed: int = 0, trial_weights: torch.Tensor | None = None) -> torch.Tensor:
    """The replicate means behind ``cluster_bootstrap_ci`` (same arguments): float64 ``[B]``.

    ``trial_weights`` (float ``[N]``, positive; None: all 1) weight each trial inside the replicate mean, e.g.
    ``1 / (trials of its identity)`` for the identity-weighted mean (``identity_weights``).
    """
    values = values.double().cpu()
    clusters = clusters.long().cpu()
    w = torch.ones_like(values) if trial_weights is None else trial_weights.double().cpu()  # [N]
    k = int(clusters.max()) + 1 if clusters.numel() else 0
    sums = torch.zeros(k, dtype=torch.float64).index_add_(0, clusters, values * w if trial_weights is not None
                                                          else values)  # [K]
    counts = torch.zeros(k, dtype=torch.float64).index_add_(0, clusters, w)  # [K]
    weights = identity_multiplicities(k, n_boot, seed)  # [B, K]
    return (weights @ sums) / (weights @ counts)  # [B]


def pigeonhole_replicates(values: torch.Tensor, speakers: torch.Tensor, imposters: torch.Tensor,
                          multiplicities: torch.Tensor,
                          trial_weights: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Weighted sums and total weights of the trials in each two-way bootstrap replicate.

    Trial weights (module docstring): one imposter per trial, ``m[b, s] * m[b, o]`` (pigeonhole); M ≥ 2,
    ``m[b, s] + sum_j m[b, o_j] - M`` (first-order). For one imposter the pair sums ``S[s, o]`` are formed once
    and ``m_b^T S m_b`` is taken for all b together: dense ``[K, K]`` up to ``_DENSE_MAX_IDENTITIES`` identities,
    beyond that over the distinct pairs in chunks of ``[B, chunk]`` (memory bounded by ``_CHUNK_ELEMENTS``).
    For M ≥ 2 the weighted sum is linear in ``m``: per-identity sums ``[K]`` against ``[B, K]``.

    Args:
        values: float ``[N]`` per-trial values.
        speakers: int64 ``[N]`` speaker identity of each trial, in [0, K).
        imposters: int64 ``[N]`` or ``[N, M]`` the imposter identities of each trial, in [0, K).
        multiplicities: float64 ``[B, K]`` (``identity_multiplicities``).
        trial_weights: float ``[N]`` positive weights that multiply each trial's resampling weight (None: 1), e.g.
            ``identity_weights`` for the identity-weighted mean.

    Returns:
        (sums, weights): float64 ``[B]`` each; the replicate mean is ``sums / weights`` where ``weights > 0``.

    Raises:
        ValueError: shapes that do not match.
    """
    values = values.detach().double().cpu()
    speakers = speakers.long().cpu()
    imp = imposters.long().cpu()
    imp = imp.unsqueeze(1) if imp.dim() == 1 else imp  # [N, M]
    mult = multiplicities.double().cpu()  # [B, K]
    n, m_imp = imp.shape
    if values.shape != (n,) or speakers.shape != (n,) or mult.dim() != 2:
        raise ValueError(f"values {tuple(values.shape)}, speakers {tuple(speakers.shape)}, imposters "
                         f"{tuple(imposters.shape)} and multiplicities {tuple(mult.shape)} do not match: need [N], "
                         "[N], [N] or [N, M], and [B, K]")
    k = mult.shape[1]
    w = None if trial_weights is None else trial_weights.detach().double().cpu()  # [N]
    if w is not None and w.shape != (n,):
        raise ValueError(f"trial_weights {tuple(w.shape)} do not match {n} trials")
    wv = values if w is None else values * w  # [N] weighted values
    ones = torch.ones_like(values) if w is None else w  # [N] trial weights
    if m_imp >= 2:  # first-order weights: linear in m
        roles = torch.cat([speakers, imp.reshape(-1)])  # [N * (1 + M)] every role an identity plays in a trial
        per_id = torch.zeros(k, dtype=torch.float64).index_add_(
            0, roles, torch.cat([wv, wv.repeat_interleave(m_imp)]))  # [K] value sums over those roles
        per_cnt = torch.zeros(k, dtype=torch.float64).index_add_(
            0, roles, torch.cat([ones, ones.repeat_interleave(m_imp)]))  # [K]
        total = float(m_imp * n) if w is None else m_imp * float(w.sum())
        return mult @ per_id - m_imp * wv.sum(), mult @ per_cnt - total
    pair = speakers * k + imp[:, 0]  # [N] flat (speaker, imposter) cell
    if k <= _DENSE_MAX_IDENTITIES:
        s_mat = torch.zeros(k * k, dtype=torch.float64).index_add_(0, pair, wv).view(k, k)  # [K, K]
        if w is None:
            c_mat = torch.bincount(pair, minlength=k * k).double().view(k, k)  # [K, K] trial counts (exact)
        else:
            c_mat = torch.zeros(k * k, dtype=torch.float64).index_add_(0, pair, w).view(k, k)  # [K, K]
        return ((mult @ s_mat.T) * mult).sum(1), ((mult @ c_mat.T) * mult).sum(1)
    cells, inverse = torch.unique(pair, return_inverse=True)  # [P]
    s_cell = torch.zeros(cells.numel(), dtype=torch.float64).index_add_(0, inverse, wv)  # [P]
    c_cell = torch.zeros(cells.numel(), dtype=torch.float64).index_add_(0, inverse, ones)  # [P]
    sums = torch.zeros(mult.shape[0], dtype=torch.float64)
    weights = torch.zeros(mult.shape[0], dtype=torch.float64)
    step = max(1, _CHUNK_ELEMENTS // max(1, mult.shape[0]))
    for a in range(0, cells.numel(), step):  # chunks of cells, not trials: memory [B, step]
        c = cells[a:a + step]
        w = mult[:, c // k] * mult[:, c % k]  # [B, step]
        sums += w @ s_cell[a:a + step]
        weights += w @ c_cell[a:a + step]
    return sums, weights


def pigeonhole_bootstrap_ci(values: torch.Tensor, speakers: torch.Tensor, imposters: torch.Tensor,
                            n_boot: int = 2000, level: float = 0.95, seed: int = 0,
                            n_identities: int | None = None,
                            replicates_out: list | None = None,
                            trial_weights: torch.Tensor | None = None) -> tuple[float, float, int]:
    """Percentile CI of the mean of trials that involve several identities (two-way bootstrap, module docstring).

    Args:
        values: float ``[N]`` per-trial values.
        speakers: int64 ``[N]`` speaker identity of each trial, in [0, K).
        imposters: int64 ``[N]`` (one imposter) or ``[N, M]`` (M imposters) identities of each trial, in [0, K);
            speakers and imposters index one identity population.
        n_boot: replicates B.
        level: confidence level in (0, 1).
        seed: seed of the multiplicities (``identity_multiplicities``; device-independent).
        n_identities: K; default 1 + the largest index used.
        replicates_out: a list that receives the float64 ``[B]`` replicate means (NaN where dropped), if given.
        trial_weights: float ``[N]`` positive per-trial weights of the mean (``pigeonhole_replicates``); None: 1.

    Returns:
        (low, high, dropped): the interval, and how many replicates had no positive total weight; those are
        counted at ``min(values)`` for the lower percentile and at ``max(values)`` for the upper one (module
        docstring), so with every replicate dropped the interval is [min(values), max(values)]. With first-order
        weights the replicate means are clipped to that range.

    Raises:
        ValueError: shapes that do not match (``pigeonhole_replicates``).
    """
    values = values.detach().double().cpu()
    imposters = imposters.long().cpu()
    k = n_identities if n_identities is not None else int(max(speakers.max(), imposters.max())) + 1
    mult = identity_multiplicities(k, n_boot, seed)  # [B, K]
    sums, weights = pigeonhole_replicates(values, speakers, imposters, mult, trial_weights)  # [B], [B]
    kept = weights > 0
    dropped = int((~kept).sum())
    low, high = float(values.min()), float(values.max())
    means = sums[kept] / weights[kept]  # [B - dropped]
    if imposters.dim() == 2 and imposters.shape[1] >= 2:
        means = means.clamp(low, high)
    if replicates_out is not None:  # every replicate, NaN where dropped (paired comparisons)
        replicates_out.append(torch.full_like(sums, math.nan).masked_scatter_(kept, means))
    if not dropped:
        lo, hi = _percentiles(means, level)
        return lo, hi, 0
    alpha = (1.0 - level) / 2.0
    fill = torch.ones(dropped, dtype=torch.float64)
    lo = torch.quantile(torch.cat([fill * low, means]), alpha).item()  # dropped ones at the bottom of the range
    hi = torch.quantile(torch.cat([means, fill * high]), 1.0 - alpha).item()  # ... and at the top
    return float(lo), float(hi), dropped


def identity_weights(speakers: torch.Tensor) -> torch.Tensor:
    """Per-trial weights that make a weighted mean identity-weighted: ``1 / (trials of the trial's speaker)``.

    With them every speaker counts once, however many utterances (and so trials) it has: the mean of the
    per-speaker means, as against the utterance-weighted plain mean of the trials (``summarize``).

    Args:
        speakers: int64 ``[N]`` speaker index of each trial, in [0, K).

    Returns:
        float64 ``[N]``, positive; the weights of one speaker sum to 1.

    Example:
        >>> identity_weights(torch.tensor([0, 0, 1])).tolist()
        [0.5, 0.5, 1.0]
    """
    speakers = speakers.long().cpu()
    counts = torch.bincount(speakers).double()  # [K]
    return 1.0 / counts[speakers]


def summarize(values: torch.Tensor, identities: Sequence[str], n_boot: int, level: float, seed: int,
              imposters: Sequence[str] | Sequence[Sequence[str]] | None = None,
              keep_replicates: bool = False) -> dict:
    """Value, CI, counts and flag of per-trial values.

    Args:
        values: float ``[N]`` per-trial values (any device).
        identities: length-N speaker identity of each trial (a list of ids, or a ``benchmark.trials.columns.Column``,
            read from its codes).
        n_boot: bootstrap replicates B.
        level: confidence level in (0, 1).
        seed: bootstrap seed.
        imposters: None for trials that involve one identity (one-way bootstrap over ``identities``); else the
            other identities each trial involves, from the same population as the speakers: a length-N list of
            identity ids (1:2, one per trial) or of equal-length lists (1:N, the N − 1 imposters of each trial).
            Two-way bootstrap over the union of speakers and imposters (module docstring) — unless every trial
            involves all K identities of that union (1:N with N = K; 1:2 with K = 2): then no identity resampling
            can weight one trial against another, and the one-way interval over the speakers is given, flagged.
        keep_replicates: add ``"replicates"``, the B replicate means in ``benchmark.metrics.paired``'s compact form
            (with the resampled identities' hash), for paired comparisons of rows scored on the same trials.

    Returns:
        ``{"value": float, "ci95": [low, high], "n": N trials, "n_identities": distinct speakers, "bootstrap": kind,
        "value_identity_weighted": float, "ci95_identity_weighted": [low, high]}``. ``value`` is the
        utterance-weighted mean (every trial counts once, so a speaker with more probe utterances weighs more: the
        headline, as this suite's 1:2 rule after Wen et al. 2019 draws trials per utterance; ``protocols.spec``,
        ``probe_unit``); ``value_identity_weighted`` is the mean of the
        per-speaker means (every speaker counts once; ``identity_weights``), with its interval from the same
        bootstrap and the same identity draws. The two differ where speakers have unequal utterance counts and
        unequal accuracy (e.g. vox1-s2f: 1 to 8 clips per identity).
        plus, with ``imposters``, ``"n_imposter_identities"`` and ``"n_resampled"`` (K, the union of speakers and
        imposters), and for two-way ``"dropped_replicates"``; plus ``"flag"`` (reasons) when the interval cannot be
        trusted. One-way values and intervals are those of ``cluster_bootstrap_ci`` (identities indexed in sorted
        order).

    Raises:
        ValueError: ``imposters`` of the wrong length or ragged.

    Example:
        >>> r = summarize(torch.tensor([1., 1., 0., 0.]), ["a", "a", "b", "b"], n_boot=200, level=0.95, seed=0)
        >>> r["value"], r["ci95"], r["n"], r["n_identities"], "flag" in r  # 2 identities: replicates 0, 0.5 or 1
        (0.5, [0.0, 1.0], 4, 2, True)
        >>> r = summarize(torch.tensor([1., 1., 1., 0.]), ["a", "a", "a", "b"], n_boot=200, level=0.95, seed=0)
        >>> r["value"], r["value_identity_weighted"]  # 3 of 4 trials right; speaker a right, speaker b wrong
        (0.75, 0.5)
    """
    values = values.detach().cpu().double()  # once: the CI functions below take it as is
    n = int(values.numel())
    value = float(values.mean())
    spk_names, spk_rank, spk_codes = _factorized(identities, (n,))  # sorted ids; rank[codes]: [N] index
    n_spk = len(spk_names)
    imp = None
    extra, out = [], {}
    if imposters is not None:
        imp_names, imp_rank, imp = _imposter_codes(imposters, n)  # sorted ids, table ranks, [N, M] codes
        names = np.union1d(spk_names, imp_names)  # sorted union: np.unique of speakers and imposters together
        out = {"n_imposter_identities": len(imp_names), "n_resampled": len(names)}
        if imp.shape[1] + 1 >= len(names):  # each trial holds all K identities (they are distinct in every protocol)
            extra.append(f"every trial involves all {len(names)} identities, so resampling identities cannot weight "
                         "one trial against another: only the speakers were resampled (one-way), which understates "
                         "the spread")
            imp = None
        elif imp.shape[1] >= 2 and imp.shape[1] / (len(names) - 1) > MAX_IMPOSTER_SHARE:
            extra.append(f"each trial's {imp.shape[1]} imposters are {imp.shape[1] / (len(names) - 1):.0%} of the "
                         f"other {len(names) - 1} identities (> {MAX_IMPOSTER_SHARE:.0%}): the first-order interval "
                         "then covers less than its level (benchmarks/README.md, 1:N coverage)")
    reps: list = []
    spk_local = torch.from_numpy(spk_rank[spk_codes])  # [N] speaker index in [0, n_spk)
    iw = identity_weights(spk_local)  # [N] 1 / (trials of the trial's speaker)
    value_iw = float((values * iw).sum() / iw.sum())
    if imp is None:
        reps.append(cluster_bootstrap_replicates(values, spk_local, n_boot, seed))
        lo, hi = _percentiles(reps[0], level)
        ci_iw = list(_percentiles(cluster_bootstrap_replicates(values, spk_local, n_boot, seed, trial_weights=iw),
                                  level))
        names = spk_names
        out = {"value": value, "ci95": [lo, hi], "n": n, "n_identities": n_spk, "bootstrap": ONE_WAY, **out}
        smallest, dropped = n_spk, 0
    else:  # table-level maps onto the union, then one gather per column
        spk_idx = torch.from_numpy(_to_union(spk_names, spk_rank, names)[spk_codes])  # [N]
        imp_idx = torch.from_numpy(_to_union(imp_names, imp_rank, names)[imp])  # [N, M]
        imp_arg = imp_idx[:, 0] if imp.shape[1] == 1 else imp_idx
        lo, hi, dropped = pigeonhole_bootstrap_ci(values, spk_idx, imp_arg, n_boot=n_boot, level=level, seed=seed,
                                                  n_identities=len(names), replicates_out=reps)
        ci_iw = list(pigeonhole_bootstrap_ci(values, spk_idx, imp_arg, n_boot=n_boot, level=level, seed=seed,
                                             n_identities=len(names), trial_weights=iw)[:2])
        out = {"value": value, "ci95": [lo, hi], "n": n, "n_identities": n_spk,
               "bootstrap": PIGEONHOLE if imp.shape[1] == 1 else PIGEONHOLE_FIRST_ORDER, **out,
               "dropped_replicates": dropped}
        smallest = min(n_spk, out["n_imposter_identities"])
    out["value_identity_weighted"] = value_iw
    out["ci95_identity_weighted"] = ci_iw
    flag = "; ".join(filter(None, extra + [interval_flag(value, out["ci95"], smallest, n_boot, level, dropped)]))
    if flag:
        out["flag"] = flag
    if keep_replicates:
        from benchmark.metrics.paired import encode_replicates

        out["replicates"] = encode_replicates(reps[0], [str(x) for x in names], seed)
    return out
