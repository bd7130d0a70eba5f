"""Task "feature": L1, L2, cosine and angle between generated and real face embeddings (Speech2Face §4,
AR-SPM Table 4, SF2F).

Trial rule, version 1 (``build``): identities of ``spec.probe_split`` with ≥ 1 utterance and ≥ 1 usable gallery
face; for every utterance of each (sorted), ``trials_per_probe`` trials, each with a true face uniform over the
probe's ``trialsets.true_face_pool`` (``trialsets.trial_rng``). On a VoxCeleb1-crop gallery
(``benchmark.trials.builders.TRUE_FACE_RULE``) the pool is the speaker's faces from other videos when there are any, and
the ``…@centroid`` metrics use the centroid of that pool; the identity-mean unit is refused there
(``trialsets.refuse_identity_mean_on_voxceleb``).

With ``probe_unit="identity-mean"`` (SF2F's rule, ``feature-sf2f``): one trial per identity, listing all its
probe utterances (column ``probes``, ';'-separated); nothing is drawn.

Score (all rows at once on the device): the generated embedding of each trial's probe against (a) the trial's
true face (``l1``, ``l2``, ``cosine``, ``angle_deg``) and (b) the speaker's identity centroid (``…@centroid``),
with the spec's conventions: ``normalise_embeddings``, ``normalise_centroid``, ``l1_reduction``, ``l2_reduction``,
``distance_eps`` (``benchmark.metrics.pairwise``). 95 % identity-bootstrap CI, per speaker gender. With
``probe_unit="identity-mean"`` the generated embedding of a trial is the mean over the identity's probes
(``trialsets.identity_mean_rows``) and only the centroid metrics exist (SF2F's ``dataset_embedding`` is the
identity centroid): ``l1@centroid``, ``l2@centroid``, ``cosine@centroid``, ``angle_deg@centroid``, one value per
identity. A failed (blank) generated face makes its trial's distances NaN: excluded from the mean and counted.
"""

from __future__ import annotations

import torch

from benchmark.data.manifest import Face, Manifest
from benchmark.errors import ProtocolUnavailable
from benchmark.metrics.pairwise import angle_degrees, cosine_similarity_rows, l1_distance_rows, l2_distance_rows
from benchmark.tasks.base import FaceTable, Generated, Plan, TaskScores, aggregate
from benchmark.tasks.trialsets import (TrialTable, centroid_table, gallery_faces, gender_of, generated_rows,
                                       identity_mean_rows, pool_centroids, real_rows,
                                       refuse_identity_mean_on_voxceleb, require_probe_gallery, tier_counts,
                                       trial_rng, true_face_pool)
from protocols.spec import ProtocolSpec

NEEDS = {"embedding"}


def faces_needed(manifest: Manifest, spec: ProtocolSpec) -> list[Face]:
    """Gallery-source faces of the probe split's identities."""
    return gallery_faces(manifest, spec.probe_split, spec)


def build(manifest: Manifest, spec: ProtocolSpec, seed: int, real: FaceTable) -> Plan:
    """Seeded (probe, true face) trials (rule in the module docstring).

    Raises:
        ProtocolUnavailable: no identity with a voice and a usable gallery face.
    """
    refuse_identity_mean_on_voxceleb(spec)
    gallery, excluded = require_probe_gallery(manifest, spec, set(real.ids))
    if spec.probe_unit == "identity-mean":
        idents = sorted(gallery)
        probes = [[u.id for u in manifest.utterances_of(i)] for i in idents]
        cols = {"speaker": idents, "probes": [";".join(p) for p in probes],
                "stratum": [gender_of(manifest, i) for i in idents]}
        trials = TrialTable(cols, excluded=excluded, aux={"gallery": gallery, "identities": idents})
        return Plan(trials=trials, probes=sorted(u for p in probes for u in p),
                    info={"identities": len(gallery), "probe_unit": spec.probe_unit})
    if spec.probe_unit != "utterance":
        raise ProtocolUnavailable(f"protocol {spec.name!r}: unknown probe_unit {spec.probe_unit!r}.")
    rng = trial_rng(spec, seed)
    cols: dict[str, list[str]] = {c: [] for c in ("probe", "speaker", "true_face", "stratum")}
    pools, tiers = [], []
    for ident in sorted(gallery):
        for utt in manifest.utterances_of(ident):
            pool, tier = true_face_pool(spec, utt.id, gallery[ident])
            picks = rng.integers(0, len(pool), size=spec.trials_per_probe)
            cols["probe"] += [utt.id] * spec.trials_per_probe
            cols["speaker"] += [ident] * spec.trials_per_probe
            cols["true_face"] += [pool[int(j)] for j in picks]
            cols["stratum"] += [gender_of(manifest, ident)] * spec.trials_per_probe
            pools += [pool] * spec.trials_per_probe
            tiers += [tier] * spec.trials_per_probe
    trials = TrialTable(cols, excluded=excluded, aux={"gallery": gallery, "identities": sorted(gallery),
                                                      "pools": pools, "tiers": tiers})
    info = {"identities": len(gallery)}
    if tier_counts(tiers):
        info["true_face"] = tier_counts(tiers)
    return Plan(trials=trials, probes=sorted(set(cols["probe"])), info=info)


def feature_values(gen: torch.Tensor, true: torch.Tensor, centroid: torch.Tensor, spec: ProtocolSpec) -> dict:
    """Per-trial distances of ``gen`` ``[N, D]`` to ``true`` ``[N, D]`` and ``centroid`` ``[N, D]`` (already
    normalised as the spec says): metric name -> float ``[N]``."""
    out = {}
    for suffix, ref in (("", true), ("@centroid", centroid)):
        cos = cosine_similarity_rows(gen, ref)  # [N]
        # |ref - gen + eps|: SF2F's argument order (nn.PairwiseDistance(dataset_embedding, pred_img_embedding)), which
        # matters only where eps != 0
        out[f"l1{suffix}"] = l1_distance_rows(ref, gen, spec.l1_reduction, spec.distance_eps)  # [N]
        out[f"l2{suffix}"] = l2_distance_rows(ref, gen, spec.l2_reduction, spec.distance_eps)  # [N]
        out[f"cosine{suffix}"] = cos
        out[f"angle_deg{suffix}"] = angle_degrees(cos)  # [N]
    return out


def score(plan: Plan, generated: Generated, real: FaceTable, manifest: Manifest, spec: ProtocolSpec,
          device: str, seed: int) -> TaskScores:
    """Per-image and centroid L1, L2, cosine and angle: overall and per speaker gender."""
    trials: TrialTable = plan.trials
    dev = torch.device(device)
    identities: list[str] = trials.aux["identities"]
    index = {ident: k for k, ident in enumerate(identities)}
    centroids = centroid_table(real, trials.aux["gallery"], identities, dev, spec.normalise_embeddings,
                               spec.normalise_centroid)  # [K, D]
    owner = torch.tensor([index[s] for s in trials["speaker"]], dtype=torch.long, device=dev)  # [N]
    if spec.probe_unit == "identity-mean":
        gen = identity_mean_rows(generated, [p.split(";") for p in trials["probes"]], dev,
                                 spec.normalise_embeddings)  # [K, D]
        values = {k: v for k, v in feature_values(gen, centroids[owner], centroids[owner], spec).items()
                  if k.endswith("@centroid")}
    else:
        gen = generated_rows(generated, trials["probe"], dev, spec.normalise_embeddings)  # [N, D]
        true = real_rows(real, trials["true_face"], dev, spec.normalise_embeddings)  # [N, D]
        if spec.gallery_source == "voxceleb":  # centroid of the trial's true-face pool (TRUE_FACE_RULE)
            target = pool_centroids(real, trials.aux["pools"], dev, spec.normalise_embeddings,
                                    spec.normalise_centroid)  # [N, D]
        else:
            target = centroids[owner]  # [N, D]
        values = feature_values(gen, true, target, spec)
    scores, strata = aggregate(values, trials["speaker"], trials["stratum"], spec, seed,
                               tiers=trials.aux.get("tiers") or None)
    info = {"conventions": {"normalise_embeddings": spec.normalise_embeddings,
                            "normalise_centroid": spec.normalise_centroid, "l1_reduction": spec.l1_reduction,
                            "l2_reduction": spec.l2_reduction, "distance_eps": spec.distance_eps,
                            "centroid": "mean of the speaker's usable gallery-face embeddings",
                            "probe_unit": spec.probe_unit},
            "lower_is_better": ["l1", "l2", "angle_deg", "l1@centroid", "l2@centroid", "angle_deg@centroid"],
            "embedding_dim": int(gen.shape[1])}
    return TaskScores(scores=scores, strata=strata, info=info)
