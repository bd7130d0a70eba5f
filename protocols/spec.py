"""Protocol definitions as data (frozen dataclasses), as MTEB's task metadata is.

Every convention a paper left implicit is a field here and is printed in each result.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class ProtocolSpec:
    """One versioned scoring protocol.

    Attributes:
        name: registry name (``bench run --protocol NAME``).
        version: bumped whenever any field or the trial rule changes; results record it.
        task: the trial rule and metric family, e.g. "match-1to2".
        description: one line for ``bench ls protocols``.
        source: the paper, section and table the convention follows.
        stratify_by: None, or "gender" to draw imposters from the speaker's gender.
        probe_split: the split whose identities are probes ("test": Wen et al.'s A–E identities).
        gallery_source: the face source used as true and imposter faces ("vggface": VGGFace1 crops, as in
            Wen et al.); reference generators never draw from it.
        trials_per_probe: trials drawn for every probe utterance (each with its own true and imposter face).
        similarity: how a generated face is compared with a real one ("cosine" of judge embeddings).
        ground_truth: "per-image" (one real face per trial) or "centroid".
        tie_rule: how a trial whose two similarities are equal is scored ("half": 0.5, chance's expectation).
        metric: the per-trial quantity averaged ("accuracy").
        bootstrap: bootstrap resamples over identities for the 95 % CI.
        ci_level: the confidence level of the interval.
        ns: 1:N matching, the N values scored (N − 1 imposters per trial; one metric ``acc@N=n`` each).
        ks: identification top-k / retrieval Recall@K values (one metric each).
        gallery_identities: retrieval, identities per gallery (SF2F: 100); None where not used.
        gallery_order: retrieval, how test identities are cut into galleries: "seeded-shuffle" or "sorted"
            (consecutive blocks of the identities sorted by id, as SF2F slices its test list).
        reference_split: identification, the split whose identity centroids are ranked ("train": seen,
            "test": open); None where not used.
        holdout: identification "seen", which utterances of a training speaker are probes ("last-video":
            the utterances of the speaker's lexicographically last video; the other videos are the ones a
            generator may train on).
        normalise_embeddings: L2-normalise each judge embedding (generated and real) before any distance.
        normalise_centroid: L2-normalise an identity centroid after averaging (False: SF2F's convention).
        l1_reduction: "sum" (over the D dimensions, torch.nn.PairwiseDistance(p=1)) or "mean".
        l2_reduction: "sum" (sqrt of the summed squares: Euclidean) or "mean" (sqrt of the mean square).
        distance_eps: added to every difference before L1/L2, as torch.nn.PairwiseDistance does (SF2F: 1e-6).
        attribute_model: the gender/age predictor the protocol scores with ("" where none).
        age_bands: age band edges in years: (35, 65) gives under 35 / 35–65 (both ends included) / over 65.
        age_reference: how a speaker's reference age is formed from the predictions on their real faces.
        probe_unit: "utterance" (one trial per probe utterance: utterance-weighted) or "identity-mean" (SF2F's
            ``S2fEvaluator`` with ``face_gen_mode="average_facenet_embedding"``: the judge embeddings of the faces
            generated from all of an identity's probe utterances, normalised first when
            ``normalise_embeddings``, are averaged — not re-normalised — into one vector; one trial per identity:
            identity-weighted).
            Headline weighting: every summary's ``value`` is the mean over the protocol's trials, so with
            ``"utterance"`` a speaker weighs by its probe utterances (utterance-weighted): the convention of Wen et
            al. 2019 (1:2 trials drawn per test utterance), kept as the headline so that the suite's numbers compare
            with theirs (``"identity-mean"`` protocols, SF2F's, are identity-weighted by construction). Because a speaker with more clips weighs more (vox1-s2f: 1 to
            8 clips per identity), every summary also carries ``value_identity_weighted`` and its interval, the
            mean of the per-speaker means (``benchmark.metrics.aggregate.summarize``); where the two differ the
            population is unbalanced and both are shown (leaderboard CSVs; the tier table under a vox1-s2f table).
            On a VoxCeleb1-crop gallery the headline is also restricted to the trials whose true face comes from
            another video than the probe's (``benchmark.tasks.base.HEADLINE_TIER``), each tier scored apart.
        galleries_scored: retrieval, "all" galleries, or "first" only (SF2F's ``extraction_size`` slice: only the
            first ``gallery_identities`` identities of the ordered list are queried and scored).
        rank_by: the metric leaderboards rank this protocol's rows by ("" : the first metric).
    """

    name: str
    version: int
    task: str
    description: str
    source: str
    stratify_by: str | None = None
    probe_split: str = "test"
    gallery_source: str = "vggface"
    trials_per_probe: int = 10
    similarity: str = "cosine"
    ground_truth: str = "per-image"
    tie_rule: str = "half"
    metric: str = "accuracy"
    bootstrap: int = 2000
    ci_level: float = 0.95
    ns: tuple[int, ...] = ()
    ks: tuple[int, ...] = ()
    gallery_identities: int | None = None
    gallery_order: str = ""
    reference_split: str | None = None
    holdout: str = ""
    normalise_embeddings: bool = False
    normalise_centroid: bool = False
    l1_reduction: str = "sum"
    l2_reduction: str = "sum"
    distance_eps: float = 0.0
    attribute_model: str = ""
    age_bands: tuple[float, ...] = ()
    age_reference: str = ""
    probe_unit: str = "utterance"
    galleries_scored: str = "all"
    rank_by: str = ""

    def to_dict(self) -> dict:
        """All fields, for the result file."""
        return asdict(self)
