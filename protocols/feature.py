"""Feature distances between the judge embedding of the generated face and the speaker's real face
(Speech2Face, Oh et al. CVPR 2019, §4; AR-SPM Table 4; SF2F, Bai et al. ACM MM 2022).

Per probe utterance, ``trials_per_probe`` trials each draw one usable gallery face of the speaker (seeded). Per
trial: L1, L2, cosine and the angle in degrees between the generated face's embedding and (a) that real face
("per image": metrics ``l1``, ``l2``, ``cosine``, ``angle_deg``) and (b) the speaker's identity centroid, the mean
of the embeddings of all the speaker's usable gallery faces ("centroid": ``l1@centroid`` …). Every convention is
a field: ``normalise_embeddings`` (each embedding L2-normalised first), ``normalise_centroid``, ``l1_reduction`` /
``l2_reduction`` (sum or mean over the 128 dimensions), ``distance_eps``.

* ``feature``: normalised embeddings, re-normalised centroid, summed L1, Euclidean L2, no eps.
* ``feature-sf2f``: SF2F's own rule (BAI-Yeqi/SF2F_PyTorch, ``utils/s2f_evaluator.py``,
  ``S2fEvaluator.get_metrics`` with ``face_gen_mode="average_facenet_embedding"``): one comparison per identity
  (identity-weighted): the mean of the unit-norm embeddings of the faces generated from all the identity's
  utterances against the identity centroid — the mean of its unit-norm real-face embeddings, *not*
  re-normalised — with ``nn.PairwiseDistance(centroid, generated)`` L1 and L2 (summed over dimensions of
  ``centroid - generated + 1e-6``, SF2F's argument order; version 3, where version 2 added the eps to
  ``generated - centroid``) and cosine; metrics
  ``l1@centroid``, ``l2@centroid``, ``cosine@centroid``, ``angle_deg@centroid`` (SF2F has no per-image truth).
  SF2F scores every test identity here (its feature metrics use the whole dataset embedding, not the first
  100). Their judge is FaceNet; ours is the suite's, so only the convention, not the scale, carries over.
"""

from protocols.spec import ProtocolSpec

FEATURE = ProtocolSpec(
    name="feature",
    version=2,
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
    version=3,
    task="feature",
    description="SF2F's rule: one mean generated embedding per identity vs its centroid (not re-normalised), L1/L2/cos",
    source=("Bai et al., SF2F, ACM MM 2022; BAI-Yeqi/SF2F_PyTorch utils/s2f_evaluator.py (S2fEvaluator.get_metrics: "
            "nn.PairwiseDistance p=1/p=2 eps 1e-6, cosine; average_facenet_embedding)"),
    ground_truth="centroid",
    trials_per_probe=1,
    probe_unit="identity-mean",
    metric="distance",
    normalise_embeddings=True,
    normalise_centroid=False,
    l1_reduction="sum",
    l2_reduction="sum",
    distance_eps=1e-6,
)
