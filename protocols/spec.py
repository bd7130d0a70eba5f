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

    def to_dict(self) -> dict:
        """All fields, for the result file."""
        return asdict(self)
