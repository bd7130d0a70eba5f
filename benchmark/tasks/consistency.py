"""Task "consistency": similarity of faces generated from the same speaker vs from different speakers (Wen,
Singh, Raj, NeurIPS 2019, Fig. 5).

Trial rule, version 1 (``build``): speakers of ``spec.probe_split`` with ≥ 2 utterances (≥ 2 speakers needed);
for every utterance of each (sorted), ``trials_per_probe`` trials, each drawing one other utterance of the same
speaker (uniform) and one utterance of another eligible speaker (speaker uniform, then utterance uniform).

Score (vectorised, on the device): per trial, cosine similarity of the judge embeddings of the probe's generated
face and each partner's (``within``, ``between``); ``ratio`` = mean(within) / mean(between), with a 95 % CI from the
identity bootstrap of ``benchmark.aggregate`` applied to the ratio of the two means (``ratio_summary``). Per
speaker gender. No real face is used.
"""

from __future__ import annotations

import torch

from benchmark.data import Face, Manifest
from benchmark.errors import ProtocolUnavailable
from benchmark.metrics import cosine_similarity_rows
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
                  seed: int) -> dict:
    """Ratio of means ``sum(num) / sum(den)`` with a percentile CI from the identity (cluster) bootstrap.

    The resampling is that of ``benchmark.aggregate.cluster_bootstrap_ci`` (same generator, same draws): identities
    resampled with replacement, the ratio of the two resampled sums recomputed, 2.5 / 97.5 percentiles.

    Args:
        num: float ``[N]`` numerator values per trial.
        den: float ``[N]`` denominator values per trial.
        identities: length-N cluster of each trial.
        n_boot, level, seed: as in ``cluster_bootstrap_ci``.

    Returns:
        ``{"value", "ci95", "n", "n_identities"}`` as ``benchmark.aggregate.summarize``.
    """
    index = {ident: i for i, ident in enumerate(sorted(set(identities)))}
    clusters = torch.tensor([index[i] for i in identities], dtype=torch.long)  # [N]
    num, den = num.detach().double().cpu(), den.detach().double().cpu()
    k = len(index)
    num_s = torch.zeros(k, dtype=torch.float64).index_add_(0, clusters, num)  # [K]
    den_s = torch.zeros(k, dtype=torch.float64).index_add_(0, clusters, den)  # [K]
    gen = torch.Generator().manual_seed(int(seed))
    picks = torch.randint(0, k, (n_boot, k), generator=gen)  # [B, K]
    weights = torch.zeros(n_boot, k, dtype=torch.float64).scatter_add_(1, picks, torch.ones(n_boot, k, dtype=torch.float64))
    ratios = (weights @ num_s) / (weights @ den_s)  # [B]
    alpha = (1.0 - level) / 2.0
    lo, hi = torch.quantile(ratios, torch.tensor([alpha, 1.0 - alpha], dtype=torch.float64)).tolist()
    return {"value": float(num.sum() / den.sum()), "ci95": [float(lo), float(hi)], "n": int(num.numel()),
            "n_identities": k}


def score(plan: Plan, generated: Generated, real: FaceTable, manifest: Manifest, spec: ProtocolSpec,
          device: str, seed: int) -> TaskScores:
    """``within``, ``between`` and ``ratio``: overall and per speaker gender."""
    trials: TrialTable = plan.trials
    dev = torch.device(device)
    probe = generated_rows(generated, trials["probe"], dev)  # [N, D]
    within = cosine_similarity_rows(probe, generated_rows(generated, trials["same_partner"], dev))  # [N]
    between = cosine_similarity_rows(probe, generated_rows(generated, trials["other_partner"], dev))  # [N]
    scores, strata = aggregate({"within": within, "between": between}, trials["speaker"], trials["stratum"], spec, seed)
    kw = dict(n_boot=spec.bootstrap, level=spec.ci_level, seed=seed)
    scores["ratio"] = ratio_summary(within, between, trials["speaker"], **kw)
    for s in sorted(set(trials["stratum"])):
        rows = [i for i, x in enumerate(trials["stratum"]) if x == s]
        idx = torch.tensor(rows, dtype=torch.long, device=dev)
        strata[f"gender={s}"]["ratio"] = ratio_summary(within[idx], between[idx], [trials["speaker"][i] for i in rows],
                                                       **kw)
    info = {"similarity": "cosine of judge embeddings of generated faces",
            "ratio": "mean(within) / mean(between); 1 for a generator that ignores the voice",
            "different_speaker_partner": "any gender (speaker uniform, then utterance uniform)"}
    return TaskScores(scores=scores, strata=strata, info=info)
