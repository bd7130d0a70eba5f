"""Task "age": age consistency of the generated face with the speaker (AR-SPM Table 6).

Trial rule, version 1 (``build``): identities of ``spec.probe_split`` with ≥ 1 utterance and ≥ 1 usable gallery
face; the speaker's reference age is the median of the ages the predictor (``benchmark.judges.attributes``, cached)
reads from those faces, and the reference band is its band (``benchmark.metrics.pairwise.age_band`` with
``spec.age_bands``: under 35 / 35–65 / over 65). One trial per utterance. The reference age and band are columns
of the trial file, so its sha256 pins them (they depend on the predictor, recorded in ``info``).

Score: the generated face's predicted age (engine ``attributes`` analyser) → ``band_accuracy`` (1 if its band is
the reference band) and ``abs_age_gap`` (|predicted − reference| in years); 95 % identity-bootstrap CIs, per
speaker gender.

Human bands (``spec.age_reference`` starting "human"; vox1-s2f, ``benchmark.data.datasets.HUMAN_AGE_BANDS``): the truth
of each probe is the age band a human gave its clip (``benchmark.data.clip_labels``: 20-39 / 40-59 / >=60, annotated by
the Speech2Face authors), not an age predicted from a real face. One trial per probe utterance with a band (clips
without one are excluded, counted per identity); ``ref_band`` is that band's index and there is no ``ref_age``.
Score: ``band_accuracy`` only (a human band has no age to take a gap from), and ``real_face_band_accuracy``: the
predictor's band on the real crop of each probe's own clip vs the clip's human band — how well the predictor agrees
with the humans, i.e. the ceiling a generator can reach under this predictor.

Manifest labels (``spec.age_reference`` starting "manifest": a dataset manifest whose identities carry ages,
``benchmark.data.datasets.manifest_age_fields``): the truth is each identity's age label with its source;
``benchmark.tasks.age_labels`` builds and scores those trials.
"""

from __future__ import annotations

import numpy as np
import torch

from benchmark.data.manifest import Face, Manifest
from benchmark.metrics.pairwise import AGE_BAND_NAMES, age_band, agreement
from benchmark.tasks.base import FaceTable, Generated, Plan, TaskScores, aggregate
from benchmark.tasks.gender import real_attributes
from benchmark.tasks.trialsets import (TrialTable, gallery_faces, gender_of, generated_attributes,
                                       require_probe_gallery)
from protocols.spec import ProtocolSpec

NEEDS = {"embedding", "attributes"}
BAND_NAMES = AGE_BAND_NAMES


def faces_needed(manifest: Manifest, spec: ProtocolSpec) -> list[Face]:
    """Gallery-source faces of the probe split's identities (the reference ages)."""
    return gallery_faces(manifest, spec.probe_split, spec)


def build(manifest: Manifest, spec: ProtocolSpec, seed: int, real: FaceTable) -> Plan:
    """One trial per utterance, with the speaker's reference age and band (rule in the module docstring).

    Raises:
        ProtocolUnavailable: no identity with a voice and a usable gallery face.
    """
    from benchmark.judges.attributes import COLUMNS

    if spec.age_reference.startswith("human"):
        return build_human(manifest, spec, real)
    if spec.age_reference.startswith("manifest"):
        from benchmark.tasks import age_labels

        return age_labels.build(manifest, spec, real)
    gallery, excluded = require_probe_gallery(manifest, spec, set(real.ids))
    _, owners, preds = real_attributes(manifest, spec, real, set(gallery))
    ages = preds[:, COLUMNS.index("age_years")]
    ref_age = {ident: float(np.median([a for a, o in zip(ages, owners) if o == ident])) for ident in gallery}
    ref_band = age_band(torch.tensor([ref_age[i] for i in sorted(gallery)], dtype=torch.float64), spec.age_bands)
    band_of = dict(zip(sorted(gallery), ref_band.tolist()))
    cols: dict[str, list[str]] = {c: [] for c in ("probe", "speaker", "ref_age", "ref_band", "stratum")}
    for ident in sorted(gallery):
        for utt in manifest.utterances_of(ident):
            cols["probe"].append(utt.id)
            cols["speaker"].append(ident)
            cols["ref_age"].append(f"{ref_age[ident]:.1f}")
            cols["ref_band"].append(str(band_of[ident]))
            cols["stratum"].append(gender_of(manifest, ident))
    trials = TrialTable(cols, context={"age_bands": ";".join(f"{e:g}" for e in spec.age_bands)}, excluded=excluded,
                        aux={"reference_age_years": {i: ref_age[i] for i in sorted(gallery)}})
    return Plan(trials=trials, probes=sorted(set(cols["probe"])), info={"real_faces_predicted": len(owners)})


def build_human(manifest: Manifest, spec: ProtocolSpec, real: FaceTable) -> Plan:
    """One trial per probe utterance whose clip has a human age band (module docstring, "Human bands").

    Raises:
        DataError: clip_attributes.csv is missing or malformed (``benchmark.data.clip_labels``).
        ProtocolUnavailable: no probe utterance has a human age band.
    """
    from benchmark.data.clip_labels import read_clip_labels
    from benchmark.errors import ProtocolUnavailable

    labels = read_clip_labels(manifest.root)
    cols: dict[str, list[str]] = {c: [] for c in ("probe", "speaker", "ref_band", "stratum")}
    missing: dict[str, int] = {}
    for ident in manifest.split(spec.probe_split):
        for utt in manifest.utterances_of(ident.id):
            label = labels.get(utt.id)
            if label is None or label.band_index is None:
                missing[ident.id] = missing.get(ident.id, 0) + 1
                continue
            cols["probe"].append(utt.id)
            cols["speaker"].append(ident.id)
            cols["ref_band"].append(str(label.band_index))
            cols["stratum"].append(gender_of(manifest, ident.id))
    excluded = [{"identity": i, "reason": f"{n} clip(s) without a human age band in clip_attributes.csv"}
                for i, n in sorted(missing.items())]
    if not cols["probe"]:
        raise ProtocolUnavailable(f"protocol {spec.name!r}: no {spec.probe_split} clip of dataset "
                                  f"{manifest.dataset_id!r} has a human age band.")
    face_ids, owners, preds = real_attributes(manifest, spec, real, set(cols["speaker"]))
    crop_row = {f: r for r, f in enumerate(face_ids)}
    band_of = dict(zip(cols["probe"], cols["ref_band"]))
    crops = [(u, crop_row["voxceleb/" + u]) for u in cols["probe"] if "voxceleb/" + u in crop_row]
    trials = TrialTable(cols, context={"age_bands": ";".join(f"{e:g}" for e in spec.age_bands),
                                       "reference": "human age band per clip (clip_attributes.csv)"},
                        excluded=excluded,
                        aux={"real_probe": [u for u, _ in crops], "real_band": [int(band_of[u]) for u, _ in crops],
                             "real_pred": preds[[r for _, r in crops]] if crops else preds[:0]})
    info = {"reference": "human", "clips_without_band": sum(missing.values()), "real_crops_predicted": len(crops)}
    return Plan(trials=trials, probes=sorted(set(cols["probe"])), info=info)


def score_human(plan: Plan, generated: Generated, manifest: Manifest, spec: ProtocolSpec, device: str,
                seed: int) -> TaskScores:
    """``band_accuracy`` against the human bands, the predictor's ceiling ``real_face_band_accuracy`` and the
    baseline ``majority_band_accuracy`` (the commonest human band said for every clip); ``band_accuracy`` is flagged
    when the ceiling's interval does not lie above the baseline's (issue 20 §5)."""
    from benchmark.judges.attributes import COLUMNS, info_dict

    trials: TrialTable = plan.trials
    dev = torch.device(device)
    attrs = generated_attributes(trials, generated, dev)  # [N, 4]
    age = attrs[:, COLUMNS.index("age_years")].double()  # [N] years; NaN for a failed face
    ref_band = torch.tensor([int(b) for b in trials["ref_band"]], dtype=torch.long, device=dev)  # [N]
    failed = age.isnan()  # [N] a failed (blank) face: band wrong
    values = {"band_accuracy": agreement(age_band(age, spec.age_bands), ref_band).masked_fill(failed, 0.0)}
    scores, strata = aggregate(values, trials["speaker"], trials["stratum"], spec, seed)
    probes = trials.aux["real_probe"]
    if probes:
        real_age = torch.from_numpy(np.asarray(trials.aux["real_pred"], dtype=np.float64)[:, COLUMNS.index("age_years")])
        real_band = torch.tensor(trials.aux["real_band"], dtype=torch.long)  # [C]
        owners = [p.split("/", 1)[0] for p in probes]
        s, st = aggregate({"real_face_band_accuracy": agreement(age_band(real_age, spec.age_bands), real_band)},
                          owners, [gender_of(manifest, o) for o in owners], spec, seed)
        scores.update(s)
        for name, metrics in st.items():
            strata.setdefault(name, {}).update(metrics)
    names = BAND_NAMES.get(tuple(spec.age_bands), [str(b) for b in range(len(spec.age_bands) + 1)])
    counts = torch.bincount(ref_band, minlength=len(names)).tolist()
    # issue 20 §5: the commonest band, said for every clip, beside the predictor's real-face agreement
    majority = (ref_band == int(np.argmax(counts))).double()  # [N] 1 where the commonest band is right
    base, base_strata = aggregate({"majority_band_accuracy": majority}, trials["speaker"], trials["stratum"], spec, seed)
    scores.update(base)
    for name, metrics in base_strata.items():
        strata.setdefault(name, {}).update(metrics)
    ceiling = scores.get("real_face_band_accuracy")
    if ceiling and not (ceiling["ci95"][0] > base["majority_band_accuracy"]["ci95"][1]):
        reason = (f"the predictor's band on real faces ({ceiling['value']:.3f} [{ceiling['ci95'][0]:.3f}, "
                  f"{ceiling['ci95'][1]:.3f}]) is not above the commonest band said for every clip "
                  f"({base['majority_band_accuracy']['value']:.3f} [{base['majority_band_accuracy']['ci95'][0]:.3f}, "
                  f"{base['majority_band_accuracy']['ci95'][1]:.3f}]): this protocol cannot separate generators here")
        scores["band_accuracy"]["flag"] = "; ".join(filter(None, [scores["band_accuracy"].get("flag"), reason]))
    info = {"attribute_model": info_dict(), "age_bands": names, "reference": spec.age_reference,
            "reference_band_share": {n: c / len(trials) for n, c in zip(names, counts)},
            "chance": {"most frequent band": max(counts) / len(trials)},
            "ceiling": "real_face_band_accuracy: the predictor's band on the real crop of each probe's own clip vs "
                       "the clip's human band",
            "clips_without_band": plan.info.get("clips_without_band", 0),
            "generated_mean_age_years": float(age.nanmean()),
            "generated_faces_detected_by_predictor": float(attrs[:, COLUMNS.index("face_detected")].nan_to_num(0.0).mean()),
            "failed_faces": int(failed.sum())}
    return TaskScores(scores=scores, strata=strata, info=info)


def score(plan: Plan, generated: Generated, real: FaceTable, manifest: Manifest, spec: ProtocolSpec,
          device: str, seed: int) -> TaskScores:
    """``band_accuracy`` and ``abs_age_gap``: overall and per speaker gender."""
    from benchmark.judges.attributes import COLUMNS, info_dict

    trials: TrialTable = plan.trials
    if plan.info.get("reference") == "manifest":
        from benchmark.tasks import age_labels

        return age_labels.score(plan, generated, manifest, spec, device, seed)
    if "ref_age" not in trials.columns:
        return score_human(plan, generated, manifest, spec, device, seed)
    dev = torch.device(device)
    attrs = generated_attributes(trials, generated, dev)  # [N, 4]
    age = attrs[:, COLUMNS.index("age_years")].double()  # [N]
    ref_age = torch.tensor([float(a) for a in trials["ref_age"]], dtype=torch.float64, device=dev)  # [N]
    ref_band = torch.tensor([int(b) for b in trials["ref_band"]], dtype=torch.long, device=dev)  # [N]
    failed = age.isnan()  # [N] failed (blank) generated faces: band wrong, gap undefined (NaN: excluded, counted)
    values = {"band_accuracy": agreement(age_band(age, spec.age_bands), ref_band).masked_fill(failed, 0.0),
              "abs_age_gap": (age - ref_age).abs().float()}
    scores, strata = aggregate(values, trials["speaker"], trials["stratum"], spec, seed)
    names = BAND_NAMES.get(tuple(spec.age_bands), [str(b) for b in range(len(spec.age_bands) + 1)])
    counts = torch.bincount(ref_band, minlength=len(names)).tolist()
    # issue 20 §5: the commonest band, said for every clip, beside the predictor's real-face agreement
    majority = (ref_band == int(np.argmax(counts))).double()  # [N] 1 where the commonest band is right
    base, base_strata = aggregate({"majority_band_accuracy": majority}, trials["speaker"], trials["stratum"], spec, seed)
    scores.update(base)
    for name, metrics in base_strata.items():
        strata.setdefault(name, {}).update(metrics)
    ceiling = scores.get("real_face_band_accuracy")
    if ceiling and not (ceiling["ci95"][0] > base["majority_band_accuracy"]["ci95"][1]):
        reason = (f"the predictor's band on real faces ({ceiling['value']:.3f} [{ceiling['ci95'][0]:.3f}, "
                  f"{ceiling['ci95'][1]:.3f}]) is not above the commonest band said for every clip "
                  f"({base['majority_band_accuracy']['value']:.3f} [{base['majority_band_accuracy']['ci95'][0]:.3f}, "
                  f"{base['majority_band_accuracy']['ci95'][1]:.3f}]): this protocol cannot separate generators here")
        scores["band_accuracy"]["flag"] = "; ".join(filter(None, [scores["band_accuracy"].get("flag"), reason]))
    info = {"attribute_model": info_dict(), "age_bands": names,
            "reference": spec.age_reference,
            "reference_band_share": {n: c / len(trials) for n, c in zip(names, counts)},
            "reference_age_years": trials.aux["reference_age_years"],
            "generated_mean_age_years": float(age.nanmean()),
            "generated_faces_detected_by_predictor": float(attrs[:, COLUMNS.index("face_detected")].nan_to_num(0.0).mean()),
            "failed_faces": int(failed.sum())}
    return TaskScores(scores=scores, strata=strata, info=info)
