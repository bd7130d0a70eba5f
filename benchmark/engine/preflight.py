"""Checks made before any work starts, so that nothing computed is lost to an error found at the end.

``bench run`` / ``bench score`` / ``bench trials`` (through ``benchmark.engine.run.run_many`` and
``benchmark.engine.submission``) call these first:

* ``check_run_args``: batch size ≥ 1, seed ≥ 0 (argparse types ``positive_int`` / ``non_negative_int`` give
  the same rule on the command line);
* ``check_out_file`` / ``check_writable_dir``: the result file (``--out``) is not a folder, and the folders
  results will be written to can be created and written — a file standing where a folder must be, or a
  path under a file, is found now, not after the work;
* ``check_cache``: the cache directory and its SQLite files can be opened for writing (skipped with
  ``--no-cache``, which writes nothing there);
* ``check_model_args``: every ``--model-arg`` is a parameter of the generator's factory;
* ``build_generator``: the factory's own exceptions become one ``GeneratorError`` naming the generator, and a
  generator without a ``GeneratorMeta`` ``meta`` or a ``generate`` method is refused before it generates;
* ``conformance_gate``: a plug-in generator (not one of the registered reference generators) passes
  ``benchmark.generators.conformance.check_conformance`` on the first probe voices before anything is scored, or is
  refused — unless the caller skips the check (``--skip-conformance``), which the result then records.
"""

from __future__ import annotations

import argparse
import difflib
import inspect
import os
import tempfile
import traceback
from pathlib import Path
from typing import Callable, Sequence

from benchmark.errors import BenchError, GeneratorError, GeneratorOutputError

CONFORMANCE_VOICES = 4
"""Probe voices the conformance gate generates (the first ones in id order): 2 + B + 1 generator calls."""


# --- arguments ------------------------------------------------------------------------------------------------


def check_run_args(batch_size: int, seed: int) -> None:
    """Validate the numeric arguments of a run.

    Raises:
        BenchError: ``batch_size`` < 1 or not an integer, or ``seed`` < 0 or not an integer.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise BenchError(f"--batch-size must be a whole number ≥ 1 (voices per generator call), not {batch_size!r}.")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise BenchError(f"--seed must be a whole number ≥ 0, not {seed!r}.")


def positive_int(text: str) -> int:
    """argparse type: an integer ≥ 1 (``argparse.ArgumentTypeError`` otherwise)."""
    return _int_at_least(text, 1)


def non_negative_int(text: str) -> int:
    """argparse type: an integer ≥ 0 (``argparse.ArgumentTypeError`` otherwise)."""
    return _int_at_least(text, 0)


def _int_at_least(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"{value} is below {low}")
    return value


# --- where things are written --------------------------------------------------------------------------------


def _nearest_existing(path: Path) -> Path:
    probe = path
    while not (probe.exists() or probe.is_symlink()):
        if probe.parent == probe:
            break
        probe = probe.parent
    return probe


def check_writable_dir(path: str | os.PathLike[str], what: str, fix: str) -> None:
    """Check that folder ``path`` exists or can be created, and that a file can be written in it.

    Nothing is created: the nearest existing ancestor must be a folder in which a file can be made (a
    temporary file is created and removed there).

    Args:
        path: the folder.
        what: what it is, for the message ("results folder", "cache directory").
        fix: what the user can do, appended to the message.

    Raises:
        BenchError: a file stands at ``path`` or at one of its parents, or the folder cannot be written.
    """
    path = Path(path).expanduser()
    base = _nearest_existing(path)
    if not base.is_dir():
        where = "is a file" if base == path else f"cannot be created: {base} is a file, not a folder"
        raise BenchError(f"{what} {path} {where}. {fix}")
    try:
        fd, tmp = tempfile.mkstemp(dir=base, prefix=".bench-write-test-")
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise BenchError(f"{what} {path} cannot be written ({exc.strerror or exc} in {base}). {fix}") from None


def check_out_file(path: str | os.PathLike[str], what: str = "result file", fix: str = "") -> None:
    """Check that a file can be written at ``path``: not an existing folder, its folder creatable and writable.

    Raises:
        BenchError: ``path`` is a folder, or its folder cannot be created or written (message names both).
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise BenchError(f"{what} {path} is an existing folder; name a file (e.g. {path / 'result.json'}) "
                         + (fix or "or use --results-dir for a folder of results."))
    check_writable_dir(path.parent, f"folder of the {what}", fix or "Choose another path.")


def check_outputs(out: str | os.PathLike[str] | None, results_dir: str | os.PathLike[str]) -> None:
    """Check ``--out`` (when given) or else ``--results-dir`` before a run (``check_out_file``,
    ``check_writable_dir``).

    Raises:
        BenchError: as those two, or a target in the committed ``leaderboards/results`` while the checkout has
            uncommitted changes (``benchmark.results.provenance.require_clean_tree``).
    """
    from benchmark.results.provenance import require_clean_tree

    require_clean_tree(out or results_dir)
    if out:
        check_out_file(out, "--out", "or use --results-dir for a folder of results.")
    else:
        check_writable_dir(results_dir, "results folder",
                           "Pass --results-dir DIR (or set VOICE2FACE_RESULTS_DIR) to a writable folder.")


def check_cache(use_cache: bool) -> None:
    """With the cache on, check that the cache directory, its ``trials/`` folder and its SQLite files can be
    written (``benchmark.judges.cache.open_cache_db``). With it off (``--no-cache``) nothing is checked or written.

    Raises:
        BenchError: naming the path, and the fixes (``VOICE2FACE_CACHE_DIR``, ``--no-cache``).
    """
    if not use_cache:
        return
    from benchmark.settings import cache_dir

    fix = "Set VOICE2FACE_CACHE_DIR to a writable folder, or run with --no-cache."
    root = cache_dir()
    check_writable_dir(root, "cache directory", fix)
    check_writable_dir(root / "trials", "trial-file folder of the cache", fix)
    for name in CACHE_FILES:
        check_sqlite_writable(root / name, fix)


CACHE_FILES = ("embeddings.sqlite", "speaker.sqlite", "attributes.sqlite", "file_digests.sqlite")
"""The SQLite files a run may write in the cache directory."""


def check_sqlite_writable(path: Path, fix: str) -> None:
    """Open SQLite file ``path`` (an empty one is created if absent) and take its write lock, then let go.

    Raises:
        BenchError: a folder stands at ``path``, or the file cannot be opened or locked for writing.
    """
    import sqlite3

    if path.is_dir():
        raise BenchError(f"cache file {path} is a folder. {fix}")
    try:
        db = sqlite3.connect(str(path), timeout=60)
        try:
            db.execute("BEGIN IMMEDIATE")
            db.rollback()
        finally:
            db.close()
    except (OSError, sqlite3.Error) as exc:
        raise BenchError(f"cache file {path} cannot be written ({exc}). {fix}") from None


# --- the generator -------------------------------------------------------------------------------------------


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
    from benchmark.generators.base import GeneratorMeta

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
    neither a registered reference generator (``benchmark.registry.MODELS``, checked by the test suite) nor
    a ``bench score`` folder."""
    from benchmark.registry import MODELS
    from benchmark.engine.submission import FOLDER_SPEC

    return model not in MODELS and model != FOLDER_SPEC


def conformance_gate(generator, model: str, manifest, probes: Sequence[str], device: str, skip: bool) -> dict:
    """Run ``benchmark.generators.conformance.check_conformance`` on a plug-in generator before it is scored.

    Uses the first ``CONFORMANCE_VOICES`` probe voices (id order), loaded and padded as
    ``benchmark.engine.run.generate_and_embed`` loads them.

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
    from benchmark.generators.conformance import check_conformance

    if not is_plugin(model):
        return {"status": "not run", "reason": "registered reference generator (checked by the test suite)"}
    if skip:
        return {"status": "skipped", "reason": "--skip-conformance: determinism and batch independence unchecked"}
    ids = list(probes[:CONFORMANCE_VOICES])
    if len(ids) < 2:
        return {"status": "not run", "reason": "fewer than two probe voices"}
    from benchmark.log import stage

    stage(f"conformance check of plug-in generator {generator.meta.name} on {len(ids)} voices")
    from benchmark.engine.run import voice_batch

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
