"""Registries: one explicit dict ``name -> "module:factory"`` per kind, loaded lazily.

A model can also be named by a file (``path/to/file.py:Factory``), a module (``package.module:Factory``)
or an entry point in the group ``voice2face_bench.generators``. A wrong name gets a "did you mean" error
(lm-eval's convention).
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Callable

from benchmark.errors import BenchError

MODELS: dict[str, str] = {
    "oracle": "baselines.oracle:OracleGenerator",
    "mean-face": "baselines.chance:MeanFaceGenerator",
    "random-face": "baselines.chance:RandomFaceGenerator",
    "voice-gender": "baselines.voice_only:VoiceGenderGenerator",
    "nearest-voice": "baselines.voice_only:NearestVoiceGenerator",
    "wen-gan": "baselines.wen_gan:WenGanGenerator",
    "speech2face": "baselines.speech2face:Speech2FaceGenerator",
    "ar-spm": "baselines.ar_spm:ARSPMGenerator",
}
"""Built-in generators: registered name -> "module:factory"."""

MODEL_ALIASES: dict[str, str] = {
    "benchmark.submission:FolderGenerator": "benchmark.engine.submission:FolderGenerator",
}
"""Model specs that stored results record under a module path the code has since left: old spec -> where it
lives now. ``bench score`` still records the old string (``benchmark.engine.submission.FOLDER_SPEC``), a stable
name, so every stored submission result re-runs unchanged."""

ENTRY_POINT_GROUP = "voice2face_bench.generators"


def _did_you_mean(name: str, choices: list[str], kind: str) -> BenchError:
    close = difflib.get_close_matches(name, choices, n=3)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return BenchError(f"unknown {kind} {name!r}.{hint} Known: {', '.join(sorted(choices))}.")


def import_object(target: str) -> object:
    """Import ``"module:attr"`` or ``"path/file.py:attr"``.

    Raises:
        BenchError: the module, file or attribute does not exist (the message names it).
    """
    module_name, sep, attr = target.rpartition(":")
    if not sep or not module_name or not attr:
        raise BenchError(f"{target!r} is not of the form 'module:Factory' or 'path/file.py:Factory'.")
    if module_name.endswith(".py"):
        path = Path(module_name)
        if not path.is_file():
            raise BenchError(f"generator file {path} not found.")
        mod_name = f"_v2f_user_{abs(hash(str(path.resolve())))}"
        spec = importlib.util.spec_from_file_location(mod_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = module
        spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            raise BenchError(f"cannot import module {module_name!r} for {target!r}: {exc}") from exc
    try:
        return getattr(module, attr)
    except AttributeError:
        raise BenchError(f"{module_name} has no attribute {attr!r} (from {target!r}).") from None


def model_names() -> list[str]:
    """Registered model names plus those of installed entry points."""
    return sorted(set(MODELS) | {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})


def resolve_model(spec: str) -> Callable:
    """Return the factory for a registered name, an entry point name, ``file.py:Factory`` or ``module:Factory``.

    Raises:
        BenchError: unknown name (with suggestions) or an import failure.
    """
    if spec in MODELS:
        return import_object(MODELS[spec])
    if spec in MODEL_ALIASES:
        return import_object(MODEL_ALIASES[spec])
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == spec:
            return ep.load()
    if ":" in spec:
        return import_object(spec)
    raise _did_you_mean(spec, model_names(), "model")


def lookup(name: str, table: dict, kind: str):
    """Return ``table[name]`` or raise a "did you mean" ``BenchError`` naming the kind."""
    if name in table:
        return table[name]
    raise _did_you_mean(name, list(table), kind)
