"""Checkpoint files of ``bench train``: written atomically, read back with a format check, and exported without the
optimiser states for scoring (``baselines.train``'s docstring says what a checkpoint holds)."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from benchmark.errors import BenchError

CHECKPOINT_FORMAT = "voice2face-bench/checkpoint"
CHECKPOINT_VERSION = 1


def save_checkpoint(path: Path, recipe, state: dict) -> None:
    """Write a checkpoint atomically (``path.tmp`` then rename); weights are saved as CPU tensors."""
    from benchmark import __version__

    payload = {
        "format": CHECKPOINT_FORMAT, "format_version": CHECKPOINT_VERSION, "suite_version": __version__,
        **state,
        "modules": {k: {n: t.detach().cpu() for n, t in m.state_dict().items()} for k, m in recipe.modules.items()},
        "optimizers": {k: o.state_dict() for k, o in recipe.optimizers.items()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def export_weights(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> Path:
    """Write an inference-only copy of a finished checkpoint: the same file without the optimiser states
    (about a third of the size), marked ``"inference_only": True``. It scores like the original
    (``bench run --model-arg checkpoint=DST``) but cannot be resumed. Written atomically.

    Args:
        src: a ``checkpoint.pt`` written by ``bench train`` whose run finished (step == steps).
        dst: the output file; its folder is created.

    Returns:
        ``dst`` as a Path.

    Raises:
        BenchError: ``src`` unreadable or not a checkpoint (``load_checkpoint``), or its run not finished.
    """
    ck = load_checkpoint(src)
    if ck["step"] != ck["steps"]:
        raise BenchError(f"{src} stopped at step {ck['step']} of {ck['steps']}; finish it with bench train --resume "
                         "before exporting its weights.")
    ck = {k: v for k, v in ck.items() if k != "optimizers"}
    ck["inference_only"] = True
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".tmp")
    torch.save(ck, tmp)
    os.replace(tmp, dst)
    return dst


def load_checkpoint(path: str | os.PathLike[str]) -> dict:
    """Read a checkpoint written by ``save_checkpoint``.

    Raises:
        BenchError: the file is missing, unreadable, or not a voice2face-bench checkpoint of this format version.
    """
    path = Path(path)
    if not path.is_file():
        raise BenchError(f"checkpoint {path} not found; train one with: bench train --baseline NAME --out DIR.")
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise BenchError(f"cannot read checkpoint {path}: {exc}. Re-train or re-copy the file.") from exc
    if not isinstance(ck, dict) or ck.get("format") != CHECKPOINT_FORMAT:
        raise BenchError(f"{path} is not a voice2face-bench checkpoint (written by bench train).")
    if ck.get("format_version") != CHECKPOINT_VERSION:
        raise BenchError(f"checkpoint {path} has format version {ck.get('format_version')}; this suite reads "
                         f"version {CHECKPOINT_VERSION}. Re-train it with this version of bench train.")
    return ck
