"""Face detection rate: the share of generated images in which the judge's face detector (dlib HOG, one upsample,
``benchmark.judge``) finds a face — a realism floor. The same rate on the real gallery faces of the same
identities is reported beside it (``real_faces_detected``) as the reference."""

from protocols.spec import ProtocolSpec

DETECT = ProtocolSpec(
    name="detect",
    version=2,
    task="detect",
    description="share of generated faces in which the judge's detector finds a face (realism floor)",
    source="judge detector (dlib HOG frontal face detector, 1 upsample; benchmark.judge)",
    metric="face detected",
    trials_per_probe=1,
)
