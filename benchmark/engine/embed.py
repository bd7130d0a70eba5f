"""The embed phase: real faces and generated faces through the judge.

* ``open_judge``: the run's judge with its embedding cache, closed when the run leaves it;
* ``embed_real_faces``: decode, screen and embed the real faces the protocols need (the plan phase calls it:
  trials are drawn from the faces that could be embedded);
* ``check_probe_audio``: every probe voice decodes, before anything is generated;
* ``generate_and_embed``: the generator over the probe voices in batches, each batch judged as it comes;
* ``mark_failed``: the generator's own failed faces (its optional ``failed_utterances``,
  ``benchmark.generators.base``) become failures, as blank faces are;
* ``needed_analysers``: the analyses of generated faces the protocols' tasks ask for (``ANALYSERS``);
* ``build_for_run`` and ``draw_faces``: the generator built for the run's probes, gated, run and judged
  (``Drawn``).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Callable, Iterator, Sequence

import numpy as np
import torch

from benchmark.data.audio import audio_problems
from benchmark.data.images import is_blank, load_image, to_hwc_arrays, too_small
from benchmark.data.manifest import Face, Manifest
from benchmark.engine.config import RunConfig
from benchmark.errors import BenchError, DataError
from benchmark.generators.base import GeneratorContext, check_faces
from benchmark.generators.build import build_generator, conformance_gate, generation_failed, voice_batch
from benchmark.judges import Judge, make_judge
from benchmark.judges.cache import EmbeddingCache
from benchmark.log import stage
from benchmark.registry import import_object, lookup
from benchmark.settings import cache_dir
from benchmark.tasks.base import FaceTable, Generated

ANALYSERS: dict[str, str] = {
    "attributes": "benchmark.judges.attributes:factory",
}
"""Analyses of generated faces that tasks can ask for in ``NEEDS`` beyond "embedding":
name -> "module:factory", where ``factory()`` returns ``f(list of uint8 [H, W, 3]) -> array [B, ...]``."""

FACE_CHUNK = 256
"""Real faces are decoded and embedded this many at a time (bounded memory; the cache keeps each chunk)."""

__all__ = ["ANALYSERS", "FACE_CHUNK", "Drawn", "build_for_run", "check_probe_audio", "draw_faces", "embed_real_faces",
           "generate_and_embed", "mark_failed", "needed_analysers", "open_judge", "voice_batch"]


@dataclass(frozen=True)
class Drawn:
    """What the embed phase made of a generator: its faces judged, ready to score.

    Attributes:
        generator: the built generator (its ``meta`` and optional ``info_record`` are recorded).
        generated: the judge embeddings (``Generated``); failed faces — blank, or in the generator's
            ``failed_utterances`` — are NaN rows listed in ``generated.failed``.
        conformance: the conformance gate's record (``benchmark.generators.build.conformance_gate``).
        seconds: wall time of generating and judging.
    """

    generator: object
    generated: Generated
    conformance: dict
    seconds: float


@contextmanager
def open_judge(config: RunConfig) -> Iterator[Judge]:
    """The run's judge (``config.judge`` on ``config.judge_device``) with the on-disk embedding cache
    (``<cache>/embeddings.sqlite``; none with ``config.use_cache`` False); judge and cache are closed on exit.

    Raises:
        BenchError: the judge cannot be built (``benchmark.judges.make_judge``).
    """
    cache = EmbeddingCache(cache_dir() / "embeddings.sqlite" if config.use_cache else None)
    face_judge = None
    try:
        face_judge = make_judge(config.judge, cache=cache, device=config.judge_device)
        yield face_judge
    finally:
        if face_judge is not None:
            face_judge.close()
        cache.close()


def embed_real_faces(judge: Judge, faces: Sequence[Face], progress: bool = True) -> FaceTable:
    """Decode, screen and embed real faces, in chunks of ``FACE_CHUNK``.

    Blank images (``benchmark.data.images.is_blank``) and images smaller than ``benchmark.data.images.MIN_FACE_SIDE``
    on a side (``too_small``: the judge's minimum, the rule generated faces follow too) are excluded and listed
    (``FaceTable.blank``, ``FaceTable.small``). Unreadable images are collected, the others still embedded (and
    cached), and then one ``DataError`` lists every unreadable file.

    Returns:
        A ``FaceTable``: ids, float32 ``[F, D]`` vectors, bool ``[F]`` aligned, blank and small ids.

    Raises:
        DataError: one or more images cannot be read; the message lists each file.
    """
    ids, vecs, aligned, blank, small, errors = [], [], [], [], [], []
    for start in range(0, len(faces), FACE_CHUNK):
        chunk_ids, chunk_images = [], []
        for face in faces[start:start + FACE_CHUNK]:
            try:
                image = load_image(face.path)
            except DataError as exc:
                errors.append(str(exc))
                continue
            if is_blank(image):
                blank.append(face.id)
            elif too_small(image):
                small.append(face.id)
            else:
                chunk_ids.append(face.id)
                chunk_images.append(image)
        desc = f"judge: real faces {start + 1}-{min(start + FACE_CHUNK, len(faces))}/{len(faces)}" if progress else None
        emb = judge.embed(chunk_images, progress=desc)
        ids += chunk_ids
        vecs.append(emb.vectors)
        aligned.append(emb.aligned)
    if errors:
        raise DataError(f"{len(errors)} unreadable face image(s) (the others were embedded and cached):\n  "
                        + "\n  ".join(errors))
    vectors = np.concatenate(vecs) if vecs else np.zeros((0, judge.info.embedding_dim), np.float32)
    return FaceTable(ids=ids, vectors=vectors, aligned=np.concatenate(aligned) if aligned else np.zeros(0, bool),
                     blank=blank, small=small)


def check_probe_audio(manifest: Manifest, utterance_ids: Sequence[str]) -> None:
    """Decode every probe file before any generation (``benchmark.data.audio.audio_problems``).

    Raises:
        DataError: one error listing *every* unusable probe file — unreadable, truncated, empty, holding
            NaN/inf samples, or all-silent — each with its path and fix.
    """
    paths = {u.id: u.path for u in manifest.utterances}
    errors = audio_problems([paths[u] for u in utterance_ids])
    if errors:
        raise DataError(f"{len(errors)} unusable probe audio file(s) (nothing was generated or scored):\n  "
                        + "\n  ".join(errors))


def needed_analysers(needs: set[str], given: dict[str, Callable] | None = None) -> dict[str, Callable]:
    """The analysers of generated faces a run needs: ``given`` plus, for every name in ``needs`` (the union of the
    tasks' ``NEEDS``) other than "embedding" and those given, ``ANALYSERS[name]``'s factory called once.

    Raises:
        BenchError: a need with no registered analyser ("did you mean"), or one that cannot be imported.
    """
    analysers = dict(given or {})
    for need in sorted(set(needs) - {"embedding"} - set(analysers)):
        analysers[need] = import_object(lookup(need, ANALYSERS, "analyser"))()
    return analysers


def generate_and_embed(generator, judge: Judge, manifest: Manifest, utterance_ids: Sequence[str],
                       batch_size: int, device: str, progress: bool = True,
                       on_batch: Callable[[list[str], torch.Tensor], None] | None = None,
                       analysers: dict[str, Callable[[list[np.ndarray]], np.ndarray]] | None = None) -> Generated:
    """Run the generator over the probe voices in batches and embed what it draws.

    Voices are loaded with ``voice_batch`` (``benchmark.data.audio.load_audio``, zero-padded to the longest in the
    batch into float32 ``[B, T]`` with int64 lengths ``[B]``), moved to ``device``, and passed with their ids.

    A blank generated image (no spatial variation, ``benchmark.data.images.is_blank``) is a *failed face*, as a
    missing one is in ``bench score``: it is not embedded, its embedding row and analyser rows are NaN, its
    id is listed in ``Generated.failed``, and every task scores it as a failure (decision metrics: wrong;
    continuous metrics: the trial is excluded and counted — ``benchmark.tasks.base.aggregate``).

    Args:
        on_batch: optional callback ``(ids, faces uint8 [B, 3, H, W])`` (e.g. to save PNGs).
        analysers: optional ``{name: f(list of uint8 [H, W, 3]) -> array [B, ...]}`` run on every batch; the
            outputs are concatenated into ``Generated.extra[name]`` (e.g. gender/age predictions).

    Returns:
        A ``Generated``: the probes in ``utterance_ids`` order, float32 ``[U, D]`` vectors (NaN rows for failed
        faces), bool ``[U]`` aligned, the image size (H, W) of the last batch, the analyses, the failed ids.

    Raises:
        GeneratorOutputError: the generator returned something malformed (``check_faces``).
        GeneratorError: the generator raised while generating (``generation_failed`` names the batch).
        DataError: a voice cannot be read.
    """
    from tqdm import tqdm

    paths = {u.id: u.path for u in manifest.utterances}
    name = getattr(getattr(generator, "meta", None), "name", type(generator).__name__)
    vecs, flags, failed, size = [], [], [], (0, 0)
    extra: dict[str, list[np.ndarray]] = {name: [] for name in (analysers or {})}
    bar = tqdm(total=len(utterance_ids), desc=f"generate+judge ({name})", unit="voice", disable=not progress,
               leave=False)
    for start in range(0, len(utterance_ids), batch_size):
        ids = list(utterance_ids[start:start + batch_size])
        batch, lengths = voice_batch([paths[u] for u in ids])  # [B, T], [B]
        try:
            with torch.no_grad():
                faces = generator.generate(batch.to(device), lengths.to(device), ids)
        except BenchError:
            raise
        except Exception as exc:
            raise generation_failed(name, ids, exc) from exc
        faces = check_faces(faces, len(ids), name)  # [B, 3, H, W] uint8, CPU
        size = (int(faces.shape[2]), int(faces.shape[3]))
        if on_batch is not None:
            on_batch(ids, faces)
        images = to_hwc_arrays(faces)
        keep = [i for i, im in enumerate(images) if not is_blank(im)]
        failed += [ids[i] for i in range(len(ids)) if i not in set(keep)]
        emb = judge.embed([images[i] for i in keep])
        vectors = np.full((len(ids), judge.info.embedding_dim), np.nan, dtype=np.float32)  # [B, D]
        vectors[keep] = emb.vectors
        aligned = np.zeros(len(ids), dtype=bool)  # [B]
        aligned[keep] = emb.aligned
        vecs.append(vectors)
        flags.append(aligned)
        for key, analyse in (analysers or {}).items():  # not `name`: that is the generator's, used above
            extra[key].append(_with_failed_rows(np.asarray(analyse([images[i] for i in keep])), keep, len(ids)))
        bar.update(len(ids))
    bar.close()
    return Generated(list(utterance_ids), np.concatenate(vecs), np.concatenate(flags), size,
                     {name: np.concatenate(parts) for name, parts in extra.items()}, failed=failed)


def _with_failed_rows(values: np.ndarray, keep: list[int], n: int) -> np.ndarray:
    """Spread an analyser's ``[len(keep), ...]`` output over ``[n, ...]`` rows; the other (failed) rows are NaN."""
    out = np.full((n, *values.shape[1:]), np.nan, dtype=np.result_type(values.dtype, np.float32))
    if keep:
        out[keep] = values
    return out


def mark_failed(generated: Generated, failed: Sequence[str]) -> Generated:
    """A copy of ``generated`` whose rows for the ``failed`` utterances are failures: NaN judge vectors and float
    analyses, not aligned, and listed in ``failed`` (sorted union with the blank ones). Every trial such a face
    takes part in then scores as a failure (1:2 matching: wrong; ``benchmark.metrics.pairwise.match_1to2``).

    Args:
        generated: what ``generate_and_embed`` returned.
        failed: utterance ids the generator has no face for (its ``failed_utterances``); ids that are not
            probes of ``generated`` are ignored.

    Returns:
        ``generated`` itself when no probe failed, else the marked copy (the input is not changed).
    """
    index = generated.index()
    rows = [index[u] for u in failed if u in index]
    if not rows:
        return generated
    vectors = generated.vectors.astype(np.float32, copy=True)
    vectors[rows] = np.nan
    aligned = generated.aligned.copy()
    aligned[rows] = False
    extra = {}
    for key, arr in generated.extra.items():
        arr = np.array(arr, copy=True)
        if np.issubdtype(arr.dtype, np.floating):
            arr[rows] = np.nan
        extra[key] = arr
    return replace(generated, vectors=vectors, aligned=aligned, extra=extra,
                   failed=sorted(set(generated.failed) | set(failed)))


def build_for_run(config: RunConfig, factory: Callable, manifest: Manifest, gallery_source: str,
                  probes: Sequence[str]):
    """Build the run's generator: ``factory(GeneratorContext(...), **config.model_args)`` for these probes.

    Args:
        config: the run (seed, device, model spec and arguments).
        factory: ``benchmark.generators.registry.resolve_model(config.model)``.
        manifest: the dataset (the context's ``manifest`` and ``load_face``).
        gallery_source: the protocols' gallery source.
        probes: the sorted probe utterance ids of every planned protocol (the context's ``utterance_ids``).

    Raises:
        GeneratorError: the factory raised, or built something without a meta or ``generate``
            (``benchmark.generators.build.build_generator``).
    """
    ctx = GeneratorContext(manifest=manifest, seed=config.seed, device=config.device, gallery_source=gallery_source,
                           load_face=lambda face: load_image(face.path), utterance_ids=tuple(probes))
    stage(f"building generator {config.model}")
    return build_generator(factory, ctx, dict(config.model_args), config.model)


def draw_faces(config: RunConfig, generator, judge: Judge, manifest: Manifest, probes: Sequence[str],
               analysers: dict[str, Callable] | None = None,
               on_batch: Callable[[list[str], torch.Tensor], None] | None = None) -> Drawn:
    """Gate, run and judge the generator: ``conformance_gate`` (plug-ins), ``generate_and_embed`` over ``probes``,
    then ``mark_failed`` with the generator's ``failed_utterances`` when it has them (``benchmark.generators.base``).

    Returns:
        A ``Drawn``.

    Raises:
        GeneratorError, GeneratorOutputError, DataError: as ``conformance_gate`` and ``generate_and_embed``.
    """
    conformance = conformance_gate(generator, config.model, manifest, probes, config.device, config.skip_conformance)
    t = time.perf_counter()
    stage(f"generating and judging {len(probes)} faces with {generator.meta.name}")
    generated = generate_and_embed(generator, judge, manifest, probes, config.batch_size, config.device,
                                   config.progress, on_batch=on_batch, analysers=analysers)
    failed = getattr(generator, "failed_utterances", None)
    if failed:
        generated = mark_failed(generated, list(failed))
    return Drawn(generator=generator, generated=generated, conformance=conformance,
                 seconds=time.perf_counter() - t)
