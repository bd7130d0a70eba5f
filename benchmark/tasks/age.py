"""Task "age": age consistency of the generated face with the speaker (AR-SPM Table 6).

Trial rule, version 1 (``build``): identities of ``spec.probe_split`` with ≥ 1 utterance and ≥ 1 usable gallery
face; the speaker's reference age is the median of the ages the predictor (``benchmark.attributes``, cached)
reads from those faces, and the reference band is its band (``benchmark.metrics.age_band`` with
``spec.age_bands``: under 35 / 35–65 / over 65). One trial per utterance. The reference age and band are columns
of the trial file, so its sha256 pins them (they depend on the predictor, recorded in ``info``).

Score: the generated face's predicted age (engine ``attributes`` analyser) → ``band_accuracy`` (1 if its band is
the reference band) and ``abs_age_gap`` (|predicted − reference| in years); 95 % identity-bootstrap CIs, per
speaker gender.
"""

from __future__ import annotations

import numpy as np
import torch

from benchmark.data import Face, Manifest
from benchmark.metrics import age_band, agreement
from benchmark.tasks.base import FaceTable, Generated, Plan, TaskScores, aggregate
from benchmark.tasks.gender import real_attributes
from benchmark.tasks.trialsets import (TrialTable, gallery_faces, gender_of, generated_attributes,
                                       require_probe_gallery)
from protocols.spec import ProtocolSpec

NEEDS = {"embedding", "attributes"}
BAND_NAMES = {(35.0, 65.0): ["under 35", "35-65", "over 65"]}


def faces_needed(manifest: Manifest, spec: ProtocolSpec) -> list[Face]:
    """Gallery-source faces of the probe split's identities (the reference ages)."""
    return gallery_faces(manifest, spec.probe_split, spec)


def build(manifest: Manifest, spec: ProtocolSpec, seed: int, real: FaceTable) -> Plan:
    """One trial per utterance, with the speaker's reference age and band (rule in the module docstring).

    Raises:
        ProtocolUnavailable: no identity with a voice and a usable gallery face.
    """
    from benchmark.attributes import COLUMNS

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


def score(plan: Plan, generated: Generated, real: FaceTable, manifest: Manifest, spec: ProtocolSpec,
          device: str, seed: int) -> TaskScores:
    """``band_accuracy`` and ``abs_age_gap``: overall and per speaker gender."""
    from benchmark.attributes import COLUMNS, info_dict

    trials: TrialTable = plan.trials
    dev = torch.device(device)
    attrs = generated_attributes(trials, generated, dev)  # [N, 4]
    age = attrs[:, COLUMNS.index("age_years")].double()  # [N]
    ref_age = torch.tensor([float(a) for a in trials["ref_age"]], dtype=torch.float64, device=dev)  # [N]
    ref_band = torch.tensor([int(b) for b in trials["ref_band"]], dtype=torch.long, device=dev)  # [N]
    values = {"band_accuracy": agreement(age_band(age, spec.age_bands), ref_band),
              "abs_age_gap": (age - ref_age).abs().float()}
    scores, strata = aggregate(values, trials["speaker"], trials["stratum"], spec, seed)
    names = BAND_NAMES.get(tuple(spec.age_bands), [str(b) for b in range(len(spec.age_bands) + 1)])
    counts = torch.bincount(ref_band, minlength=len(names)).tolist()
    info = {"attribute_model": info_dict(), "age_bands": names,
            "reference": spec.age_reference,
            "reference_band_share": {n: c / len(trials) for n, c in zip(names, counts)},
            "reference_age_years": trials.aux["reference_age_years"],
            "generated_mean_age_years": float(age.mean()),
            "generated_faces_detected_by_predictor": float(attrs[:, COLUMNS.index("face_detected")].mean())}
    return TaskScores(scores=scores, strata=strata, info=info)
