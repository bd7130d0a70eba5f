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
* ``retrieval-sf2f``: SF2F's own rule (BAI-Yeqi/SF2F_PyTorch, ``utils/s2f_evaluator.py``, ``S2fEvaluator`` with
  ``extraction_size=100``, ``face_gen_mode="average_facenet_embedding"``, ``cos_query``): identities sorted by id,
  and only the *first* 100 are queried (``pred_img_embedding[0:extraction_size]``); one query per identity — the
  mean of the (unit-norm) embeddings of the faces generated from all its utterances (identity-weighted) —
  against the centroids of the (unit-norm) per-image embeddings, not re-normalised
  (``get_dataset_embeddings``). With cosine ranking, centroid normalisation changes no rank; it is recorded so
  the two conventions read the same everywhere. Differences that remain: SF2F's judge is FaceNet (here the
  suite's judge), SF2F breaks ties by ``torch.topk`` order (here at random in expectation), and SF2F's test list
  order is its data loader's (here sorted by VoxCeleb1 id).
"""

from protocols.spec import ProtocolSpec

RETRIEVAL = ProtocolSpec(
    name="retrieval",
    version=2,
    task="retrieval",
    description="Recall@1/2/5/10 of the speaker among 100-identity galleries of test identity centroids",
    source=("this suite's generalisation of Recall@K of Bai et al., SF2F, ACM MM 2022 to every test identity "
            "(seeded 100-identity galleries, one query per utterance); SF2F's own rule is retrieval-sf2f"),
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
    version=2,
    task="retrieval",
    description="SF2F's rule: Recall@1/2/5/10 among the first 100 identities (sorted), one mean query per identity",
    source=("Bai et al., SF2F, ACM MM 2022; BAI-Yeqi/SF2F_PyTorch utils/s2f_evaluator.py (S2fEvaluator.cos_query, "
            "extraction_size=100, average_facenet_embedding)"),
    probe_unit="identity-mean",
    galleries_scored="first",
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
