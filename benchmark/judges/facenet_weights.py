"""Where the ``facenet`` judge finds facenet-pytorch's VGGFace2 weights, how it checks and loads them, and the one
explicit download.

The weights are facenet-pytorch's ``20180402-114759-vggface2.pt`` (David Sandberg's FaceNet model 20180402-114759,
Inception-ResNet-v1 trained on VGGFace2, converted by facenet-pytorch): a torch state dict of tensors, published at
``WEIGHTS_URL`` (the URL of facenet-pytorch 2.6.0's ``load_weights``). No package ships it. The suite never fetches
it while scoring: the judge looks, first match wins, at

1. the file passed to the judge (``FaceNetJudge(weights=...)``) or named by ``$VOICE2FACE_FACENET_WEIGHTS``;
2. facenet-pytorch's own cache, ``$TORCH_HOME/checkpoints/20180402-114759-vggface2.pt`` (``$TORCH_HOME`` defaults
   to ``$XDG_CACHE_HOME/torch``, i.e. ``~/.cache/torch``): a machine where facenet-pytorch already downloaded the
   file needs nothing more;
3. this suite's cache, ``<cache_dir>/judges/20180402-114759-vggface2.pt``, where
   ``python -m benchmark.judges.facenet_weights`` downloads it (one explicit command, printing the file's sha256);

and refuses, naming these three fixes, when none exists.

Checking: the file's sha256 is the judge's ``info.weights_sha256`` (recorded in every result, part of every cache
key). facenet-pytorch publishes no digest and no machine of this project could reach the URL, so ``PINNED_SHA256``
is not set yet; until it is, an expected digest can be given with ``$VOICE2FACE_FACENET_SHA256`` (or ``sha256=``)
and a file with another digest is refused. The file is read with ``torch.load(weights_only=True)`` (data, never
code) and must load into ``benchmark.judges.facenet_net.InceptionResnetV1`` with ``strict=True``.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from benchmark.errors import BenchError

WEIGHTS_FILE = "20180402-114759-vggface2.pt"
WEIGHTS_URL = "https://github.com/timesler/facenet-pytorch/releases/download/v2.2.9/20180402-114759-vggface2.pt"
"""facenet-pytorch 2.6.0, ``models/inception_resnet_v1.py``, ``load_weights(mdl, "vggface2")``."""

PINNED_SHA256: str | None = None
"""sha256 of ``WEIGHTS_FILE`` as this suite validated it. Not known yet: facenet-pytorch publishes none and the file
could not be fetched where this judge was written (no internet). Set it from the digest a first download prints
(``python -m benchmark.judges.facenet_weights``); from then on every other file is refused."""

ENV_WEIGHTS = "VOICE2FACE_FACENET_WEIGHTS"
ENV_SHA256 = "VOICE2FACE_FACENET_SHA256"

FIX = (f"Fix: download facenet-pytorch's VGGFace2 weights once with `python -m benchmark.judges.facenet_weights` "
       f"(saves {WEIGHTS_FILE} into the suite's cache), or set ${ENV_WEIGHTS} to a copy of {WEIGHTS_FILE} "
       f"(from {WEIGHTS_URL}), or put it where facenet-pytorch keeps it ($TORCH_HOME/checkpoints/).")


def torch_home() -> Path:
    """facenet-pytorch's (and torch.hub's) cache root: ``$TORCH_HOME``, else ``$XDG_CACHE_HOME/torch``, else
    ``~/.cache/torch`` (facenet-pytorch 2.6.0, ``get_torch_home``)."""
    default = os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"), "torch")
    return Path(os.path.expanduser(os.getenv("TORCH_HOME", default)))


def suite_weights_path() -> Path:
    """Where ``download`` saves the file: ``<cache_dir>/judges/20180402-114759-vggface2.pt``."""
    from benchmark.settings import cache_dir

    return cache_dir() / "judges" / WEIGHTS_FILE


def candidate_paths(weights: str | os.PathLike[str] | None = None) -> list[Path]:
    """The places looked at, in order (module docstring): the given file or ``$VOICE2FACE_FACENET_WEIGHTS`` alone
    when one is given, else facenet-pytorch's cache and the suite's cache."""
    given = weights if weights is not None else os.environ.get(ENV_WEIGHTS)
    if given:
        return [Path(given).expanduser()]
    return [torch_home() / "checkpoints" / WEIGHTS_FILE, suite_weights_path()]


def find_weights(weights: str | os.PathLike[str] | None = None, judge: str = "facenet") -> Path:
    """The weights file the judge uses (module docstring, lookup order); ``judge`` names it in the error.

    Raises:
        BenchError: no file at any of the places (the message lists them and the fix).
    """
    paths = candidate_paths(weights)
    for path in paths:
        if path.is_file():
            return path
    raise BenchError(f"judge {judge!r} needs facenet-pytorch's VGGFace2 weights, not found at "
                     f"{', '.join(str(p) for p in paths)}. {FIX}")


def expected_sha256(sha256: str | None = None) -> str | None:
    """The digest a weights file must have: ``sha256``, else ``$VOICE2FACE_FACENET_SHA256``, else
    ``PINNED_SHA256`` (None: not known, any digest is accepted and recorded).

    Raises:
        BenchError: a given digest that is not 64 hex digits.
    """
    value = sha256 if sha256 is not None else (os.environ.get(ENV_SHA256) or PINNED_SHA256)
    if value is None:
        return None
    if not re.fullmatch(r"[0-9a-fA-F]{64}", str(value).strip()):
        raise BenchError(f"expected sha256 of the FaceNet weights must be 64 hex digits, got {value!r} "
                         f"(${ENV_SHA256}).")
    return str(value).strip().lower()


def load_facenet(path: str | os.PathLike[str], sha256: str | None = None, device: str = "cpu"):
    """facenet-pytorch's VGGFace2 state dict loaded (``strict=True``) into this suite's ``InceptionResnetV1``.

    Args:
        path: the ``.pt`` file (a state dict of tensors).
        sha256: the digest the file must have, or None for ``expected_sha256()``.
        device: torch device of the returned module.

    Returns:
        ``(module, digest)``: ``InceptionResnetV1`` in eval mode on ``device`` with gradients off, and the file's
        sha256 (hex, lowercase).

    Raises:
        BenchError: the file is missing or unreadable, has another sha256 than the expected one, is not a torch
            state dict of tensors (``torch.load(weights_only=True)`` refuses anything else), or its keys or shapes
            differ from facenet-pytorch's layout (the message names the file, the first differing keys and the fix).
    """
    import torch

    from benchmark.judges.base import check_model_file
    from benchmark.judges.facenet_net import InceptionResnetV1

    want = expected_sha256(sha256)
    if want is not None:
        digest = check_model_file(path, want, "FaceNet weights file", FIX)
    else:
        from benchmark.data.fingerprint import file_sha256

        try:
            digest = file_sha256(path)
        except BenchError as exc:
            raise BenchError(f"{exc} {FIX}") from None
    try:
        state = torch.load(os.fspath(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is the same bad file
        raise BenchError(f"FaceNet weights file {path} (sha256 {digest}) is not a torch state dict that "
                         f"torch {torch.__version__} loads with weights_only=True: {exc}. {FIX}") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise BenchError(f"FaceNet weights file {path} (sha256 {digest}) holds {type(state).__name__}, not a state "
                         f"dict of tensors. {FIX}")
    num_classes = state["logits.weight"].shape[0] if "logits.weight" in state else 0
    model = InceptionResnetV1(num_classes=max(int(num_classes), 1))
    ours = model.state_dict()
    missing, unexpected = sorted(set(ours) - set(state)), sorted(set(state) - set(ours))
    wrong = sorted(k for k in set(ours) & set(state) if tuple(ours[k].shape) != tuple(state[k].shape))
    if missing or unexpected or wrong:
        raise BenchError(f"FaceNet weights file {path} (sha256 {digest}) is not facenet-pytorch's Inception-ResNet-v1 "
                         f"layout: missing {missing[:3]}, unexpected {unexpected[:3]}, other shapes {wrong[:3]}. {FIX}")
    model.load_state_dict(state, strict=True)
    model.requires_grad_(False)
    return model.eval().to(device), digest


def download(dest: str | os.PathLike[str] | None = None, url: str = WEIGHTS_URL) -> Path:
    """Fetch the weights file (the only place the suite downloads it; never called while scoring).

    Args:
        dest: where to save it; default ``suite_weights_path()``.
        url: default ``WEIGHTS_URL``.

    Returns:
        The saved file (written to a temporary name, then renamed: an interrupted download leaves nothing).

    Raises:
        BenchError: the download failed, or the file's sha256 differs from ``expected_sha256()`` (it is then
            removed).
    """
    import shutil
    import urllib.request

    from benchmark.data.fingerprint import file_sha256

    dest = Path(dest) if dest is not None else suite_weights_path()
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f"{dest.name}.part{os.getpid()}")
    try:
        with urllib.request.urlopen(url, timeout=60) as resp, open(tmp, "wb") as fh:  # noqa: S310 - fixed https URL
            shutil.copyfileobj(resp, fh, 1 << 20)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BenchError(f"cannot download {url} to {dest}: {exc}. Download it by other means and set "
                         f"${ENV_WEIGHTS} to the file.") from None
    digest, want = file_sha256(tmp), expected_sha256()
    if want is not None and digest != want:
        tmp.unlink(missing_ok=True)
        raise BenchError(f"{url} gave a file with sha256 {digest}, expected {want}: not saved.")
    os.replace(tmp, dest)
    return dest


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmark.judges.facenet_weights [DEST]``: download the weights and print path and sha256."""
    import argparse

    from benchmark.data.fingerprint import file_sha256

    parser = argparse.ArgumentParser(prog="python -m benchmark.judges.facenet_weights",
                                     description=f"Download {WEIGHTS_FILE} (facenet-pytorch's VGGFace2 FaceNet "
                                                 "weights) for the `facenet` judge.")
    parser.add_argument("dest", nargs="?", help=f"file to write (default: {suite_weights_path()})")
    args = parser.parse_args(argv)
    try:
        path = download(args.dest)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{path}\nsha256 {file_sha256(path)}")
    if args.dest:
        print(f"use it with: export {ENV_WEIGHTS}={path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
