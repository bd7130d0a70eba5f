"""Task "match-1ofN": 1:N voice-to-face matching, N = 2…10 (Nagrani, Albanie, Zisserman, CVPR 2018).

Trial rule, version 1 (``build``):
  * eligible speakers: identities of ``spec.probe_split`` with ≥ 1 utterance and ≥ 1 usable ``spec.gallery_source``
    face, and (stratified) ≥ 1 other eligible identity of their gender; the others are in ``excluded``.
  * N values: those of ``spec.ns`` not above the smallest candidate pool of an eligible speaker (all eligible
    identities, or those of the speaker's gender when stratified), so every N is scored on the same speakers; the
    N values above are listed in the result's ``info`` as capped.
  * for every utterance of every eligible speaker (sorted), for every N (ascending), ``trials_per_probe`` trials:
    the true face uniform over the probe's ``trials.true_face_pool`` (another video of the speaker on a VoxCeleb1
    gallery, ``benchmark.trials.TRUE_FACE_RULE``); N − 1 distinct imposters uniform over the pool (partial
    Fisher–Yates with ``Generator.integers``); each imposter's face uniform over its usable faces.
  * randomness: ``trialsets.trial_rng`` (seed, protocol name, version), drawn in the order above.

Score: cosine similarities ``[T_N, N]`` by one batched gather + matmul per N, ``benchmark.metrics.match_1ofn``,
accuracy ``acc@N=n`` per N with a 95 % CI, per speaker gender. A trial involves the speaker and its N − 1 imposters
(one identity population), so the CI is the two-way bootstrap of ``benchmark.aggregate`` over speakers and imposters:
pigeonhole weights ``m[s] * m[o]`` at N = 2, first-order weights ``m[s] + sum_j m[o_j] - (N - 1)`` for N ≥ 3 (the
product over N identities inflates the trial-level noise (2^N − 1)-fold; ``benchmarks/bootstrap_coverage.py``).
"""

from __future__ import annotations

import numpy as np
import torch

from benchmark.columns import Column
from benchmark.data import Face, Manifest
from benchmark.errors import ProtocolUnavailable
from benchmark.metrics import gathered_matvec, l2_normalise, match_1ofn
from benchmark.tasks.base import FaceTable, Generated, Plan, TaskScores, aggregate
from benchmark.tasks.trialsets import (TrialTable, gallery_faces, gender_of, sample_distinct, tier_counts, trial_rng,
                                       true_face_pool, usable_gallery)
from protocols.spec import ProtocolSpec

NEEDS = {"embedding"}


def faces_needed(manifest: Manifest, spec: ProtocolSpec) -> list[Face]:
    """Gallery-source faces of the probe split's identities."""
    return gallery_faces(manifest, spec.probe_split, spec)


def build(manifest: Manifest, spec: ProtocolSpec, seed: int, real: FaceTable) -> Plan:
    """Seeded 1:N trials (rule in the module docstring).

    Raises:
        ProtocolUnavailable: fewer than two eligible speakers (per gender when stratified).
    """
    gallery, excluded = usable_gallery(manifest, spec.probe_split, spec, set(real.ids))

    def key(ident: str) -> str:
        return gender_of(manifest, ident) if spec.stratify_by == "gender" else "all"

    pools: dict[str, list[str]] = {}
    for ident in gallery:
        pools.setdefault(key(ident), []).append(ident)
    speakers = []
    for ident in sorted(gallery):
        if len(pools[key(ident)]) < 2:
            excluded.append({"identity": ident, "reason": f"no imposter of the same {spec.stratify_by or 'set'}"})
        else:
            speakers.append(ident)
    if len(speakers) < 2:
        raise ProtocolUnavailable(
            f"protocol {spec.name!r} needs at least two {spec.probe_split} identities with voices and usable "
            f"{spec.gallery_source} faces (per gender when stratified) in dataset {manifest.dataset_id!r}; found "
            f"{len(speakers)}. Excluded: {excluded}")
    n_max = min(len(pools[key(s)]) for s in speakers)
    ns = [n for n in spec.ns if n <= n_max]
    capped = [n for n in spec.ns if n > n_max]
    if not ns:
        raise ProtocolUnavailable(f"protocol {spec.name!r}: no N of {list(spec.ns)} fits the {n_max} eligible "
                                  f"identities of dataset {manifest.dataset_id!r}.")

    rng = trial_rng(spec, seed)
    ident_table = sorted(gallery)
    icode = {ident: c for c, ident in enumerate(ident_table)}
    face_table = [f for ident in ident_table for f in gallery[ident]]
    fcode = {f: c for c, f in enumerate(face_table)}
    sizes = np.asarray([len(gallery[ident]) for ident in ident_table], dtype=np.int64)  # [I]
    offset = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)  # [I]
    width = max(ns) - 1
    n_trials = sum(len(manifest.utterances_of(sp)) for sp in speakers) * len(ns) * spec.trials_per_probe
    probe_table: list[str] = []
    probe_code = np.empty(n_trials, dtype=np.int64)
    speaker_code = np.empty(n_trials, dtype=np.int64)
    n_code = np.empty(n_trials, dtype=np.int64)
    true_code = np.empty(n_trials, dtype=np.int64)
    imp_codes = np.full((n_trials, width), -1, dtype=np.int64)  # −1: empty slot (N − 1 < width)
    face_codes = np.full((n_trials, width), -1, dtype=np.int64)
    tiers: dict[str, int] = {}
    row = 0
    integers = rng.integers
    for speaker in speakers:
        others = [icode[i] for i in pools[key(speaker)] if i != speaker]
        other_sizes = [int(sizes[o]) for o in others]
        other_offsets = [int(offset[o]) for o in others]
        start = row
        for utt in manifest.utterances_of(speaker):
            pool, tier = true_face_pool(spec, utt.id, gallery[speaker])
            pool_codes = [fcode[f] for f in pool]
            probe_table.append(utt.id)
            for n_i, n in enumerate(ns):
                tiers[tier] = tiers.get(tier, 0) + spec.trials_per_probe
                for _ in range(spec.trials_per_probe):  # the rule's scalar draws, in its order (module docstring)
                    true_code[row] = pool_codes[int(integers(0, len(pool)))]
                    picks = sample_distinct(rng, len(others), n - 1)
                    imp_codes[row, :n - 1] = [others[j] for j in picks]
                    face_codes[row, :n - 1] = [other_offsets[j] + int(integers(0, other_sizes[j])) for j in picks]
                    n_code[row] = n_i
                    row += 1
            probe_code[row - len(ns) * spec.trials_per_probe:row] = len(probe_table) - 1
        speaker_code[start:row] = icode[speaker]
    n_names = [str(n) for n in ns]
    genders = sorted({gender_of(manifest, i) for i in ident_table})
    gender_code = np.asarray([genders.index(gender_of(manifest, i)) for i in ident_table], dtype=np.int64)
    speaker_codes = speaker_code
    cols = {"probe": Column(probe_table, probe_code),
            "speaker": Column(ident_table, speaker_codes),
            "n": Column(n_names, n_code),
            "true_face": Column(face_table, true_code),
            "imposters": Column(ident_table, imp_codes),
            "imposter_faces": Column(face_table, face_codes),
            "stratum": Column(genders, gender_code[speaker_codes])}
    trials = TrialTable(cols, excluded=excluded)
    smallest = min(pools, key=lambda k: len(pools[k])) if spec.stratify_by else "all"
    info = {"ns": ns, "ns_capped": capped, "eligible_speakers": len(speakers)}
    if tier_counts(tiers):
        info["true_face"] = tier_counts(tiers)
    if capped:
        info["cap_reason"] = (f"only {n_max} eligible identities"
                              + (f" in the smaller stratum (gender={smallest})" if spec.stratify_by else "")
                              + f": N = {capped} not scored")
    return Plan(trials=trials, probes=sorted(probe_table), info=info)


def score(plan: Plan, generated: Generated, real: FaceTable, manifest: Manifest, spec: ProtocolSpec,
          device: str, seed: int) -> TaskScores:
    """``acc@N=n`` for every scored N: overall and per speaker gender."""
    trials: TrialTable = plan.trials
    dev = torch.device(device)
    gen = l2_normalise(torch.from_numpy(generated.vectors).to(dev))  # [U, D]
    faces = l2_normalise(torch.from_numpy(real.vectors).to(dev))  # [F, D]
    gi_all = torch.from_numpy(trials["probe"].lookup(generated.index())).to(dev)  # [T_all]
    f_index = real.index()
    true_all = trials["true_face"].lookup(f_index)  # [T_all]
    imp_all = trials["imposter_faces"].lookup(f_index)  # [T_all, M_max], −1 padding
    n_of = np.asarray([int(x) for x in trials["n"].table], dtype=np.int64)[trials["n"].codes]  # [T_all]
    scores, strata = {}, {}
    for n in plan.info["ns"]:
        rows = np.flatnonzero(n_of == n)  # [T]
        cand = torch.from_numpy(np.concatenate([true_all[rows, None], imp_all[rows, :n - 1]], axis=1)).to(dev)  # [T, N]
        idx = torch.from_numpy(rows).to(dev)
        sims = gathered_matvec(faces, cand, gen, gi_all[idx])  # [T, N] cosine
        values = match_1ofn(sims)  # [T]
        s, st = aggregate({f"acc@N={n}": values}, trials["speaker"][rows], trials["stratum"][rows], spec, seed,
                          imposters=trials["imposters"][rows][:, :n - 1])
        scores.update(s)
        for name, metrics in st.items():
            strata.setdefault(name, {}).update(metrics)
    info = {"chance": {f"acc@N={n}": 1.0 / n for n in plan.info["ns"]}, "ns_scored": plan.info["ns"],
            "ns_capped": plan.info["ns_capped"], "similarity": "cosine of judge embeddings",
            "tie_rule": "1/m credit for an m-way tie at the top (random tie-breaking in expectation)",
            "ci": "two-way bootstrap over speaker and imposter identities (pigeonhole at N = 2, first-order weights "
                  "for N ≥ 3)"}
    if "cap_reason" in plan.info:
        info["cap_reason"] = plan.info["cap_reason"]
    return TaskScores(scores=scores, strata=strata, info=info)
