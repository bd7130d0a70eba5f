"""Task "id-topk": identification of the speaker among identity centroids (Wen, Singh, Raj, NeurIPS 2019, §4.2).

Trial rule, version 1 (``build``):
  * reference set: identities of ``spec.reference_split`` with ≥ 1 utterance and ≥ 1 usable gallery face, sorted;
    it must hold ≥ 2 identities.
  * probes: ``holdout=""``: every utterance of every reference identity; ``holdout="last-video"``: for each
    reference identity with utterances from ≥ 2 videos, the utterances of its lexicographically last video (a
    fixed rule, independent of the seed, so a generator can be trained without those videos); identities with one
    video stay in the reference set but give no probe (listed in ``excluded``).
  * VoxCeleb1-crop gallery (``benchmark.trials.builders.TRUE_FACE_RULE``): the speaker's own centroid in a trial is that of
    the probe's ``true_face_pool`` (faces of other videos when the speaker has any); the result counts the tiers.
  * nothing is drawn at random; the trial file lists the probes and, in its context lines, the reference set and
    the held-out videos, so its sha256 pins both.

Score: cosine similarities ``[T, R]`` of generated faces against the reference centroids, computed and ranked block
by block within a memory budget (``benchmark.metrics.pairwise.blockwise_topk_hits``) (mean of the
L2-normalised embeddings of each identity's gallery faces), ``benchmark.metrics.pairwise.topk_hits`` for the k values of
``spec.ks`` below R (top-k ≥ R is 1 for any generator: not scored, stated in ``info``); 95 % identity-bootstrap CI,
per speaker gender. The CI is the one-way bootstrap over speakers (``benchmark.metrics.aggregate``): it is conditional on the
fixed reference set — the R centroids every probe is ranked against are not resampled — as ``info["ci"]`` says.
"""

from __future__ import annotations

import torch

from benchmark.data.manifest import Face, Manifest
from benchmark.errors import ProtocolUnavailable
from benchmark.data.heldout import HOLDOUT_RULE, held_out_videos
from benchmark.metrics.pairwise import blockwise_topk_hits, cosine_similarity_rows
from benchmark.tasks.base import FaceTable, Generated, Plan, TaskScores, aggregate
from benchmark.tasks.trialsets import (TrialTable, centroid_table, gallery_faces, gender_of, generated_rows,
                                       pool_centroids, tier_counts, true_face_pool, usable_gallery)
from protocols.spec import ProtocolSpec

NEEDS = {"embedding"}


def faces_needed(manifest: Manifest, spec: ProtocolSpec) -> list[Face]:
    """Gallery-source faces of the reference split's identities (training faces for the "seen" variant)."""
    return gallery_faces(manifest, spec.reference_split, spec)


def build(manifest: Manifest, spec: ProtocolSpec, seed: int, real: FaceTable) -> Plan:
    """Probes and reference set (rule in the module docstring).

    Raises:
        ProtocolUnavailable: fewer than two reference identities, or (held-out variant) no reference identity
            with utterances from two or more videos. The message names the dataset and the counts.
    """
    gallery, excluded = usable_gallery(manifest, spec.reference_split, spec, set(real.ids))
    reference = sorted(gallery)
    if len(reference) < 2:
        raise ProtocolUnavailable(
            f"protocol {spec.name!r} ranks the speaker among the {spec.reference_split} identities, so it needs at "
            f"least two {spec.reference_split} identities with voices and usable {spec.gallery_source} faces; dataset "
            f"{manifest.dataset_id!r} has {len(reference)} ({', '.join(reference) or 'none'})."
            + (f" Excluded: {excluded}" if excluded else ""))
    probes: list[str] = []
    held_out: list[str] = []
    held_video = held_out_videos(manifest, spec.reference_split) if spec.holdout == "last-video" else {}
    for ident in reference:
        utts = manifest.utterances_of(ident)
        if spec.holdout == "last-video":
            if ident not in held_video:
                excluded.append({"identity": ident, "reason": "utterances from only one video: none can be held "
                                                              "out (kept in the reference set)"})
                continue
            held_out.append(f"{ident}/{held_video[ident]}")
            probes += [u.id for u in utts if u.video == held_video[ident]]
        elif spec.holdout == "":
            probes += [u.id for u in utts]
        else:
            raise ProtocolUnavailable(f"protocol {spec.name!r}: unknown holdout rule {spec.holdout!r}.")
    if not probes:
        raise ProtocolUnavailable(
            f"protocol {spec.name!r} needs a {spec.reference_split} identity with utterances from at least two videos "
            f"(the last video is held out as probes); dataset {manifest.dataset_id!r} has none. Excluded: {excluded}")
    ks = [k for k in spec.ks if k < len(reference)]
    capped = [k for k in spec.ks if k >= len(reference)]
    speakers = [p.split("/", 1)[0] for p in probes]
    pools_tiers = [true_face_pool(spec, p, gallery[s]) for p, s in zip(probes, speakers)]
    context = {"reference_identities": ";".join(reference)}
    if spec.holdout:
        context["held_out_videos"] = ";".join(held_out)
    trials = TrialTable({"probe": probes, "speaker": speakers, "stratum": [gender_of(manifest, s) for s in speakers]},
                        context=context, excluded=excluded, aux={"gallery": gallery, "reference": reference,
                                                                 "pools": [p for p, _ in pools_tiers],
                                                                 "tiers": [t for _, t in pools_tiers]})
    info = {"reference_identities": len(reference), "ks": ks, "ks_capped": capped}
    if tier_counts([t for _, t in pools_tiers]):
        info["true_face"] = tier_counts([t for _, t in pools_tiers])
    if spec.holdout:
        info["held_out_videos"] = len(held_out)
        info["holdout_rule"] = HOLDOUT_RULE
    return Plan(trials=trials, probes=sorted(set(probes)), info=info)


def score(plan: Plan, generated: Generated, real: FaceTable, manifest: Manifest, spec: ProtocolSpec,
          device: str, seed: int) -> TaskScores:
    """Top-k accuracy for every scored k: overall and per speaker gender."""
    trials: TrialTable = plan.trials
    dev = torch.device(device)
    reference: list[str] = trials.aux["reference"]
    centroids = centroid_table(real, trials.aux["gallery"], reference, dev, spec.normalise_embeddings,
                               spec.normalise_centroid)  # [R, D]
    gen = generated_rows(generated, trials["probe"], dev, spec.normalise_embeddings)  # [T, D]
    ref_index = {ident: k for k, ident in enumerate(reference)}
    target = torch.from_numpy(trials["speaker"].lookup(ref_index)).to(dev)  # [T]
    ks = plan.info["ks"]
    own = None
    if spec.gallery_source == "voxceleb":  # TRUE_FACE_RULE: the speaker's centroid leaves out the probe's video
        pool = pool_centroids(real, trials.aux["pools"], dev, spec.normalise_embeddings, spec.normalise_centroid)
        own = cosine_similarity_rows(gen, pool)  # [T]
    hits = blockwise_topk_hits(gen, centroids, target, ks, own=own)  # [T, K], [block, R] similarities at a time
    values = {f"top-{k}": hits[:, j] for j, k in enumerate(ks)}
    scores, strata = aggregate(values, trials["speaker"], trials["stratum"], spec, seed,
                               tiers=trials.aux.get("tiers") or None)
    info = {"chance": {f"top-{k}": k / len(reference) for k in ks}, "reference_identities": len(reference),
            "reference_split": spec.reference_split, "ks_scored": ks, "ks_capped": plan.info["ks_capped"],
            "similarity": "cosine of judge embeddings vs identity centroids",
            "ci": "one-way identity bootstrap over speakers, conditional on the fixed reference set"}
    if plan.info["ks_capped"]:
        info["cap_reason"] = (f"top-k with k ≥ {len(reference)} reference identities is 1 for any generator: "
                              f"k = {plan.info['ks_capped']} not scored")
    return TaskScores(scores=scores, strata=strata, info=info)
