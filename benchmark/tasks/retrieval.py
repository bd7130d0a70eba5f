"""Task "retrieval": Recall@K of the speaker among galleries of identity centroids (Bai et al., SF2F, 2022).

Trial rule, version 1 (``build``):
  * identities: those of ``spec.probe_split`` with ≥ 1 utterance and ≥ 1 usable gallery face (≥ 2 needed), put in
    order: ``gallery_order="seeded-shuffle"``: a seeded permutation; ``"sorted"``: sorted by id (SF2F).
  * galleries: G = ``spec.gallery_identities``. With K ≤ G identities, one gallery of all K (stated in ``info``).
    Otherwise the ordered list is cut into ceil(K / G) consecutive groups of G; the last, shorter group is topped
    up to G with distractors drawn uniformly without replacement (seeded) from the identities outside it.
  * trials: every utterance of every identity, in the gallery of the identity's group (distractors are gallery
    members only). The trial file lists every gallery in its context lines, so its sha256 pins them.
  * ``galleries_scored="first"`` (SF2F's ``extraction_size`` slice): only the first gallery is kept; the other
    identities give no trial (their count is in ``info``).
  * ``probe_unit="identity-mean"`` (SF2F's ``average_facenet_embedding`` mode): one trial per identity, listing
    its probe utterances (column ``probes``); the query is the mean of their generated embeddings
    (``trialsets.identity_mean_rows``), so every identity weighs the same. Refused on a VoxCeleb1-crop gallery
    (``trialsets.refuse_identity_mean_on_voxceleb``).
  * VoxCeleb1-crop gallery (``benchmark.trials.builders.TRUE_FACE_RULE``): the speaker's own centroid in a trial is that of
    the probe's ``true_face_pool`` (faces of other videos when the speaker has any); the other members' centroids
    use all their faces. The result counts the trials per tier.

Score: cosine similarities ``[T, K]`` of generated faces against all centroids, non-members of each trial's gallery
masked to −inf, computed and ranked block by block within a memory budget (``benchmark.metrics.pairwise.blockwise_topk_hits``):
``benchmark.metrics.pairwise.topk_hits`` for the K values of ``spec.ks`` below the gallery size (the others are 1 for any
generator: not scored, stated in ``info``); 95 % identity-bootstrap CI, per gender.
The CI is the one-way bootstrap over speakers (``benchmark.metrics.aggregate``): it is conditional on the fixed galleries —
their members and distractors are not resampled — as ``info["ci"]`` says.
"""

from __future__ import annotations

import math

import torch

from benchmark.data.manifest import Face, Manifest
from benchmark.errors import ProtocolUnavailable
from benchmark.metrics.pairwise import blockwise_topk_hits, cosine_similarity_rows
from benchmark.tasks.base import FaceTable, Generated, Plan, TaskScores, aggregate
from benchmark.tasks.trialsets import (TrialTable, centroid_table, gallery_faces, gender_of, generated_rows,
                                       identity_mean_rows, pool_centroids, refuse_identity_mean_on_voxceleb,
                                       sample_distinct, tier_counts, trial_rng, true_face_pool, usable_gallery)
from protocols.spec import ProtocolSpec

NEEDS = {"embedding"}


def faces_needed(manifest: Manifest, spec: ProtocolSpec) -> list[Face]:
    """Gallery-source faces of the probe split's identities."""
    return gallery_faces(manifest, spec.probe_split, spec)


def make_galleries(identities: list[str], size: int, order: str, rng) -> list[tuple[list[str], list[str]]]:
    """Cut identities into galleries (rule in the module docstring).

    Args:
        identities: sorted identity ids (K ≥ 2).
        size: G, identities per gallery.
        order: "seeded-shuffle" or "sorted".
        rng: a numpy Generator (used for the permutation and the distractors).

    Returns:
        A list of (probe identities, gallery members) per gallery; members start with the probe identities.

    Raises:
        ValueError: unknown order.
    """
    if order == "seeded-shuffle":
        ordered = [identities[i] for i in sample_distinct(rng, len(identities), len(identities))]
    elif order == "sorted":
        ordered = sorted(identities)
    else:
        raise ValueError(f"gallery_order must be 'seeded-shuffle' or 'sorted', not {order!r}")
    if len(ordered) <= size:
        return [(sorted(ordered), sorted(ordered))]  # one gallery: order is irrelevant
    out = []
    for g in range(math.ceil(len(ordered) / size)):
        probes = ordered[g * size:(g + 1) * size]
        members = list(probes)
        if len(probes) < size:
            outside = [i for i in ordered if i not in set(probes)]
            members += [outside[j] for j in sample_distinct(rng, len(outside), size - len(probes))]
        out.append((probes, members))
    return out


def build(manifest: Manifest, spec: ProtocolSpec, seed: int, real: FaceTable) -> Plan:
    """Seeded galleries and one trial per probe utterance (rule in the module docstring).

    Raises:
        ProtocolUnavailable: fewer than two usable identities.
    """
    refuse_identity_mean_on_voxceleb(spec)
    gallery, excluded = usable_gallery(manifest, spec.probe_split, spec, set(real.ids))
    identities = sorted(gallery)
    if len(identities) < 2:
        raise ProtocolUnavailable(
            f"protocol {spec.name!r} needs at least two {spec.probe_split} identities with voices and usable "
            f"{spec.gallery_source} faces in dataset {manifest.dataset_id!r}; found {len(identities)}.")
    size = int(spec.gallery_identities or len(identities))
    galleries = make_galleries(identities, size, spec.gallery_order, trial_rng(spec, seed))
    not_scored = 0
    if spec.galleries_scored == "first":
        not_scored = len(identities) - len(galleries[0][0])
        galleries = galleries[:1]
    elif spec.galleries_scored != "all":
        raise ProtocolUnavailable(f"protocol {spec.name!r}: unknown galleries_scored {spec.galleries_scored!r}.")
    if spec.probe_unit not in ("utterance", "identity-mean"):
        raise ProtocolUnavailable(f"protocol {spec.name!r}: unknown probe_unit {spec.probe_unit!r}.")
    per_identity = spec.probe_unit == "identity-mean"
    cols: dict[str, list[str]] = {c: [] for c in ("probes" if per_identity else "probe", "speaker", "gallery",
                                                  "stratum")}
    probe_ids: list[str] = []
    pools: list[list[str]] = []
    tiers: list[str] = []
    for g, (probes, _) in enumerate(galleries):
        for ident in sorted(probes):
            utts = [utt.id for utt in manifest.utterances_of(ident)]
            probe_ids += utts
            if not per_identity:
                for utt in utts:
                    pool, tier = true_face_pool(spec, utt, gallery[ident])
                    pools.append(pool)
                    tiers.append(tier)
            rows = [";".join(utts)] if per_identity else utts
            cols["probes" if per_identity else "probe"] += rows
            cols["speaker"] += [ident] * len(rows)
            cols["gallery"] += [str(g)] * len(rows)
            cols["stratum"] += [gender_of(manifest, ident)] * len(rows)
    gallery_size = len(galleries[0][1])
    ks = [k for k in spec.ks if k < gallery_size]
    context = {f"gallery {g}": ";".join(members) for g, (_, members) in enumerate(galleries)}
    trials = TrialTable(cols, context=context, excluded=excluded,
                        aux={"gallery": gallery, "identities": identities, "galleries": galleries, "pools": pools,
                             "tiers": tiers})
    info = {"galleries": len(galleries), "gallery_size": gallery_size, "ks": ks,
            "ks_capped": [k for k in spec.ks if k >= gallery_size], "probe_unit": spec.probe_unit}
    if tier_counts(tiers):
        info["true_face"] = tier_counts(tiers)
    if not_scored:
        info["identities_not_scored"] = not_scored
        info["gallery_note_first"] = (f"only the first gallery of {gallery_size} identities is scored (SF2F's "
                                      f"extraction_size); {not_scored} identities give no trial")
    if gallery_size < size:
        info["gallery_note"] = (f"only {len(identities)} usable {spec.probe_split} identities (< {size}): one gallery "
                                f"of {gallery_size}")
    elif len(identities) % size:
        info["gallery_note"] = (f"{len(identities)} identities: {len(galleries)} galleries of {size}, the last topped "
                                f"up with {size - len(identities) % size} seeded distractors")
    return Plan(trials=trials, probes=sorted(set(probe_ids)), info=info)


def score(plan: Plan, generated: Generated, real: FaceTable, manifest: Manifest, spec: ProtocolSpec,
          device: str, seed: int) -> TaskScores:
    """Recall@K for every scored K: overall and per speaker gender."""
    trials: TrialTable = plan.trials
    dev = torch.device(device)
    identities: list[str] = trials.aux["identities"]
    index = {ident: k for k, ident in enumerate(identities)}
    centroids = centroid_table(real, trials.aux["gallery"], identities, dev, spec.normalise_embeddings,
                               spec.normalise_centroid)  # [K, D]
    members = torch.zeros(len(trials.aux["galleries"]), len(identities), dtype=torch.bool, device=dev)  # [G, K]
    for g, (_, mem) in enumerate(trials.aux["galleries"]):
        members[g, [index[i] for i in mem]] = True
    if spec.probe_unit == "identity-mean":
        gen = identity_mean_rows(generated, [p.split(";") for p in trials["probes"]], dev,
                                 spec.normalise_embeddings)  # [T, D], one row per identity
    else:
        gen = generated_rows(generated, trials["probe"], dev, spec.normalise_embeddings)  # [T, D]
    gallery_of = {str(g): g for g in range(len(trials.aux["galleries"]))}
    gal = torch.from_numpy(trials["gallery"].lookup(gallery_of)).to(dev)  # [T]
    target = torch.from_numpy(trials["speaker"].lookup(index)).to(dev)  # [T]
    own = None
    if spec.gallery_source == "voxceleb" and spec.probe_unit == "utterance":  # TRUE_FACE_RULE: the speaker's own
        pool = pool_centroids(real, trials.aux["pools"], dev, spec.normalise_embeddings,  # centroid leaves out the
                              spec.normalise_centroid)  # [T, D]                         probe's video when it can
        own = cosine_similarity_rows(gen, pool)  # [T]
    ks = plan.info["ks"]
    hits = blockwise_topk_hits(gen, centroids, target, ks, own=own, allowed=members,
                               allowed_rows=gal)  # [T, len(ks)], [block, K] similarities at a time
    values = {f"R@{k}": hits[:, j] for j, k in enumerate(ks)}
    scores, strata = aggregate(values, trials["speaker"], trials["stratum"], spec, seed,
                               tiers=trials.aux.get("tiers") or None)
    size = plan.info["gallery_size"]
    info = {"chance": {f"R@{k}": k / size for k in ks}, "galleries": plan.info["galleries"], "gallery_size": size,
            "gallery_order": spec.gallery_order, "ks_scored": ks, "ks_capped": plan.info["ks_capped"],
            "similarity": "cosine of judge embeddings vs identity centroids",
            "ci": "one-way identity bootstrap over speakers, conditional on the fixed galleries"}
    for key in ("gallery_note", "gallery_note_first", "identities_not_scored", "probe_unit"):
        if key in plan.info:
            info[key] = plan.info[key]
    if plan.info["ks_capped"]:
        info["cap_reason"] = f"Recall@K with K ≥ the gallery size {size} is 1: K = {plan.info['ks_capped']} not scored"
    return TaskScores(scores=scores, strata=strata, info=info)
