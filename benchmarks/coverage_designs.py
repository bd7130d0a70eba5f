"""1:N trial designs for ``benchmarks/bootstrap_coverage.py``: balanced or with vox1-s2f's clips per identity,
unstratified or gender-stratified as ``match-1ofN-stratified``, and one simulated dataset's intervals.

A design fixes, per identity, its number of utterances and (stratified) its stratum; every utterance gets
``match-1ofN``'s ``trials_per_probe`` = 3 trials per N (``protocols/match_n.py``), each with M = N − 1 distinct
imposters uniform over the speaker's candidate pool: every other identity, or (stratified) every other identity of
the speaker's stratum (``benchmark/tasks/match_n.py``, ``build``). The protocol scores only the N not above the
smallest pool (speaker included), so every N is scored on the same speakers; ``scored_n`` applies the same cap.

The real counts (``S2F_TEST``, ``S2F_ALL``) are read once from vox1-s2f's manifest (``load_dataset("vox1-s2f")``,
``Manifest.split``/``utterances_of``) and kept here so the study runs without the data;
``tests/test_aggregate.py`` re-reads them from the manifest where the data is present.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from benchmark.metrics.aggregate import (cluster_bootstrap_ci, identity_multiplicities, pigeonhole_replicates,
                                        summarize)
from benchmark.trials.columns import Column

TRIALS_PER_UTT = 3  # protocols/match_n.py: trials_per_probe
SD_UTT = 0.3
MU = 1.0

# clips per identity -> identities with that count, per gender: vox1-s2f's test split (22 identities, 43 clips)
# and all 130 identities (328 clips); the manifest's genders (vox1_meta.csv).
S2F_TEST = {"f": {1: 6, 2: 1, 4: 2}, "m": {1: 7, 2: 2, 4: 4}}
S2F_ALL = {"f": {1: 34, 2: 9, 3: 4, 4: 10, 8: 7}, "m": {1: 36, 2: 8, 3: 4, 4: 10, 8: 8}}


@dataclass(frozen=True)
class Design:
    """Who speaks how often, and who may be whose imposter.

    Attributes:
        name: row label.
        clips: int64 ``[K]`` utterances per identity (≥ 1).
        strata: int64 ``[K]`` stratum code per identity (0 = f, 1 = m), or None (one pool: ``match-1ofN``).
    """

    name: str
    clips: np.ndarray
    strata: np.ndarray | None = None

    @property
    def k(self) -> int:
        return int(self.clips.size)

    def pool_sizes(self) -> np.ndarray:
        """int64 ``[K]``: identities in each identity's candidate pool, itself included."""
        if self.strata is None:
            return np.full(self.k, self.k, dtype=np.int64)
        return np.bincount(self.strata)[self.strata]

    def scored_n(self, n: int) -> int:
        """N capped at the smallest pool, as ``match-1ofN`` caps the N it scores."""
        return min(n, int(self.pool_sizes().min()))


def balanced(k: int, utts: int = 10, stratified: bool = False) -> Design:
    """K identities with ``utts`` utterances each; stratified: the first ⌊K/2⌋ f, the rest m."""
    strata = (np.arange(k) >= k // 2).astype(np.int64) if stratified else None
    name = f"K={k}, {utts} utts each" + (f", stratified {k // 2} f / {k - k // 2} m" if stratified else "")
    return Design(name, np.full(k, utts, dtype=np.int64), strata)


def from_counts(label: str, counts: dict[str, dict[int, int]], stratified: bool) -> Design:
    """The identities of a {gender: {clips: identities}} table (``S2F_TEST``, ``S2F_ALL``)."""
    clips = [c for g in ("f", "m") for c, n in sorted(counts[g].items()) for _ in range(n)]
    strata = [s for s, g in enumerate(("f", "m")) for c, n in sorted(counts[g].items()) for _ in range(n)]
    nf, nm = (sum(counts[g].values()) for g in ("f", "m"))
    name = f"{label}: K={nf + nm}, {sum(clips)} utts" + (f", stratified {nf} f / {nm} m" if stratified else "")
    return Design(name, np.asarray(clips, dtype=np.int64), np.asarray(strata, dtype=np.int64) if stratified else None)


def manifest_counts(manifest, splits: tuple[str, ...]) -> dict[str, dict[int, int]]:
    """{gender: {clips: identities}} of a manifest's splits (to check ``S2F_TEST``/``S2F_ALL`` against the data)."""
    out: dict[str, dict[int, int]] = {}
    for split in splits:
        for ident in manifest.split(split):
            c = len(manifest.utterances_of(ident.id))
            out.setdefault(ident.gender, {})
            out[ident.gender][c] = out[ident.gender].get(c, 0) + 1
    return out


def simulate(design: Design, m: int, gen: torch.Generator, sa: float = 0.0, sb: float = 0.0, sf: float = 0.0,
             sv: float = SD_UTT, mu: float = MU):
    """One dataset of the probit model (``bootstrap_coverage`` docstring) on ``design``.

    Returns:
        values float64 ``[T]`` (1 = correct), speakers int64 ``[T]``, imposters int64 ``[T, m]`` (distinct, never
        the speaker, within the speaker's stratum when stratified).

    Raises:
        ValueError: m imposters do not fit a speaker's pool.
    """
    k = design.k
    if m + 1 > int(design.pool_sizes().min()):
        raise ValueError(f"{design.name}: N = {m + 1} exceeds the smallest candidate pool "
                         f"({int(design.pool_sizes().min())}); cap it with Design.scored_n")
    a, b, f = (torch.randn(k, generator=gen, dtype=torch.float64) * s for s in (sa, sb, sf))  # [K] each
    clips = torch.from_numpy(design.clips)
    utt_spk = torch.arange(k).repeat_interleave(clips)  # [U] speaker of each utterance
    v = torch.randn(utt_spk.numel(), generator=gen, dtype=torch.float64) * sv  # [U]
    utt = torch.arange(utt_spk.numel()).repeat_interleave(TRIALS_PER_UTT)  # [T]
    spk = utt_spk[utt]  # [T]
    n = spk.numel()
    keys = torch.rand(n, k, generator=gen)  # uniform keys: the m smallest are m distinct uniform draws
    if design.strata is not None:
        st = torch.from_numpy(design.strata)
        keys[st[spk][:, None] != st[None, :]] = 2.0  # other strata sort last: never drawn
    keys[torch.arange(n), spk] = 2.0  # nor the speaker itself
    imp = keys.argsort(dim=1)[:, :m]  # [T, m]
    t = mu + a[spk] - f[spk] + v[utt] + torch.randn(n, generator=gen, dtype=torch.float64)  # [T]
    y = b[imp] - f[imp] + torch.randn(n, m, generator=gen, dtype=torch.float64)  # [T, m]
    return (t > y.max(dim=1).values).double(), spk, imp


def product_ci(values, spk, imp, n_boot, seed, k, chunk=256):
    """Percentile interval with the full product weights m[s] * prod_j m[o_j] (kept here only for comparison).

    Returns:
        (low, high, dropped): dropped = replicates with no positive total weight (left out here).
    """
    mult = identity_multiplicities(k, n_boot, seed)  # [B, K]
    sums = torch.zeros(n_boot, dtype=torch.float64)
    tot = torch.zeros(n_boot, dtype=torch.float64)
    for a in range(0, values.numel(), chunk):
        w = mult[:, spk[a:a + chunk]] * mult[:, imp[a:a + chunk]].prod(dim=2)  # [B, chunk]
        sums += w @ values[a:a + chunk]
        tot += w.sum(1)
    kept = tot > 0
    if not bool(kept.any()):
        return float(values.min()), float(values.max()), n_boot
    lo, hi = torch.quantile(sums[kept] / tot[kept], torch.tensor([0.025, 0.975], dtype=torch.float64)).tolist()
    return lo, hi, int((~kept).sum())


def strata_resampled_ci(values, spk, imp, strata: np.ndarray, n_boot: int, seed: int) -> tuple[float, float]:
    """First-order interval with each stratum's identities resampled apart (not the library's; for comparison).

    The library resamples the K identities of a pooled stratified result as one population, so a replicate's
    share of each stratum's identities moves, and first-order weights amplify that move about N-fold in every
    trial of the stratum. Here each stratum's K_g identities get their own multinomial (sizes kept), the weights
    are the library's ``m[s] + sum_j m[o_j] - M`` (``pigeonhole_replicates``), replicate means clipped to the range
    of the values and replicates without positive weight counted at its ends, as the library does.

    Returns:
        (low, high) of the 95 % percentile interval.
    """
    k = strata.size
    mult = torch.zeros(n_boot, k, dtype=torch.float64)
    for g in np.unique(strata).tolist():
        idx = torch.from_numpy(np.flatnonzero(strata == g))
        mult[:, idx] = identity_multiplicities(idx.numel(), n_boot, seed + 7919 * g).double()
    sums, weights = pigeonhole_replicates(values, spk, imp, mult)  # [B] each
    kept = weights > 0
    low, high = float(values.min()), float(values.max())
    means = (sums[kept] / weights[kept]).clamp(low, high)
    lo = torch.quantile(torch.cat([torch.full((int((~kept).sum()),), low, dtype=torch.float64), means]), 0.025)
    hi = torch.quantile(torch.cat([means, torch.full((int((~kept).sum()),), high, dtype=torch.float64)]), 0.975)
    return float(lo), float(hi)


def intervals(design: Design, values, spk, imp, n_boot: int, seed: int, product: bool) -> dict:
    """Every interval of one dataset: pooled, and per stratum when stratified.

    Returns:
        {scope: {"estimate": float, "one-way": (lo, hi), "first-order": (lo, hi, flagged 0/1, one-way fallback
        0/1), "product": (lo, hi) (pooled, if asked), "strata resampled": (lo, hi) (pooled, stratified)}}, scope
        "pooled" or "stratum f"/"stratum m". "first-order" is what the protocol reports (``summarize`` as
        ``benchmark.tasks.base.aggregate`` calls it, on the same ``Column`` shapes), including its flag and
        its one-way fallback when a trial holds every identity of the scope.
    """
    names = [f"id{i:04d}" for i in range(design.k)]  # sorted order = code order
    scopes = {"pooled": np.arange(values.numel())}
    if design.strata is not None:
        st = design.strata[spk.numpy()]
        scopes.update({f"stratum {g}": np.flatnonzero(st == s) for s, g in enumerate(("f", "m"))})
    out = {}
    for scope, rows in scopes.items():
        idx = torch.from_numpy(rows)
        v, s, o = values[idx], spk[idx], imp[idx]
        r = summarize(v, Column(names, s.numpy()), n_boot=n_boot, level=0.95, seed=seed,
                      imposters=Column(names, o.numpy()))
        res = {"estimate": float(v.mean()), "one-way": cluster_bootstrap_ci(v, s, n_boot=n_boot, seed=seed),
               "first-order": (*r["ci95"], int("flag" in r), int(r["bootstrap"] != "two-way pigeonhole, "
                                                                 "first-order weights"))}
        if scope == "pooled" and design.strata is not None:
            res["strata resampled"] = strata_resampled_ci(v, s, o, design.strata, n_boot, seed)
        if product and scope == "pooled":
            res["product"] = product_ci(v, s, o, n_boot, seed, design.k)[:2]
        out[scope] = res
    return out
