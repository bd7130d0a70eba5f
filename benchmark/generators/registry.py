"""The generator registry: one explicit dict ``MODELS`` (name -> "module:factory"), loaded lazily.

A model can also be named by a file (``path/to/file.py:Factory``), a module (``package.module:Factory``) or an
entry point in the group ``voice2face_bench.generators`` (``ENTRY_POINT_GROUP``). A wrong name gets a "did you
mean" error (lm-eval's convention; ``benchmark.registry``).
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Callable

from benchmark.registry import did_you_mean, import_object

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
    "benchmark.submission:FolderGenerator": "benchmark.generators.folder:FolderGenerator",
    "benchmark.engine.submission:FolderGenerator": "benchmark.generators.folder:FolderGenerator",
}
"""Model specs that stored results record under a module path the code has since left: old spec -> where it
lives now. ``bench score`` still records the old string (``benchmark.generators.folder.FOLDER_SPEC``), a stable
name, so every stored submission result re-runs unchanged."""

ENTRY_POINT_GROUP = "voice2face_bench.generators"
"""The entry-point group outside packages register generators in (``docs/ADDING_A_GENERATOR.md``)."""


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
    raise did_you_mean(spec, model_names(), "model")
