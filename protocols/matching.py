"""1:2 voice-to-face matching (Wen, Singh, Raj, "Reconstructing faces from voices", NeurIPS 2019, Table 3).

Each trial is (probe utterance of speaker s, a real face of s, a real face of an imposter). The face the
generator pictures from the probe is embedded by the judge and matched to the closer of the two real faces
by cosine similarity; the trial is correct if it is the speaker's. Chance is 0.5. ``stratified`` draws the
imposter from the speaker's gender, so a generator that renders only gender scores 0.5 there
(DIMNets-G in Wen et al. Table 3: 72.90 unstratified vs 50.32 stratified).
"""

from protocols.spec import ProtocolSpec

UNSTRATIFIED = ProtocolSpec(
    name="unstratified",
    version=2,
    task="match-1to2",
    description="1:2 matching, imposter of any gender (chance 0.5)",
    source="Wen, Singh, Raj, NeurIPS 2019, Table 3 (1:2 matching, unstratified)",
    stratify_by=None,
)

STRATIFIED = ProtocolSpec(
    name="stratified",
    version=2,
    task="match-1to2",
    description="1:2 matching, imposter of the speaker's gender (chance 0.5)",
    source="Wen, Singh, Raj, NeurIPS 2019, Table 3 (1:2 matching, gender-stratified)",
    stratify_by="gender",
)
