"""1:N voice-to-face matching, N = 2…10 (Nagrani, Albanie, Zisserman, "Seeing voices and hearing faces:
cross-modal biometric matching", CVPR 2018: N-way V-F matching).

Each trial is (probe utterance of speaker s, a real face of s, real faces of N − 1 distinct imposters). The face
the generator pictures from the probe is embedded by the judge and matched to the most similar (cosine) of the N
real faces; the trial is correct if that is the speaker's. Ties are broken at random in expectation (1/m credit
for an m-way tie at the top, as 1:2 matching gives 0.5). Chance is 1/N; accuracy is reported per N as separate
metrics ``acc@N=2`` … ``acc@N=10``. ``match-1ofN-stratified`` draws every imposter from the speaker's gender.
When the dataset (or, stratified, the smaller gender) has fewer eligible identities than N, the N values above
that are not scored, and the result's ``info`` says so.
"""

from protocols.spec import ProtocolSpec

_SOURCE = ("Nagrani, Albanie, Zisserman, CVPR 2018 (N-way voice-to-face matching, N = 2…10); trial drawing as "
           "Wen, Singh, Raj, NeurIPS 2019, Table 3")

MATCH_1OFN = ProtocolSpec(
    name="match-1ofN",
    version=3,
    task="match-1ofN",
    description="1:N matching, N = 2…10, imposters of any gender (chance 1/N), accuracy per N",
    source=_SOURCE,
    stratify_by=None,
    ns=tuple(range(2, 11)),
    trials_per_probe=3,
    tie_rule="random-expected",
)

MATCH_1OFN_STRATIFIED = ProtocolSpec(
    name="match-1ofN-stratified",
    version=3,
    task="match-1ofN",
    description="1:N matching, N = 2…10, imposters of the speaker's gender (chance 1/N), accuracy per N",
    source=_SOURCE,
    stratify_by="gender",
    ns=tuple(range(2, 11)),
    trials_per_probe=3,
    tie_rule="random-expected",
)
