"""Feature distances between the judge embedding of the generated face and the speaker's real face
(Speech2Face, Oh et al. CVPR 2019, §4; AR-SPM Table 4; SF2F, Bai et al. ACM MM 2022).

Per probe utterance, ``trials_per_probe`` trials each draw one usable gallery face of the speaker (seeded). Per
trial: L1, L2, cosine and the angle in degrees between the generated face's embedding and (a) that real face
("per image": metrics ``l1``, ``l2``, ``cosine``, ``angle_deg``) and (b) the speaker's identity centroid, the mean
of the embeddings of all the speaker's usable gallery faces ("centroid": ``l1@centroid`` …). Every convention is
a field: ``normalise_embeddings`` (each embedding L2-normalised first), ``normalise_centroid``, ``l1_reduction`` /
``l2_reduction`` (sum or mean over the 128 dimensions), ``distance_eps``.

* ``feature``: normalised embeddings, re-normalised centroid, summed L1, Euclidean L2, no eps.
* ``feature-sf2f``: SF2F's convention (``S2fEvaluator.get_metrics``): per-image embeddings unit-norm (FaceNet's
  output is), identity centroid = their mean *not* re-normalised, ``nn.PairwiseDistance`` L1 and L2 (summed over
  dimensions, eps 1e-6), cosine. Compare its ``@centroid`` metrics with SF2F's tables (their judge is FaceNet; ours
  is dlib's, so only the convention, not the scale, carries over).
"""

from protocols.spec import ProtocolSpec

FEATURE = ProtocolSpec(
    name="feature",
    version=1,
    task="feature",
    description="L1, L2, cosine, angle between generated and true face embeddings, per image and vs the centroid",
    source="Oh et al., Speech2Face, CVPR 2019, §4; AR-SPM Table 4; Bai et al., SF2F, ACM MM 2022",
    ground_truth="per-image and centroid",
    trials_per_probe=10,
    metric="distance",
    normalise_embeddings=True,
    normalise_centroid=True,
    l1_reduction="sum",
    l2_reduction="sum",
    distance_eps=0.0,
)

FEATURE_SF2F = ProtocolSpec(
    name="feature-sf2f",
    version=1,
    task="feature",
    description="SF2F convention: centroid not re-normalised, summed L1/L2 (PairwiseDistance, eps 1e-6), cosine",
    source="Bai et al., SF2F, ACM MM 2022 (S2fEvaluator.get_metrics: nn.PairwiseDistance p=1/p=2, eps 1e-6)",
    ground_truth="per-image and centroid",
    trials_per_probe=10,
    metric="distance",
    normalise_embeddings=True,
    normalise_centroid=False,
    l1_reduction="sum",
    l2_reduction="sum",
    distance_eps=1e-6,
)
