"""Task "realism": FD and KID between the set of generated faces and the set of real faces, in the judge's
embedding space, with a real-face floor (``protocols.realism``; metric functions ``benchmark.metrics.sets``).

Trial rule, version 2 (``build``): the identities of ``spec.probe_split`` with ≥ 1 utterance and ≥ 1 usable gallery
face (``trialsets.require_probe_gallery``); the generated set is one face per utterance of each (all of them, no
cap: the statistics cost ``O(N²·D)`` kernel sums in chunks plus ``D × D`` covariances, seconds at ~2·10^4 faces),
the real set every usable gallery face of the same identities. The floor's set stands in for the generated set
with the same size and cluster structure: each identity a is given a donor ``donor(a) ≠ a`` (a cyclic derangement
of a uniform permutation of the sorted identities, ``trialsets.sample_distinct`` on ``trials.trial_rng(spec,
seed)``: the run seed, the protocol name and its version, like every protocol's trials), and for each of a's
utterances in turn one of the donor's real faces (cycling through them). The trial file has one row per face of
any set: ``set`` (generated/real/floor), ``item`` (utterance id / face id), ``speaker`` (whose face it is: the
donor for a floor row), ``stands_for`` (the identity whose utterance a floor row replaces; else the speaker) —
hashed as every trial file is. (Version 1 split the identities into two halves and compared their real faces:
half the N and a different cluster structure from what it bounded.)

Score: features are the judge embeddings, L2-normalised and scaled by sqrt(D) (``realism.unit_rms_features``;
``protocols.realism`` says why), float64. Metrics:

* ``kid``: generated set vs real set by ``realism.mmd2_between_identities`` — only pairs of faces of two different
  identities enter its three sums, so several faces per identity add no bias and a generator consistent per
  speaker is not penalised against one that draws unrelated faces; expectation 0 for a generator whose faces
  come from the real faces' population, whatever the cluster sizes. ``fd``: ``realism.frechet_distance``, flagged
  below ``realism.FD_MIN_ROWS_PER_DIM`` · D faces per set (``realism.fd_small_n_flag``).
* ``kid_floor``, ``fd_floor``: the floor set vs the real set — what a generator that shows each speaker's voice
  real faces of *another* test identity reaches at this N and cluster structure (expectation 0 for KID).
* A generated set that copies the real set (most generated faces at cosine ≥ ``COPY_COSINE`` to a real face of the
  same identity: the oracle on a VoxCeleb1-crop gallery shows the probe clip's own crop) is not a generator
  result: ``kid`` and ``fd`` carry ``not_applicable`` with the reason and the count (``copies_of_real``).
* A KID interval wholly below 0 (MMD² ≥ 0; the sets are closer than independent draws of one population) is
  truncated to [0, 0] and flagged (the raw interval kept as ``ci95_raw``).

A failed (blank) generated face has no embedding: it is left out of the generated set and counted
(``failed_excluded``, flagged).

95 % CI: a bootstrap over identities — B = ``spec.bootstrap`` replicates of the K identities drawn with
replacement (``benchmark.metrics.aggregate.identity_multiplicities`` with the run seed, the draws every protocol's bootstrap
uses), each drawn identity bringing its generated *and* its real faces (for the floor: its real faces and the floor
faces it donated), the statistic recomputed on each replicate
(``set_bootstrap.set_bootstrap``). The interval is the percentile interval of the
replicates re-centred on the point estimate, ``[v + q_2.5 − mean*, v + q_97.5 − mean*]`` (the bootstrap's bias
estimate ``mean* − v`` removed; Efron & Tibshirani, An Introduction to the Bootstrap, 1993, §10.6): a replicate
holds about 63 % distinct identities, so FD — biased upwards as N falls — is larger on every replicate than on
the sample (measured: 300 vs 400 Gaussian rows in 128-d, 30 identities, point FD 25.8, replicates 38–57), and the
uncorrected percentile interval would not contain the estimate. With identity clusters (D = 16, 3 faces per identity, 150
simulated data sets, 400 replicates) the re-centred interval covered the estimator's expectation at that N in
99 % (FD) and 97 % (KID) of data sets with 20 identities and 100 % / 98 % with 8, the plain percentile interval in
11 % / 86 % and 37 % / 83 % — conservative, not exact. It is an interval for the
statistic *at this N* (what another draw of as many identities would give), which is what rows compared at the
same N need; it is not an interval for the population FD. Replicates where a set keeps fewer than two faces have
no value and are counted (``dropped_replicates``). The MMD² estimate is a degenerate U-statistic when the two
distributions are equal, where the naive bootstrap is not consistent (Arcones & Giné, Ann. Statist. 20(2), 1992):
intervals of a generator at the floor are approximate.

No strata: the statistic of a set does not split into per-trial values, and halving N by gender would double FD's
bias; the result's ``info`` carries the conventions, the set sizes and the features' dimension.
"""

from __future__ import annotations

import numpy as np
import torch

from benchmark.metrics import sets as realism
from benchmark.metrics.paired import encode_replicates
from benchmark.metrics.set_bootstrap import percentile_interval, set_bootstrap
from benchmark.metrics.aggregate import identity_multiplicities, interval_flag
from benchmark.data.manifest import Face, Manifest
from benchmark.errors import ProtocolUnavailable
from benchmark.tasks.base import FaceTable, Generated, Plan, TaskScores
from benchmark.tasks.trialsets import TrialTable, gallery_faces, require_probe_gallery, sample_distinct, trial_rng
from protocols.spec import ProtocolSpec

NEEDS = {"embedding"}

COPY_COSINE = 0.99
"""A generated face at this cosine or above to a real face of its own identity counts as a copy of that face."""
BOOTSTRAP = "one-way identity, set statistic recomputed (generated and real faces together), re-centred percentile"
"""The ``"bootstrap"`` field of every summary of this task."""


def faces_needed(manifest: Manifest, spec: ProtocolSpec) -> list[Face]:
    """Gallery-source faces of the probe split's identities (the real set)."""
    return gallery_faces(manifest, spec.probe_split, spec)


def build(manifest: Manifest, spec: ProtocolSpec, seed: int, real: FaceTable) -> Plan:
    """The generated, real and floor sets (rule in the module docstring).

    Raises:
        ProtocolUnavailable: fewer than two identities with a voice and a usable gallery face (no floor can be
            formed, and a one-identity set says nothing about a population).
    """
    gallery, excluded = require_probe_gallery(manifest, spec, set(real.ids))
    idents = sorted(gallery)
    if len(idents) < 2:
        raise ProtocolUnavailable(f"protocol {spec.name!r} needs >= 2 {spec.probe_split} identities with a voice and a "
                                  f"usable {spec.gallery_source} face in dataset {manifest.dataset_id!r}; found "
                                  f"{len(idents)}.")
    order = sample_distinct(trial_rng(spec, seed), len(idents), len(idents))
    donor = {idents[j]: idents[order[(pos + 1) % len(order)]] for pos, j in enumerate(order)}
    cols: dict[str, list[str]] = {"set": [], "item": [], "speaker": [], "stands_for": []}

    def add(kind: str, item: str, speaker: str, stands_for: str) -> None:
        for col, v in zip(cols, (kind, item, speaker, stands_for)):
            cols[col].append(v)

    probes = []
    for ident in idents:
        for utt in manifest.utterances_of(ident):
            add("generated", utt.id, ident, ident)
            probes.append(utt.id)
    for ident in idents:
        for face in gallery[ident]:
            add("real", face, ident, ident)
    for ident in idents:
        faces = gallery[donor[ident]]
        for j, _utt in enumerate(manifest.utterances_of(ident)):
            add("floor", faces[j % len(faces)], donor[ident], ident)
    trials = TrialTable(cols, excluded=excluded, aux={"identities": idents})
    info = {"identities": len(idents), "generated_set": len(probes), "real_set": cols["set"].count("real"),
            "floor_set": cols["set"].count("floor")}
    return Plan(trials=trials, probes=sorted(probes), info=info)


def _summary(value: float, replicates: torch.Tensor, n: int, n_real: int, k: int, spec: ProtocolSpec,
             extra: dict | None = None, kid: bool = False, names: list[str] | None = None, seed: int = 0) -> dict:
    """``{value, ci95, n, n_real, n_identities, bootstrap, dropped_replicates[, ci95_raw, flag, ...]}`` (module
    docstring); ``kid``: a wholly negative interval is truncated to [0, 0] and flagged, and with ``names`` (the
    resampled identities) the replicates are kept (``benchmark.metrics.paired``)."""
    ci, dropped = percentile_interval(replicates, spec.ci_level)
    defined = replicates[~replicates.isnan()]
    if defined.numel():
        shift = float(defined.mean()) - value  # the bootstrap's estimate of its own bias
        ci = [ci[0] - shift, ci[1] - shift]
    out = {"value": value, "ci95": ci, "n": n, "n_real": n_real, "n_identities": k, "bootstrap": BOOTSTRAP,
           "dropped_replicates": dropped, **(extra or {})}
    flag = None if np.isnan(value) else interval_flag(value, ci, k, spec.bootstrap, spec.ci_level, dropped)
    reasons = [r for r in (flag, (extra or {}).get("flag")) if r]
    if np.isnan(value):
        reasons.append("no value: a set has fewer than two faces")
    out.pop("flag", None)
    if kid and ci[1] < 0:
        out["ci95_raw"], out["ci95"] = ci, [0.0, 0.0]
        reasons.append("KID interval wholly below 0 (MMD^2 >= 0: the sets are closer than independent draws, e.g. "
                       "faces copied from the real set): truncated to [0, 0]")
    if reasons:
        out["flag"] = "; ".join(reasons)
    if kid and names is not None:  # the ranked metric: its replicates for paired comparisons
        out["replicates"] = encode_replicates(replicates, names, seed)
    return out


def _point(x: torch.Tensor, ox: torch.Tensor, y: torch.Tensor, oy: torch.Tensor, k: int) -> tuple[float, float]:
    """(KID between identities, FD) of two feature sets, NaN when either has fewer than two rows."""
    if x.shape[0] < 2 or y.shape[0] < 2:
        return float("nan"), float("nan")
    kid = realism.mmd2_between_identities(x, ox, y, oy, torch.ones(1, k, dtype=torch.float64))
    return (float(kid[0]), realism.frechet_distance(*realism.gaussian_stats(x), *realism.gaussian_stats(y)))


def _copies(x: torch.Tensor, ox: torch.Tensor, y: torch.Tensor, oy: torch.Tensor) -> int:
    """Generated rows whose cosine to some real row of the same identity is ≥ ``COPY_COSINE`` (features of equal
    norm sqrt(D), so the cosine is ``x·y / D``)."""
    if not x.shape[0] or not y.shape[0]:
        return 0
    cos = (x @ y.T) / x.shape[1]  # [n, m]
    same = ox.unsqueeze(1) == oy.unsqueeze(0)  # [n, m]
    return int(((cos >= COPY_COSINE) & same).any(1).sum())


def score(plan: Plan, generated: Generated, real: FaceTable, manifest: Manifest, spec: ProtocolSpec,
          device: str, seed: int) -> TaskScores:
    """``kid``, ``fd``, ``kid_floor``, ``fd_floor`` with identity-bootstrap CIs (module docstring); no strata."""
    trials: TrialTable = plan.trials
    dev = torch.device(device)
    idents: list[str] = trials.aux["identities"]
    index = {ident: k for k, ident in enumerate(idents)}
    sets, items, speakers = (np.asarray(list(trials[c]), dtype=str) for c in ("set", "item", "speaker"))
    gen_rows = np.flatnonzero(sets == "generated")
    real_rows = np.flatnonzero(sets == "real")
    floor_rows = np.flatnonzero(sets == "floor")

    g_index = generated.index()
    g_vec = generated.vectors[[g_index[u] for u in items[gen_rows]]]  # [U, D]
    ok = ~np.isnan(g_vec).any(axis=1)  # failed (blank) generated faces have NaN rows
    n_failed = int((~ok).sum())
    gen_rows, g_vec = gen_rows[ok], g_vec[ok]
    r_index = real.index()
    r_vec = real.vectors[[r_index[f] for f in items[real_rows]]]  # [R, D]
    f_vec = real.vectors[[r_index[f] for f in items[floor_rows]]]  # [F, D] the donors' real faces

    def feats(vectors: np.ndarray) -> torch.Tensor:  # [N, D] float64 on the device
        return realism.unit_rms_features(torch.from_numpy(np.ascontiguousarray(vectors)).to(dev))

    def owners(rows: np.ndarray) -> torch.Tensor:  # [N] int64 identity index
        return torch.tensor([index[s] for s in speakers[rows]], dtype=torch.long, device=dev)

    d = r_vec.shape[1]
    x, y, xf = feats(g_vec.reshape(-1, d)), feats(r_vec), feats(f_vec.reshape(-1, d))
    ox, oy, oxf = owners(gen_rows), owners(real_rows), owners(floor_rows)
    k = len(idents)

    mult = identity_multiplicities(k, spec.bootstrap, seed)  # [B, K]
    kid, fd = _point(x, ox, y, oy, k)
    kid_floor, fd_floor = _point(xf, oxf, y, oy, k)
    nan = torch.full((spec.bootstrap,), float("nan"), dtype=torch.float64)
    rep = set_bootstrap(x, ox, y, oy, mult) if x.shape[0] >= 2 else {"fd": nan, "kid": nan}
    rep_floor = set_bootstrap(xf, oxf, y, oy, mult) if xf.shape[0] >= 2 else {"fd": nan, "kid": nan}

    gen_extra: dict = {}
    if n_failed:
        gen_extra = {"failed_excluded": n_failed,
                     "flag": f"{n_failed} generated face(s) failed (blank) and were left out of the generated set"}
    u, r, f = int(x.shape[0]), int(y.shape[0]), int(xf.shape[0])
    copies = _copies(x, ox, y, oy)
    not_applicable = {}
    if u and copies * 2 > u:
        not_applicable = {"copies_of_real": copies, "not_applicable": (
            f"{copies} of {u} generated faces copy a real face of their own identity (cosine >= {COPY_COSINE:g}): "
            "the set is the real set itself, not a generator's, so its distance to the real set bounds nothing")}
    fd_flag = realism.fd_small_n_flag(min(u, r), d)
    scores = {
        "kid": _summary(kid, rep["kid"], u, r, k, spec, {**gen_extra, **not_applicable}, kid=True, names=idents,
                        seed=seed),
        "fd": _summary(fd, rep["fd"], u, r, k, spec, _join_flags(gen_extra, fd_flag, not_applicable)),
        "kid_floor": _summary(kid_floor, rep_floor["kid"], f, r, k, spec, kid=True),
        "fd_floor": _summary(fd_floor, rep_floor["fd"], f, r, k, spec, _join_flags({}, realism.fd_small_n_flag(
            min(f, r), d))),
    }
    info = {
        "feature_space": "the judge's face embedding (the result's judge), L2-normalised and scaled by sqrt(D)",
        "embedding_dim": d,
        "kid_kernel": f"(x.y / D + {realism.KID_COEF0:g})^{realism.KID_DEGREE} (Bińkowski et al. 2018) = (cos + 1)^3",
        "kid_estimator": ("MMD^2 incomplete U-statistic over pairs of faces of two different identities in all three "
                          "sums (same-identity pairs left out: no cluster bias), over the whole sets"),
        "fd_sqrtm": f"scipy.linalg.sqrtm; eps {realism.FD_EPS:g} on both diagonals if not finite (pytorch-fid)",
        "generated_set": u, "real_set": r, "floor_set": f,
        "floor": (f"for each identity's {f} utterances, real faces of another identity (a seeded cyclic derangement "
                  f"of the {k} identities, trial_rng(spec, seed)) against the real set: the generated set's size and "
                  "cluster structure"),
        "small_n_note": (f"FD is biased upwards at small N (here {u} generated / {r} real faces in {d} dimensions; "
                         f"flagged below {realism.FD_MIN_ROWS_PER_DIM} x D faces): rank by KID and read FD against "
                         "fd_floor"),
        "lower_is_better": ["kid", "fd", "kid_floor", "fd_floor"],
    }
    return TaskScores(scores=scores, strata={}, info=info)


def _join_flags(extra: dict, *more) -> dict:
    """``extra`` with the flags of ``more`` (strings or dicts with a ``not_applicable``/``flag``) added to its flag."""
    out = dict(extra)
    reasons = [out.pop("flag")] if out.get("flag") else []
    for m in more:
        if isinstance(m, dict):
            out.update({key: v for key, v in m.items() if key != "flag"})
        elif m:
            reasons.append(m)
    if reasons:
        out["flag"] = "; ".join(reasons)
    return out
