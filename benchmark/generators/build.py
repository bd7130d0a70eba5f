"""Building a generator and the checks made on it before it is scored (the generator side of the preflight).

* ``check_model_args``: every ``--model-arg`` is a parameter of the generator's factory;
* ``build_generator``: the factory's own exceptions become one ``GeneratorError`` naming the generator, and a
  generator without a ``GeneratorMeta`` ``meta`` or a ``generate`` method is refused before it generates;
* ``conformance_gate``: a plug-in generator (``is_plugin``: not one of the registered reference generators nor a
  ``bench score`` folder) passes ``benchmark.generators.conformance.check_conformance`` on the first probe voices
  before anything is scored, or is refused — unless the caller skips the check (``--skip-conformance``), which
  the result then records;
* ``generation_failed``: the error for an exception raised inside ``generate``;
* ``voice_batch``: voices loaded and padded as every generator receives them.
"""

from __future__ import annotations

import difflib
import inspect
import traceback
from typing import Callable, Sequence

import torch

from benchmark.data.audio import load_audio
from benchmark.errors import BenchError, GeneratorError, GeneratorOutputError
from benchmark.generators.base import GeneratorMeta
from benchmark.generators.conformance import check_conformance
from benchmark.generators.folder import FOLDER_SPEC
from benchmark.generators.registry import MODELS
from benchmark.log import stage

CONFORMANCE_VOICES = 4
"""Probe voices the conformance gate generates (the first ones in id order): 2 + B + 1 generator calls."""


def voice_batch(paths: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Load voices as a generator receives them (``benchmark.generators.base``): ``benchmark.data.audio.load_audio``
    (16 kHz mono float32 in [-1, 1]), zero-padded after each clip to the longest.

    Args:
        paths: B audio files.

    Returns:
        (float32 ``[B, T]`` waveforms, int64 ``[B]`` lengths in samples).

    Raises:
        DataError: a file cannot be read (the message names it).
    """
    waves = [load_audio(p) for p in paths]
    lengths = torch.tensor([len(w) for w in waves], dtype=torch.int64)  # [B]
    batch = torch.zeros(len(waves), int(lengths.max()), dtype=torch.float32)  # [B, T]
    for i, w in enumerate(waves):
        batch[i, : len(w)] = torch.from_numpy(w)
    return batch, lengths


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    last = frames[-1]
    return f" (at {last.filename}:{last.lineno}, in {last.name})"


def _factory_name(factory: Callable) -> str:
    return getattr(factory, "__qualname__", None) or type(factory).__name__


def check_model_args(factory: Callable, model_args: dict | None, model: str) -> None:
    """Check every ``--model-arg`` key against the factory's signature (after its first, context, parameter).

    A factory taking ``**kwargs``, or whose signature cannot be read, accepts anything.

    Raises:
        GeneratorError: an unknown key; the message lists the accepted ones and suggests close names.
    """
    if not model_args:
        return
    try:
        params = list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return
    accepted = [p.name for p in params[1:]
                if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)]
    unknown = [k for k in model_args if k not in accepted]
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, accepted, n=1)
            hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise GeneratorError(
            f"generator {model!r} ({_factory_name(factory)}) takes no argument {', '.join(hints)}; its --model-arg "
            f"keys are: {', '.join(accepted) if accepted else 'none'}.")


def build_generator(factory: Callable, ctx, model_args: dict | None, model: str):
    """Call ``factory(ctx, **model_args)`` and check what it built has a meta and a ``generate`` method.

    Raises:
        GeneratorError: the factory raised (the message names the generator, the exception, where it was
            raised and the arguments given), or the object has no ``GeneratorMeta`` ``meta`` with a name or no
            callable ``generate``. A ``BenchError`` the factory raises on purpose passes through unchanged.
    """
    args = ", ".join(f"{k}={v}" for k, v in (model_args or {}).items()) or "none"
    try:
        generator = factory(ctx, **(model_args or {}))
    except BenchError:
        raise
    except Exception as exc:
        raise GeneratorError(
            f"generator {model!r} could not be built: {_factory_name(factory)} raised {type(exc).__name__}: "
            f"{exc}{_where(exc)}. Model arguments: {args}. Fix the generator or its --model-arg values.") from exc
    meta = getattr(generator, "meta", None)
    if not isinstance(meta, GeneratorMeta) or not meta.name:
        raise GeneratorError(
            f"generator {model!r} ({type(generator).__name__}) has no usable meta (got {meta!r}): set "
            "self.meta = GeneratorMeta(name=..., image_size=..., citation=...) in its constructor "
            "(benchmark.generators.base.GeneratorMeta); results record it.")
    if not callable(getattr(generator, "generate", None)):
        raise GeneratorError(f"generator {model!r} ({type(generator).__name__}) has no generate(waveforms, lengths, "
                             "utterance_ids) method (benchmark.generators.base.Generator).")
    return generator


def generation_failed(name: str, utterance_ids: Sequence[str], exc: BaseException) -> GeneratorError:
    """The ``GeneratorError`` for an exception raised inside ``generate``: names the generator, the batch's
    utterance ids, the exception and where it was raised, and suggests the fix."""
    ids = ", ".join(utterance_ids[:8]) + (f" … ({len(utterance_ids)} in all)" if len(utterance_ids) > 8 else "")
    hint = ("lower --batch-size" if isinstance(exc, MemoryError) or "out of memory" in str(exc).lower()
            else "fix the generator (the judge cache keeps what was embedded so far)")
    return GeneratorError(f"generator {name!r} raised {type(exc).__name__}: {exc}{_where(exc)} while generating "
                          f"the batch of utterances {ids}; {hint}.")


def is_plugin(model: str) -> bool:
    """True for a generator from outside the suite (``file.py:Factory``, ``module:Factory``, an entry point):
    neither a registered reference generator (``benchmark.generators.registry.MODELS``, checked by the test suite) nor
    a ``bench score`` folder."""
    return model not in MODELS and model != FOLDER_SPEC


def conformance_gate(generator, model: str, manifest, probes: Sequence[str], device: str, skip: bool) -> dict:
    """Run ``benchmark.generators.conformance.check_conformance`` on a plug-in generator before it is scored.

    Uses the first ``CONFORMANCE_VOICES`` probe voices (id order), loaded and padded as
    the engine's generation loads them (``voice_batch``).

    Args:
        generator: the built generator.
        model: its spec (``--model``).
        manifest: the dataset (for the voices' paths).
        probes: the run's probe utterance ids, sorted.
        device: torch device of the run.
        skip: ``--skip-conformance``: do not check, and say so in the record.

    Returns:
        The record the result stores as ``conformance``: ``{"status": "passed", "checks": [...], "voices": n}``,
        ``{"status": "skipped", "reason": ...}`` or ``{"status": "not run", "reason": ...}``.

    Raises:
        GeneratorError: the generator failed a check; the message is the check's and says how to skip.
    """
    if not is_plugin(model):
        return {"status": "not run", "reason": "registered reference generator (checked by the test suite)"}
    if skip:
        return {"status": "skipped", "reason": "--skip-conformance: determinism and batch independence unchecked"}
    ids = list(probes[:CONFORMANCE_VOICES])
    if len(ids) < 2:
        return {"status": "not run", "reason": "fewer than two probe voices"}
    stage(f"conformance check of plug-in generator {generator.meta.name} on {len(ids)} voices")
    paths = {u.id: u.path for u in manifest.utterances}
    batch, lengths = voice_batch([paths[u] for u in ids])  # [B, T], [B]
    try:
        report = check_conformance(generator, batch.to(device), lengths.to(device), ids)
    except GeneratorOutputError as exc:
        raise GeneratorError(f"conformance check failed, nothing was scored: {exc} Fix the generator, or pass "
                             "--skip-conformance to score it anyway (the result records that).") from exc
    except BenchError:
        raise
    except Exception as exc:
        raise generation_failed(generator.meta.name, ids, exc) from exc
    return {"status": "passed", "checks": report["checks"], "voices": len(ids)}
