"""Identification top-k, after Wen, Singh, Raj, "Reconstructing faces from voices", NeurIPS 2019, §4.2.

Wen et al. §4.2 classify generated faces with a face *classifier they trained* on the training identities and
report top-1 / top-5 among those seen identities, from recordings the model has not heard. No such classifier
ships with any paper, so this suite ranks the fixed judge's identity centroids instead: ``id-topk-seen`` keeps
Wen's setting (seen identities, unheard recordings) with another scorer; ``id-topk-open`` is this suite's own
open-set variant (no paper reports it).

The face generated from a probe utterance is ranked (cosine of judge embeddings) against the identity centroids
of a reference set — the mean of the L2-normalised judge embeddings of each reference identity's usable gallery
faces; the trial scores top-k 1 if the speaker's centroid is among the k most similar (ties broken at random in
expectation). Chance is k / (reference identities). k values not below the reference size are not scored (they
would be 1 for any generator) and the result's ``info`` says so.

* ``id-topk-seen``: reference = the training identities; probes = held-out utterances of training speakers: the
  utterances of each training speaker's lexicographically last video (``holdout="last-video"``,
  ``benchmark.data.heldout``), which no training path of this suite reads; a generator must declare that rule
  (``GeneratorMeta.holdout_rule``) to be scored on it. Needs ≥ 2 training identities with usable faces and ≥ 1 of them
  with utterances from ≥ 2 videos; otherwise it is unavailable (``ProtocolUnavailable``, with the reason).
* ``id-topk-open``: reference = the test identities; probes = all their utterances.
"""

from protocols.spec import ProtocolSpec

_SOURCE_SEEN = ("after Wen, Singh, Raj, NeurIPS 2019, §4.2 (identification among seen identities from unheard "
                "recordings); Wen's trained face classifier replaced by the judge's identity centroids")
_SOURCE_OPEN = "this suite's open-set variant of id-topk-seen (ranks unseen test identities); no paper reports it"

ID_TOPK_SEEN = ProtocolSpec(
    name="id-topk-seen",
    version=2,
    task="id-topk",
    description="identification top-1/5/10 among training identities; probes: held-out videos of training speakers",
    source=_SOURCE_SEEN,
    probe_split="train",
    reference_split="train",
    holdout="last-video",
    ks=(1, 5, 10),
    ground_truth="centroid",
    normalise_embeddings=True,
    normalise_centroid=True,
    trials_per_probe=1,
    metric="top-k accuracy",
    tie_rule="random-expected",
)

ID_TOPK_OPEN = ProtocolSpec(
    name="id-topk-open",
    version=2,
    task="id-topk",
    description="identification top-1/5/10 among the test identities (open set: unseen speakers)",
    source=_SOURCE_OPEN,
    probe_split="test",
    reference_split="test",
    holdout="",
    ks=(1, 5, 10),
    ground_truth="centroid",
    normalise_embeddings=True,
    normalise_centroid=True,
    trials_per_probe=1,
    metric="top-k accuracy",
    tie_rule="random-expected",
)
