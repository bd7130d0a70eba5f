"""Speaker consistency (Wen, Singh, Raj, NeurIPS 2019, Fig. 5): are faces generated from different utterances of
the same speaker more alike than faces generated for different speakers?

Per probe utterance, ``trials_per_probe`` trials each draw (seeded) one other utterance of the same speaker and
one utterance of another speaker (identity uniform, then utterance uniform). Per trial: cosine similarity of the
judge embeddings of the probe's generated face and each partner's. Metrics: ``within`` (mean same-speaker
similarity), ``between`` (mean different-speaker similarity) and ``ratio`` = within / between (ratio of the two
means; its CI from the same identity bootstrap). A generator that ignores the voice scores ratio 1 exactly
(mean-face); one that tracks identity scores above 1. Needs ≥ 2 speakers with ≥ 2 utterances each.

Leaderboards rank by ``ratio`` (``rank_by``), not ``within``: ``within`` alone rewards drawing one face for
everybody (mean-face has within = between = 1 and would outrank the oracle); the ratio rewards faces that are
alike for one speaker *and* different between speakers.
"""

from protocols.spec import ProtocolSpec

CONSISTENCY = ProtocolSpec(
    name="consistency",
    version=2,
    task="consistency",
    description="similarity of faces from the same speaker's utterances vs different speakers', and their ratio",
    source=("this suite's measure of what Wen, Singh, Raj, NeurIPS 2019, Fig. 5 shows qualitatively (faces generated "
            "from different utterances of one speaker)"),
    rank_by="ratio",
    metric="cosine similarity",
    trials_per_probe=10,
)
