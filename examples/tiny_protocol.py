"""A tiny example protocol for voice2face-bench: docs/ADDING_A_PROTOCOL.md walks through it.

Gender-stratified 1:2 matching (Wen, Singh, Raj, NeurIPS 2019, Table 3) with three trials per probe utterance
instead of ten: fewer trials, the same rule, the same chance level (0.5).
"""

from protocols.spec import ProtocolSpec

STRATIFIED_3 = ProtocolSpec(
    name="stratified-3",
    version=1,
    task="match-1to2",
    description="1:2 matching, imposter of the speaker's gender, 3 trials per probe (chance 0.5)",
    source="Wen, Singh, Raj, NeurIPS 2019, Table 3 (1:2 matching, gender-stratified); 3 trials per probe",
    stratify_by="gender",
    trials_per_probe=3,
)
