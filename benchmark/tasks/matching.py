"""Task "match-1to2": 1:2 voice-to-face matching (Wen, Singh, Raj, NeurIPS 2019, Table 3).

Trials: ``benchmark.trials.builders.build_match_trials``. Score: the ``benchmark.metrics.pairwise.match_1to2`` outcome from cosine
similarities of judge embeddings L2-normalised once per table and gathered per trial block by block
(``benchmark.metrics.pairwise.gathered_dot``, memory bounded), accuracy with a 95 % CI, per speaker gender. A trial involves two
identities (speaker and imposter, from one population), so the CI is the two-way pigeonhole bootstrap of
``benchmark.metrics.aggregate`` (trial weight ``m[speaker] * m[imposter]``; Owen, Ann. Appl. Stat. 1(2), 2007).
"""

from __future__ import annotations

import torch

from benchmark.data.manifest import Face, Manifest
from benchmark.metrics.pairwise import COSINE_EPS, gathered_dot, l2_normalise, match_1to2_similarities
from benchmark.tasks.base import FaceTable, Generated, Plan, TaskScores, aggregate
from benchmark.trials.builders import build_match_trials, trial_tiers
from protocols.spec import ProtocolSpec

NEEDS = {"embedding"}


def faces_needed(manifest: Manifest, spec: ProtocolSpec) -> list[Face]:
    """Gallery-source faces of the probe split's identities."""
    ids = {i.id for i in manifest.split(spec.probe_split)}
    return [f for f in manifest.faces if f.identity in ids and f.source == spec.gallery_source]


def build(manifest: Manifest, spec: ProtocolSpec, seed: int, real: FaceTable) -> Plan:
    """Seeded 1:2 trials over the usable (embedded) faces; probes are the trials' utterances."""
    trials = build_match_trials(manifest, spec, seed, set(real.ids))
    info = {"true_face": trials.true_face_tiers} if trials.true_face_tiers else {}
    return Plan(trials=trials, probes=trials.probe.distinct(), info=info)


def score(plan: Plan, generated: Generated, real: FaceTable, manifest: Manifest, spec: ProtocolSpec,
          device: str, seed: int) -> TaskScores:
    """Accuracy of 1:2 matching: overall and per speaker gender."""
    trials = plan.trials
    dev = torch.device(device)
    gen = l2_normalise(torch.from_numpy(generated.vectors).to(dev), COSINE_EPS)  # [U, D] unit, once per table
    faces = l2_normalise(torch.from_numpy(real.vectors).to(dev), COSINE_EPS)  # [F, D] unit, once per table
    gi = torch.from_numpy(trials.probe.lookup(generated.index())).to(dev)  # [N]
    f_index = real.index()
    ti = torch.from_numpy(trials.true_face.lookup(f_index)).to(dev)  # [N]
    ii = torch.from_numpy(trials.imposter_face.lookup(f_index)).to(dev)  # [N]
    values = match_1to2_similarities(gathered_dot(gen, gi, faces, ti), gathered_dot(gen, gi, faces, ii))  # [N]
    scores, strata = aggregate({spec.metric: values}, trials.speaker, trials.stratum, spec, seed,
                               imposters=trials.imposter, tiers=trial_tiers(spec, trials.probe, trials.true_face))
    info = {"chance": 0.5, "ci": "two-way pigeonhole bootstrap over speaker and imposter identities"}
    return TaskScores(scores=scores, strata=strata, info=info)
