"""Identification top-k (Wen, Singh, Raj, "Reconstructing faces from voices", NeurIPS 2019, §4.2).

The face generated from a probe utterance is ranked (cosine of judge embeddings) against the identity centroids
of a reference set — the mean of the L2-normalised judge embeddings of each reference identity's usable gallery
faces; the trial scores top-k 1 if the speaker's centroid is among the k most similar (ties broken at random in
expectation). Chance is k / (reference identities). k values not below the reference size are not scored (they
would be 1 for any generator) and the result's ``info`` says so.

* ``id-topk-seen``: reference = the training identities; probes = held-out utterances of training speakers: the
  utterances of each training speaker's lexicographically last video (``holdout="last-video"``), so a generator
  trained on the other videos has not heard them. Needs ≥ 2 training identities with usable faces and ≥ 1 of them
  with utterances from ≥ 2 videos; otherwise it is unavailable (``ProtocolUnavailable``, with the reason).
* ``id-topk-open``: reference = the test identities; probes = all their utterances.
"""

from protocols.spec import ProtocolSpec

_SOURCE = "Wen, Singh, Raj, NeurIPS 2019, §4.2 (identification among identity centroids, top-1/5/10)"

ID_TOPK_SEEN = ProtocolSpec(
    name="id-topk-seen",
    version=1,
    task="id-topk",
    description="identification top-1/5/10 among training identities; probes: held-out videos of training speakers",
    source=_SOURCE,
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
    version=1,
    task="id-topk",
    description="identification top-1/5/10 among the test identities (open set: unseen speakers)",
    source=_SOURCE,
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
