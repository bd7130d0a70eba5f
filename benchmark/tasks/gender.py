"""Task "gender": gender consistency of the generated face with the speaker's metadata gender (Wen, Singh, Raj,
NeurIPS 2019, §4.2; AR-SPM Table 5), and the predictor's accuracy on real faces of the same identities (ceiling).

Trials (version 1): every utterance of every identity of ``spec.probe_split`` (nothing drawn at random); the
metadata gender is the truth. The gender of each generated face comes from the engine's ``attributes`` analyser
(``benchmark.judges.attributes``, column ``male``); the ceiling uses the same predictor, cached on disk, on the usable
(non-blank) gallery faces of the probe identities.

Score: ``gender_consistency`` per probe (1 if the predicted gender equals the metadata's), ``real_face_accuracy``
per real face; 95 % identity-bootstrap CIs, per speaker gender.
"""

from __future__ import annotations

import torch

from benchmark.data.manifest import Face, Manifest
from benchmark.metrics.pairwise import agreement
from benchmark.tasks.base import FaceTable, Generated, Plan, TaskScores, aggregate
from benchmark.tasks.trialsets import (TrialTable, gallery_faces, gender_of, generated_attributes,
                                       utterance_columns)
from protocols.spec import ProtocolSpec

NEEDS = {"embedding", "attributes"}


def faces_needed(manifest: Manifest, spec: ProtocolSpec) -> list[Face]:
    """Gallery-source faces of the probe split's identities (for the ceiling)."""
    return gallery_faces(manifest, spec.probe_split, spec)


def real_attributes(manifest: Manifest, spec: ProtocolSpec, real: FaceTable, identities: set[str]):
    """Attribute predictions on the usable gallery faces of ``identities`` (cached; ``benchmark.judges.attributes``).

    Returns:
        (face ids, their identities, float32 ``[F, 4]`` predictions in ``benchmark.judges.attributes.COLUMNS`` order).
    """
    from benchmark.judges.attributes import predict_faces

    usable = set(real.ids)
    faces = [f for f in gallery_faces(manifest, spec.probe_split, spec) if f.identity in identities and f.id in usable]
    ids, preds, _ = predict_faces(faces)
    owner = {f.id: f.identity for f in faces}
    return ids, [owner[i] for i in ids], preds


def build(manifest: Manifest, spec: ProtocolSpec, seed: int, real: FaceTable) -> Plan:
    """One trial per utterance of the probe split; predictions on the real faces for the ceiling.

    Raises:
        ProtocolUnavailable: the split has no utterance.
    """
    cols = utterance_columns(manifest, spec)
    face_ids, owners, preds = real_attributes(manifest, spec, real, set(cols["speaker"]))
    trials = TrialTable(cols, aux={"real_faces": face_ids, "real_owner": owners, "real_pred": preds})
    return Plan(trials=trials, probes=sorted(cols["probe"]), info={"real_faces_predicted": len(face_ids)})


def score(plan: Plan, generated: Generated, real: FaceTable, manifest: Manifest, spec: ProtocolSpec,
          device: str, seed: int) -> TaskScores:
    """``gender_consistency`` and the ceiling ``real_face_accuracy``: overall and per speaker gender."""
    from benchmark.judges.attributes import COLUMNS, info_dict

    trials: TrialTable = plan.trials
    dev = torch.device(device)
    attrs = generated_attributes(trials, generated, dev)  # [N, 4]
    male = COLUMNS.index("male")
    pred = attrs[:, male] > 0.5  # [N] bool
    truth = torch.tensor([s == "m" for s in trials["stratum"]], dtype=torch.bool, device=dev)  # [N]
    failed = attrs[:, male].isnan()  # [N] a failed (blank) generated face: wrong, never "female" by default
    scores, strata = aggregate({"gender_consistency": agreement(pred, truth).masked_fill(failed, 0.0)},
                               trials["speaker"], trials["stratum"], spec, seed)
    owners = trials.aux["real_owner"]
    info_model = info_dict()
    own = f"model:{info_model['id']}@{info_model['weights_sha256']}"
    sources = sorted({manifest.identity(s).gender_source for s in set(trials["speaker"])})
    if own in sources:  # the truth is this model's own labels (bench label): its accuracy on real faces is no ceiling
        owners = []
    if owners:
        real_pred = torch.from_numpy(trials.aux["real_pred"]).to(dev)[:, male] > 0.5  # [F]
        real_truth = torch.tensor([gender_of(manifest, o) == "m" for o in owners], dtype=torch.bool, device=dev)
        s, st = aggregate({"real_face_accuracy": agreement(real_pred, real_truth)}, owners,
                          [gender_of(manifest, o) for o in owners], spec, seed)
        scores.update(s)
        for name, metrics in st.items():
            strata.setdefault(name, {}).update(metrics)
    share_m = sum(x == "m" for x in trials["stratum"]) / len(trials)
    info = {"attribute_model": info_model,
            "truth": {"gender_sources": sources, "model_labels": any(x.startswith("model:") for x in sources)},
            "ceiling": ("none: the truth is this attribute model's own labels (bench label), so its accuracy on the "
                        "real faces would be a tautology, not a ceiling" if own in sources else
                        "real_face_accuracy: the predictor on the real gallery faces of the same identities"),
            "constant_gender_reference": {"always m": share_m, "always f": 1.0 - share_m},
            "generated_faces_detected_by_predictor": float(attrs[:, COLUMNS.index("face_detected")].nan_to_num(0.0).mean()),
            "failed_faces": int(failed.sum())}
    return TaskScores(scores=scores, strata=strata, info=info)
