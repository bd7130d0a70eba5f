"""Task "consistency": similarity of faces generated from the same speaker vs from different speakers (Wen,
Singh, Raj, NeurIPS 2019, Fig. 5).

Trial rule, version 1 (``build``): speakers of ``spec.probe_split`` with ≥ 2 utterances (≥ 2 speakers needed);
for every utterance of each (sorted), ``trials_per_probe`` trials, each drawing one other utterance of the same
speaker (uniform) and one utterance of another eligible speaker (speaker uniform, then utterance uniform).

Score (vectorised, on the device): per trial, cosine similarity of the judge embeddings of the probe's generated
face and each partner's (``within``, ``between``); ``ratio`` = mean(within) / mean(between). Per speaker gender. No
real face is used. 95 % CIs from the identity bootstraps of ``benchmark.metrics.aggregate``: a ``within`` value involves one
speaker (one-way bootstrap); a ``between`` value pairs the probe's speaker with another speaker, both drawn from
the same population (two-way pigeonhole, weight ``m[speaker] * m[other]``); ``ratio`` takes both means from the
same multiplicities, each with its own weights (``ratio_summary``).
"""

from __future__ import annotations

import numpy as np
import torch

from benchmark.metrics.aggregate import ONE_WAY, PIGEONHOLE, identity_multiplicities, interval_flag, pigeonhole_replicates
from benchmark.trials.columns import factorize
from benchmark.data.manifest import Face, Manifest
from benchmark.errors import ProtocolUnavailable
from benchmark.metrics.pairwise import cosine_similarity_rows
from benchmark.tasks.base import FaceTable, Generated, Plan, TaskScores, aggregate
from benchmark.tasks.trialsets import TrialTable, gender_of, generated_rows, trial_rng
from protocols.spec import ProtocolSpec

NEEDS = {"embedding"}


def faces_needed(manifest: Manifest, spec: ProtocolSpec) -> list[Face]:
    """None: only generated faces are compared."""
    return []


def build(manifest: Manifest, spec: ProtocolSpec, seed: int, real: FaceTable) -> Plan:
    """Seeded (probe, same-speaker partner, other-speaker partner) trials (rule in the module docstring).

    Raises:
        ProtocolUnavailable: fewer than two speakers with two or more utterances.
    """
    utts: dict[str, list[str]] = {}
    excluded = []
    for ident in manifest.split(spec.probe_split):
        ids = [u.id for u in manifest.utterances_of(ident.id)]
        if len(ids) < 2:
            excluded.append({"identity": ident.id, "reason": f"{len(ids)} utterance(s): needs two"})
        else:
            utts[ident.id] = ids
    speakers = sorted(utts)
    if len(speakers) < 2:
        raise ProtocolUnavailable(f"protocol {spec.name!r} needs at least two {spec.probe_split} speakers with two or "
                                  f"more utterances in dataset {manifest.dataset_id!r}; found {len(speakers)}.")
    rng = trial_rng(spec, seed)
    cols: dict[str, list[str]] = {c: [] for c in ("probe", "speaker", "same_partner", "other_partner",
                                                  "other_speaker", "stratum")}
    for s in speakers:
        others = [o for o in speakers if o != s]
        for i, utt in enumerate(utts[s]):
            for _ in range(spec.trials_per_probe):
                j = int(rng.integers(0, len(utts[s]) - 1))
                o = others[int(rng.integers(0, len(others)))]
                cols["probe"].append(utt)
                cols["speaker"].append(s)
                cols["same_partner"].append(utts[s][j if j < i else j + 1])
                cols["other_partner"].append(utts[o][int(rng.integers(0, len(utts[o])))])
                cols["other_speaker"].append(o)
                cols["stratum"].append(gender_of(manifest, s))
    trials = TrialTable(cols, excluded=excluded)
    return Plan(trials=trials, probes=sorted({u for s in speakers for u in utts[s]}), info={"speakers": len(speakers)})


def ratio_summary(num: torch.Tensor, den: torch.Tensor, identities: list[str], n_boot: int, level: float,
                  seed: int, others: list[str] | None = None) -> dict:
    """Ratio of means ``mean(num) / mean(den)`` over the same N trials, with a percentile bootstrap CI.

    ``others=None``: the one-way identity bootstrap of ``benchmark.metrics.aggregate.cluster_bootstrap_ci`` (same
    generator, same draws): identities resampled with replacement, ``sum(m * num) / sum(m * den)`` per replicate.
    With ``others`` (the second identity a denominator value involves, e.g. the other speaker of a ``between``
    pair): one multiplicity vector ``m`` over the union of speakers and others per replicate
    (``benchmark.metrics.aggregate.identity_multiplicities``); the numerator mean is weighted by ``m[speaker]``, the
    denominator mean by ``m[speaker] * m[other]`` (two-way pigeonhole); replicates whose denominator has no
    positive weight have no ratio: they are counted (``"dropped_replicates"``) and taken at the smallest ratio of
    the others for the lower percentile and at the largest for the upper one (a ratio has no bounded range to take
    them at, unlike ``benchmark.metrics.aggregate.pigeonhole_bootstrap_ci``). With only two identities in all (every trial
    involves both) the one-way bootstrap is used, flagged, as ``benchmark.metrics.aggregate.summarize`` does.

    Args:
        num: float ``[N]`` numerator values per trial.
        den: float ``[N]`` denominator values per trial.
        identities: length-N speaker identity of each trial.
        n_boot, level, seed: as in ``benchmark.metrics.aggregate.summarize``.
        others: None, or length-N identity paired with the speaker in each denominator value.

    Returns:
        As ``benchmark.metrics.aggregate.summarize`` (``"bootstrap"`` is ``"one-way identity"`` or
        ``"two-way pigeonhole"``; ``"flag"`` when the interval cannot be trusted).

    Raises:
        ValueError: ``others`` of another length than ``identities``.
    """
    num, den = num.detach().double().cpu(), den.detach().double().cpu()
    n = int(num.numel())
    value = float(num.sum() / den.sum())
    speakers = np.asarray(list(identities), dtype=str)
    extra = []
    if others is not None and len(np.union1d(speakers, np.asarray(list(others), dtype=str))) <= 2:
        extra.append("every trial involves both of the 2 identities, so resampling identities cannot weight one "
                     "trial against another: only the speakers were resampled (one-way), which understates the spread")
        others = None  # as benchmark.metrics.aggregate.summarize does
    if others is None:
        names, inverse = np.unique(speakers, return_inverse=True)
        clusters = torch.from_numpy(inverse.astype(np.int64))  # [N]
        k = len(names)
        num_s = torch.zeros(k, dtype=torch.float64).index_add_(0, clusters, num)  # [K]
        den_s = torch.zeros(k, dtype=torch.float64).index_add_(0, clusters, den)  # [K]
        weights = identity_multiplicities(k, n_boot, seed)  # [B, K]
        ratios = (weights @ num_s) / (weights @ den_s)  # [B]
        out = {"bootstrap": ONE_WAY}
        smallest, dropped = k, 0
    else:
        pair = np.asarray(list(others), dtype=str)
        if pair.shape != speakers.shape:
            raise ValueError(f"others has {pair.size} entries for {speakers.size} trials")
        names, inverse = np.unique(np.concatenate([speakers, pair]), return_inverse=True)
        spk = torch.from_numpy(inverse[:n].astype(np.int64))  # [N]
        oth = torch.from_numpy(inverse[n:].astype(np.int64))  # [N]
        mult = identity_multiplicities(len(names), n_boot, seed)  # [B, K]
        k = len(names)
        num_s = torch.zeros(k, dtype=torch.float64).index_add_(0, spk, num)  # [K]
        cnt = torch.zeros(k, dtype=torch.float64).index_add_(0, spk, torch.ones_like(num))  # [K]
        den_sums, den_weights = pigeonhole_replicates(den, spk, oth, mult)  # [B], [B]
        kept = den_weights > 0
        dropped = int((~kept).sum())
        ratios = ((mult @ num_s) / (mult @ cnt))[kept] / (den_sums[kept] / den_weights[kept])  # [B kept]
        n_spk, n_oth = len(np.unique(speakers)), len(np.unique(pair))
        out = {"bootstrap": PIGEONHOLE, "n_imposter_identities": n_oth, "n_resampled": k,
               "dropped_replicates": dropped}
        smallest = min(n_spk, n_oth)
    alpha = (1.0 - level) / 2.0
    if not dropped:
        lo, hi = torch.quantile(ratios, torch.tensor([alpha, 1.0 - alpha], dtype=torch.float64)).tolist()
    elif ratios.numel():  # replicates without a ratio count at the extremes of those with one (no bounded range)
        fill = torch.ones(dropped, dtype=torch.float64)
        lo = torch.quantile(torch.cat([fill * ratios.min(), ratios]), alpha).item()
        hi = torch.quantile(torch.cat([ratios, fill * ratios.max()]), 1.0 - alpha).item()
    else:
        lo = hi = value
    out = {"value": value, "ci95": [float(lo), float(hi)], "n": n, "n_identities": len(np.unique(speakers)), **out}
    flag = "; ".join(filter(None, extra + [interval_flag(value, out["ci95"], smallest, n_boot, level, dropped)]))
    if flag:
        out["flag"] = flag
    return out


def score(plan: Plan, generated: Generated, real: FaceTable, manifest: Manifest, spec: ProtocolSpec,
          device: str, seed: int) -> TaskScores:
    """``within``, ``between`` and ``ratio``: overall and per speaker gender."""
    trials: TrialTable = plan.trials
    dev = torch.device(device)
    probe = generated_rows(generated, trials["probe"], dev)  # [N, D]
    within = cosine_similarity_rows(probe, generated_rows(generated, trials["same_partner"], dev))  # [N]
    between = cosine_similarity_rows(probe, generated_rows(generated, trials["other_partner"], dev))  # [N]
    scores, strata = aggregate({"within": within}, trials["speaker"], trials["stratum"], spec, seed)
    s2, st2 = aggregate({"between": between}, trials["speaker"], trials["stratum"], spec, seed,
                        imposters=trials["other_speaker"])  # a between value pairs two speakers: two-way
    scores.update(s2)
    for name, metrics in st2.items():
        strata[name].update(metrics)
    kw = dict(n_boot=spec.bootstrap, level=spec.ci_level, seed=seed)
    defined = (~(within.isnan() | between.isnan())).cpu().numpy()  # [N] False where a failed (blank) face took part
    speaker = np.asarray(list(trials["speaker"]), dtype=object)  # [N]
    other = np.asarray(list(trials["other_speaker"]), dtype=object)  # [N]

    def ratio(rows: np.ndarray) -> dict:
        kept = rows[defined[rows]]  # [N_kept] int64, in trial order
        if not kept.size:
            return {"value": float("nan"), "ci95": [float("nan"), float("nan")], "n": 0, "n_identities": 0,
                    "failed_excluded": int(rows.size), "flag": "every trial involves a failed (blank) generated face"}
        idx = torch.from_numpy(kept).to(dev)
        out = ratio_summary(within[idx], between[idx], speaker[kept].tolist(), others=other[kept].tolist(), **kw)
        if kept.size < rows.size:
            out["failed_excluded"] = int(rows.size - kept.size)
            out["flag"] = "; ".join(filter(None, [out.get("flag"), f"{rows.size - kept.size} trial(s) excluded: a "
                                                  "generated face failed (blank)"]))
        return out

    scores["ratio"] = ratio(np.arange(len(trials), dtype=np.int64))
    names, inverse = factorize(trials["stratum"])  # sorted stratum labels, [N] index (as base.aggregate splits)
    for j, s in enumerate(names.tolist()):
        strata[f"gender={s}"]["ratio"] = ratio(np.flatnonzero(inverse == j))
    info = {"similarity": "cosine of judge embeddings of generated faces",
            "ratio": "mean(within) / mean(between); 1 for a generator that ignores the voice",
            "different_speaker_partner": "any gender (speaker uniform, then utterance uniform)",
            "ci": "within: one-way identity bootstrap; between: two-way pigeonhole over the two speakers; ratio: both "
                  "means from the same identity resamples"}
    return TaskScores(scores=scores, strata=strata, info=info)
