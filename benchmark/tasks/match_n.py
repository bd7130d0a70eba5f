"""Task "match-1ofN": 1:N voice-to-face matching, N = 2…10 (Nagrani, Albanie, Zisserman, CVPR 2018).

Trial rule, protocol version 3 (``build``):
  * eligible speakers: identities of ``spec.probe_split`` with ≥ 1 utterance and ≥ 1 usable ``spec.gallery_source``
    face, and (stratified) ≥ 1 other eligible identity of their gender; the others are in ``excluded``.
  * N values: those of ``spec.ns`` not above the smallest candidate pool of an eligible speaker (all eligible
    identities, or those of the speaker's gender when stratified), so every N is scored on the same speakers; the
    N values above are listed in the result's ``info`` as capped.
  * rows: for every utterance of every eligible speaker (sorted), for every N (ascending), ``trials_per_probe``
    trials. Each trial: the true face uniform over the probe's ``trials.true_face_pool`` (another video of the
    speaker on a VoxCeleb1 gallery, ``benchmark.trials.builders.TRUE_FACE_RULE``); N − 1 distinct imposters uniform over the
    speaker's candidate pool (partial Fisher–Yates, ``trialsets.sample_distinct_rows``); each imposter's face uniform
    over its usable faces.
  * randomness: ``trialsets.trial_rng`` (seed, protocol name, version), in three draw groups, each one
    ``Generator.integers`` call with array bounds over all rows in order: (1) every trial's true face; (2) every
    trial's Fisher–Yates draws ``integers(i, O)``, i = 0 … N − 2; (3) every trial's imposter faces, slots in order.
    Version 2 drew the same distributions trial by trial (true face, imposters, their faces, then the next trial),
    one scalar call per draw: 18.4 s to build Wen et al.'s test set (589,950 trials) against 0.5–0.9 s now
    (benchmarks/scale.py, 2-core CPU); its trials differ from version 3's draw for draw, not in distribution.

Score: cosine similarities ``[T_N, N]`` by one batched gather + matmul per N, ``benchmark.metrics.pairwise.match_1ofn``,
accuracy ``acc@N=n`` per N with a 95 % CI, per speaker gender. A trial involves the speaker and its N − 1 imposters
(one identity population), so the CI is the two-way bootstrap of ``benchmark.metrics.aggregate`` over speakers and imposters:
pigeonhole weights ``m[s] * m[o]`` at N = 2, first-order weights ``m[s] + sum_j m[o_j] - (N - 1)`` for N ≥ 3 (the
product over N identities inflates the trial-level noise (2^N − 1)-fold; ``benchmarks/bootstrap_coverage.py``).
"""

from __future__ import annotations

import numpy as np
import torch

from benchmark.trials.columns import Column
from benchmark.data.manifest import Face, Manifest
from benchmark.errors import ProtocolUnavailable
from benchmark.metrics.pairwise import gathered_matvec, l2_normalise, match_1ofn
from benchmark.tasks.base import FaceTable, Generated, Plan, TaskScores, aggregate
from benchmark.tasks.trialsets import (TrialTable, gallery_faces, gender_of, sample_distinct_rows, tier_counts,
                                       trial_rng, trial_tiers, true_face_pool, usable_gallery)
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
    k = spec.trials_per_probe
    ident_table = sorted(gallery)
    icode = {ident: c for c, ident in enumerate(ident_table)}
    face_table = [f for ident in ident_table for f in gallery[ident]]
    fcode = {f: c for c, f in enumerate(face_table)}
    sizes = np.asarray([len(gallery[ident]) for ident in ident_table], dtype=np.int64)  # [I]
    offset = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)  # [I]
    # candidate imposters of each speaker (identity codes, the pool's order), padded with −1: [S, O_max]
    others = [[icode[i] for i in pools[key(sp)] if i != sp] for sp in speakers]
    n_others = np.asarray([len(o) for o in others], dtype=np.int64)  # [S]
    others_m = np.full((len(speakers), int(n_others.max())), -1, dtype=np.int64)
    for s_i, o in enumerate(others):
        others_m[s_i, :len(o)] = o
    # probes (every utterance of every speaker, in order) and their true-face pools, concatenated
    probe_table: list[str] = []
    probe_speaker: list[int] = []  # index into speakers
    pool_flat: list[int] = []
    pool_start: list[int] = []
    pool_len: list[int] = []
    tiers: dict[str, int] = {}
    for s_i, speaker in enumerate(speakers):
        for utt in manifest.utterances_of(speaker):
            pool, tier = true_face_pool(spec, utt.id, gallery[speaker])
            tiers[tier] = tiers.get(tier, 0) + len(ns) * k
            probe_table.append(utt.id)
            probe_speaker.append(s_i)
            pool_start.append(len(pool_flat))
            pool_len.append(len(pool))
            pool_flat.extend(fcode[f] for f in pool)
    per_probe = len(ns) * k
    probe_code = np.repeat(np.arange(len(probe_table), dtype=np.int64), per_probe)  # [T] row order of the rule
    n_code = np.tile(np.repeat(np.arange(len(ns), dtype=np.int64), k), len(probe_table))  # [T]
    row_speaker = np.asarray(probe_speaker, dtype=np.int64)[probe_code]  # [T] index into speakers
    # draw group 1: the true face of every trial
    true_local = rng.integers(0, np.asarray(pool_len, dtype=np.int64)[probe_code])  # [T]
    true_code = np.asarray(pool_flat, dtype=np.int64)[np.asarray(pool_start, dtype=np.int64)[probe_code] + true_local]
    # draw group 2: the N − 1 distinct imposters of every trial (partial Fisher–Yates, draws integers(i, O))
    width = max(ns) - 1
    m_row = np.asarray(ns, dtype=np.int64)[n_code] - 1  # [T] imposters per trial
    imp_codes, picked = sample_distinct_rows(rng, m_row, n_others[row_speaker], width)  # [T, width] local
    imp_codes = np.where(picked, others_m[row_speaker[:, None], np.maximum(imp_codes, 0)], -1)
    # draw group 3: each imposter's face (trials in order, slots in order)
    face_codes = np.full_like(imp_codes, -1)
    chosen = imp_codes[picked]  # [sum(m_row)] row-major
    face_codes[picked] = offset[chosen] + rng.integers(0, sizes[chosen])
    speaker_code = np.asarray([icode[sp] for sp in speakers], dtype=np.int64)[row_speaker]  # [T]
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
    tiers = trial_tiers(spec, trials["probe"], trials["true_face"])  # [T_all] TRUE_FACE_RULE tier of each trial
    scores, strata = {}, {}
    for n in plan.info["ns"]:
        rows = np.flatnonzero(n_of == n)  # [T]
        cand = torch.from_numpy(np.concatenate([true_all[rows, None], imp_all[rows, :n - 1]], axis=1)).to(dev)  # [T, N]
        idx = torch.from_numpy(rows).to(dev)
        sims = gathered_matvec(faces, cand, gen, gi_all[idx])  # [T, N] cosine
        values = match_1ofn(sims)  # [T]
        s, st = aggregate({f"acc@N={n}": values}, trials["speaker"][rows], trials["stratum"][rows], spec, seed,
                          imposters=trials["imposters"][rows][:, :n - 1], tiers=tiers[rows])
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
