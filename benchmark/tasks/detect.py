"""Task "detect": share of generated images in which the judge's face detector finds a face (``Generated.aligned``).

Trials (version 1): every utterance of every identity of ``spec.probe_split`` (nothing drawn at random). The same
rate on the usable gallery faces of those identities (``FaceTable.aligned``) is scored beside it as
``real_faces_detected`` (the reference a real photograph reaches). 95 % identity-bootstrap CI, per speaker gender.
"""

from __future__ import annotations

import torch

from benchmark.data.manifest import Face, Manifest
from benchmark.tasks.base import FaceTable, Generated, Plan, TaskScores, aggregate
from benchmark.tasks.trialsets import TrialTable, gallery_faces, gender_of, utterance_columns
from protocols.spec import ProtocolSpec

NEEDS = {"embedding"}


def faces_needed(manifest: Manifest, spec: ProtocolSpec) -> list[Face]:
    """Gallery-source faces of the probe split's identities (for the real-face reference rate)."""
    return gallery_faces(manifest, spec.probe_split, spec)


def build(manifest: Manifest, spec: ProtocolSpec, seed: int, real: FaceTable) -> Plan:
    """One trial per utterance of the probe split.

    Raises:
        ProtocolUnavailable: the split has no utterance.
    """
    cols = utterance_columns(manifest, spec)
    return Plan(trials=TrialTable(cols), probes=sorted(cols["probe"]))


def score(plan: Plan, generated: Generated, real: FaceTable, manifest: Manifest, spec: ProtocolSpec,
          device: str, seed: int) -> TaskScores:
    """``detected`` (generated) and ``real_faces_detected`` (reference): overall and per speaker gender."""
    trials: TrialTable = plan.trials
    dev = torch.device(device)
    g_index = generated.index()
    rows = torch.tensor([g_index[p] for p in trials["probe"]], dtype=torch.long, device=dev)  # [N]
    detected = torch.from_numpy(generated.aligned).to(dev)[rows].float()  # [N]
    scores, strata = aggregate({"detected": detected}, trials["speaker"], trials["stratum"], spec, seed)
    speakers = set(trials["speaker"])
    owner = {f.id: f.identity for f in manifest.faces if f.source == spec.gallery_source}
    keep = [i for i, f in enumerate(real.ids) if owner.get(f) in speakers]
    if keep:
        aligned = torch.from_numpy(real.aligned).to(dev)[torch.tensor(keep, dtype=torch.long, device=dev)].float()
        ids = [owner[real.ids[i]] for i in keep]
        s, st = aggregate({"real_faces_detected": aligned}, ids, [gender_of(manifest, i) for i in ids], spec, seed)
        scores.update(s)
        for name, metrics in st.items():
            strata.setdefault(name, {}).update(metrics)
    info = {"detector": "judge: dlib HOG frontal face detector, 1 upsampling step, image upscaled to ≥ 150 px",
            "reference": "real_faces_detected: the same detector on the usable gallery faces of the same identities"}
    return TaskScores(scores=scores, strata=strata, info=info)
