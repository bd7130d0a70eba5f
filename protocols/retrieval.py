"""Retrieval Recall@K over 100-identity galleries (Bai et al., "Speech Fusion to Face" (SF2F), ACM MM 2022).

The face generated from a probe utterance is compared (cosine of judge embeddings) with the identity centroids
of a gallery of ``gallery_identities`` test identities that includes the speaker; Recall@K is 1 if the speaker's
centroid is among the K most similar (ties broken at random in expectation). Chance is K / gallery size.

Galleries: the usable test identities are put in order (``gallery_order``) and cut into consecutive groups of
``gallery_identities``; every identity's utterances are probes in exactly one gallery. A last group with fewer
identities is topped up with distractors drawn (seeded) from the other identities — distractors are gallery
members, not probes there — so every gallery has exactly ``gallery_identities``. With fewer test identities than
that, there is one smaller gallery of all of them, and K values not below its size are not scored; the result's
``info`` says so.

* ``retrieval``: identities in seeded random order; centroids of L2-normalised embeddings, re-normalised.
* ``retrieval-sf2f``: SF2F's convention as a named variant: identities sorted by id and sliced in consecutive
  blocks of 100 (SF2F's ``extraction_size``), centroids of the (unit-norm) per-image embeddings not re-normalised
  (``S2fEvaluator.get_dataset_embeddings`` / ``cos_query``). With cosine ranking, centroid normalisation does not
  change any rank; it is recorded so the two conventions read the same everywhere.
"""

from protocols.spec import ProtocolSpec

RETRIEVAL = ProtocolSpec(
    name="retrieval",
    version=1,
    task="retrieval",
    description="Recall@1/2/5/10 of the speaker among 100-identity galleries of test identity centroids",
    source="Bai et al., SF2F, ACM MM 2022 (retrieval Recall@K, 100-identity galleries)",
    ks=(1, 2, 5, 10),
    gallery_identities=100,
    gallery_order="seeded-shuffle",
    ground_truth="centroid",
    normalise_embeddings=True,
    normalise_centroid=True,
    trials_per_probe=1,
    metric="recall@K",
    tie_rule="random-expected",
)

RETRIEVAL_SF2F = ProtocolSpec(
    name="retrieval-sf2f",
    version=1,
    task="retrieval",
    description="SF2F convention: Recall@1/2/5/10 in sorted 100-identity blocks, centroids not re-normalised",
    source="Bai et al., SF2F, ACM MM 2022 (S2fEvaluator.cos_query: cosine, 100-identity extraction blocks)",
    ks=(1, 2, 5, 10),
    gallery_identities=100,
    gallery_order="sorted",
    ground_truth="centroid",
    normalise_embeddings=True,
    normalise_centroid=False,
    trials_per_probe=1,
    metric="recall@K",
    tie_rule="random-expected",
)
