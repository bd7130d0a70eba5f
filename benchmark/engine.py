"""The engine: one plain function per arrow of the design card's data flow, and ``run`` that chains them.

    manifest -> real faces -> judge (cached) -> trials per protocol (seeded, hashed)   [benchmark.tasks]
    probe voices (16 kHz) -> generator -> faces (uint8) -> judge -> task metric (torch, device)
    -> aggregate (value, 95 % CI, strata, n) -> result JSON

Several protocols in one call (``run_many``, ``bench run --protocol all``) share the real-face embeddings and
one generation pass over the union of their probes.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from benchmark import __version__
from benchmark.audio import audio_duration, load_audio
from benchmark.cache import EmbeddingCache
from benchmark.data import Face, Manifest
from benchmark.datasets import load_dataset
from benchmark.errors import BenchError, DataError, ProtocolUnavailable
from benchmark.generator import GeneratorContext, check_faces
from benchmark.images import is_blank, load_image, to_hwc_arrays
from benchmark.judge import DlibJudge
from benchmark.registry import lookup, resolve_model
from benchmark.results import SCHEMA_VERSION, environment, git_commit, write_result
from benchmark.settings import cache_dir
from benchmark.tasks import get_task
from benchmark.tasks.base import FaceTable, Generated
from protocols import PROTOCOLS, ProtocolSpec, get_protocol

ANALYSERS: dict[str, str] = {
    "attributes": "benchmark.attributes:factory",
}
"""Analyses of generated faces that tasks can ask for in ``NEEDS`` beyond "embedding":
name -> "module:factory", where ``factory()`` returns ``f(list of uint8 [H, W, 3]) -> array [B, ...]``."""

FACE_CHUNK = 256
"""Real faces are decoded and embedded this many at a time (bounded memory; the cache keeps each chunk)."""


def embed_real_faces(judge: DlibJudge, faces: Sequence[Face], progress: bool = True) -> FaceTable:
    """Decode, screen and embed real faces, in chunks of ``FACE_CHUNK``.

    Blank images (``benchmark.images.is_blank``) are excluded and listed. Unreadable images are collected,
    the others still embedded (and cached), and then one ``DataError`` lists every unreadable file.

    Raises:
        DataError: one or more images cannot be read; the message lists each file.
    """
    ids, vecs, aligned, blank, errors = [], [], [], [], []
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
    vectors = np.concatenate(vecs) if vecs else np.zeros((0, 128), np.float32)
    return FaceTable(ids=ids, vectors=vectors, aligned=np.concatenate(aligned) if aligned else np.zeros(0, bool),
                     blank=blank)


def check_probe_audio(manifest: Manifest, utterance_ids: Sequence[str]) -> None:
    """Read the header of every probe file and raise one ``DataError`` listing all unreadable ones."""
    paths = {u.id: u.path for u in manifest.utterances}
    errors = []
    for utt in utterance_ids:
        try:
            if audio_duration(paths[utt]) <= 0:
                errors.append(f"audio file {paths[utt]} is empty (0 samples); remove or replace it.")
        except DataError as exc:
            errors.append(str(exc))
    if errors:
        raise DataError(f"{len(errors)} unreadable probe audio file(s):\n  " + "\n  ".join(errors))


def generate_and_embed(generator, judge: DlibJudge, manifest: Manifest, utterance_ids: Sequence[str],
                       batch_size: int, device: str, progress: bool = True,
                       on_batch: Callable[[list[str], torch.Tensor], None] | None = None,
                       analysers: dict[str, Callable[[list[np.ndarray]], np.ndarray]] | None = None) -> Generated:
    """Run the generator over the probe voices in batches and embed what it draws.

    Voices are loaded with ``benchmark.audio.load_audio``, zero-padded to the longest in the batch into
    float32 ``[B, T]`` with int64 lengths ``[B]``, moved to ``device``, and passed with their ids.

    Args:
        on_batch: optional callback ``(ids, faces uint8 [B, 3, H, W])`` (e.g. to save PNGs).
        analysers: optional ``{name: f(list of uint8 [H, W, 3]) -> array [B, ...]}`` run on every batch; the
            outputs are concatenated into ``Generated.extra[name]`` (e.g. gender/age predictions).

    Raises:
        GeneratorOutputError: the generator returned something malformed (``check_faces``).
        DataError: a voice cannot be read.
    """
    from tqdm import tqdm

    paths = {u.id: u.path for u in manifest.utterances}
    name = getattr(getattr(generator, "meta", None), "name", type(generator).__name__)
    vecs, flags, size = [], [], (0, 0)
    extra: dict[str, list[np.ndarray]] = {name: [] for name in (analysers or {})}
    bar = tqdm(total=len(utterance_ids), desc=f"generate+judge ({name})", unit="voice", disable=not progress,
               leave=False)
    for start in range(0, len(utterance_ids), batch_size):
        ids = list(utterance_ids[start:start + batch_size])
        waves = [load_audio(paths[u]) for u in ids]
        lengths = torch.tensor([len(w) for w in waves], dtype=torch.int64)  # [B]
        batch = torch.zeros(len(ids), int(lengths.max()), dtype=torch.float32)  # [B, T]
        for i, w in enumerate(waves):
            batch[i, : len(w)] = torch.from_numpy(w)
        with torch.no_grad():
            faces = generator.generate(batch.to(device), lengths.to(device), ids)
        faces = check_faces(faces, len(ids), name)  # [B, 3, H, W] uint8, CPU
        size = (int(faces.shape[2]), int(faces.shape[3]))
        if on_batch is not None:
            on_batch(ids, faces)
        images = to_hwc_arrays(faces)
        emb = judge.embed(images)
        vecs.append(emb.vectors)
        flags.append(emb.aligned)
        for name, analyse in (analysers or {}).items():
            extra[name].append(np.asarray(analyse(images)))
        bar.update(len(ids))
    bar.close()
    return Generated(list(utterance_ids), np.concatenate(vecs), np.concatenate(flags), size,
                     {name: np.concatenate(parts) for name, parts in extra.items()})


def trials_path(manifest: Manifest, spec: ProtocolSpec, seed: int) -> Path:
    """Where a trial file is frozen: ``<cache>/trials/<dataset>-<manifest sha[:12]>/<protocol>-v<version>-seed<seed>.csv``."""
    return (cache_dir() / "trials" / f"{manifest.dataset_id}-{manifest.sha256()[:12]}"
            / f"{spec.name}-v{spec.version}-seed{seed}.csv")


def default_result_path(results_dir: Path, dataset: str, model_name: str, protocol: str, seed: int) -> Path:
    """``<results_dir>/<dataset>/<model>/<protocol>-seed<seed>.json``."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in model_name)
    return Path(results_dir) / dataset / safe / f"{protocol}-seed{seed}.json"



def expand_protocols(names: Sequence[str]) -> list[ProtocolSpec]:
    """Specs for protocol names; "all" expands to every registered protocol (registry order)."""
    out: list[str] = []
    for name in names:
        out += list(PROTOCOLS) if name == "all" else [name]
    return [get_protocol(n) for n in dict.fromkeys(out)]


def run_many(model: str, protocols: Sequence[str], dataset: str = "toy", *,
             data_root: str | os.PathLike[str] | None = None, data_dir: str | os.PathLike[str] | None = None,
             device: str = "cpu", seed: int = 0, batch_size: int = 16, model_args: dict | None = None,
             out: str | os.PathLike[str] | None = None, results_dir: str | os.PathLike[str] = "leaderboards/results",
             use_cache: bool = True, progress: bool = True, write: bool = True, strict: bool = True,
             analysers: dict[str, Callable] | None = None,
             on_batch: Callable[[list[str], torch.Tensor], None] | None = None,
             before_scoring: Callable[..., Generated | None] | None = None) -> list[dict]:
    """Score a generator on one or more protocols of a dataset, and write one result JSON per protocol.

    Real faces are embedded once (cached on disk), and the generator runs once over the union of the
    protocols' probe utterances.

    Args:
        model: a registered name, ``file.py:Factory``, ``module:Factory`` or an entry-point name.
        protocols: protocol names (``bench ls protocols``); "all" means every registered one.
        dataset: a registered dataset name (``bench ls datasets``); "toy" is generated on first use.
        data_root: the dataset's own directory (overrides the data directory).
        data_dir: the folder holding ``<dataset>/`` directories (see ``benchmark.settings``).
        device: torch device for the generator and the metrics ("cpu", "cuda", "cuda:0").
        seed: seeds the trials, the generator's per-utterance randomness and the bootstrap.
        batch_size: voices per generator call (scores do not depend on it).
        model_args: keyword arguments for the model's factory (``--model-arg k=v``).
        out: result file path (single protocol only); default
            ``<results_dir>/<dataset>/<model>/<protocol>-seed<seed>.json``.
        results_dir: the folder of stored results.
        use_cache: use the on-disk judge cache (``--no-cache`` turns it off).
        progress: show tqdm progress bars.
        write: write result files (tests may turn it off).
        strict: raise ``ProtocolUnavailable`` when a protocol cannot run; if False, such a protocol yields a
            result dict ``{"skipped": reason, "protocol": {...}}`` and is not written.
        analysers: extra analyses of generated faces, ``{name: f(images) -> array}`` (see
            ``generate_and_embed``); tasks that need them declare it in ``NEEDS``.
        on_batch: callback on every generated batch (see ``generate_and_embed``).
        before_scoring: optional hook called once, after generation and before any protocol is scored, as
            ``before_scoring(generator=..., generated=Generated, real=FaceTable, plans={protocol: Plan})``; it
            may return a replacement ``Generated`` that the tasks then score (``bench score --allow-missing``
            marks missing faces there), or None to keep it (``bench run --plots`` reads the similarities).

    Returns:
        One result dict per protocol, in order (schema: ``benchmark.results``), with ``"path"`` when written.

    Raises:
        BenchError: unknown model/protocol/dataset, unreadable data, malformed generator output, or (strict)
            a protocol that cannot run on the dataset.
    """
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise BenchError(f"device {device!r} requested but torch sees no CUDA device; use --device cpu.")
    specs = expand_protocols(protocols)
    if out and len(specs) > 1:
        raise BenchError("--out names one file; with several protocols use --results-dir instead.")
    timing: dict[str, float] = {}
    t0 = time.perf_counter()
    factory = resolve_model(model)
    manifest = load_dataset(dataset, data_root=data_root, data_dir_override=data_dir)
    tasks = {spec.name: get_task(spec.task) for spec in specs}
    if len({spec.gallery_source for spec in specs}) > 1:
        raise BenchError("protocols with different gallery sources cannot share one run; run them separately.")
    analysers = dict(analysers or {})
    for need in sorted(set().union(*(tasks[s.name].NEEDS for s in specs)) - {"embedding"} - set(analysers)):
        from benchmark.registry import import_object

        analysers[need] = import_object(lookup(need, ANALYSERS, "analyser"))()
    timing["manifest_s"] = time.perf_counter() - t0

    cache = EmbeddingCache(cache_dir() / "embeddings.sqlite" if use_cache else None)
    judge = DlibJudge(cache=cache)
    try:
        t = time.perf_counter()
        needed: dict[str, Face] = {}
        for spec in specs:
            needed.update({f.id: f for f in tasks[spec.name].faces_needed(manifest, spec)})
        real = embed_real_faces(judge, sorted(needed.values(), key=lambda f: f.id), progress=progress)
        timing["real_faces_s"] = time.perf_counter() - t

        plans, skipped = {}, {}
        for spec in specs:
            try:
                plans[spec.name] = tasks[spec.name].build(manifest, spec, seed, real)
            except ProtocolUnavailable as exc:
                if strict:
                    raise
                skipped[spec.name] = str(exc)
        probes = sorted({p for plan in plans.values() for p in plan.probes})
        check_probe_audio(manifest, probes)

        generated = None
        if plans:
            t = time.perf_counter()
            ctx = GeneratorContext(manifest=manifest, seed=seed, device=device,
                                   gallery_source=specs[0].gallery_source,
                                   load_face=lambda face: load_image(face.path), utterance_ids=tuple(probes))
            generator = factory(ctx, **(model_args or {}))
            timing["generator_init_s"] = time.perf_counter() - t
            t = time.perf_counter()
            generated = generate_and_embed(generator, judge, manifest, probes, batch_size, device, progress,
                                           on_batch=on_batch, analysers=analysers)
            timing["generate_and_embed_s"] = time.perf_counter() - t
            if before_scoring is not None:
                generated = before_scoring(generator=generator, generated=generated, real=real,
                                           plans=plans) or generated
    finally:
        cache.close()

    results = []
    for spec in specs:
        if spec.name in skipped:
            results.append({"skipped": skipped[spec.name], "protocol": {"name": spec.name, "version": spec.version}})
            continue
        t = time.perf_counter()
        plan = plans[spec.name]
        task_scores = tasks[spec.name].score(plan, generated, real, manifest, spec, device, seed)
        tpath = plan.trials.save(trials_path(manifest, spec, seed))
        result = {
            "schema_version": SCHEMA_VERSION,
            "suite_version": __version__,
            "git_commit": git_commit(),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "protocol": {"name": spec.name, "version": spec.version, "spec": spec.to_dict()},
            "trials": {"sha256": plan.trials.sha256, "count": len(plan.trials), "probes": len(plan.probes),
                       "path": str(tpath), "excluded_identities": plan.trials.excluded, **plan.info},
            "dataset": {"id": manifest.dataset_id, "manifest_sha256": manifest.sha256(), "root": manifest.root,
                        "summary": manifest.summary(), "excluded_identities": manifest.excluded,
                        "synthetic": manifest.dataset_id == "toy"},
            "judge": asdict(judge.info),
            "generator": {**asdict(generator.meta), "spec": model, "args": dict(model_args or {})},
            "seed": seed,
            "device": device,
            "batch_size": batch_size,
            "scores": task_scores.scores,
            "strata": task_scores.strata,
            "info": task_scores.info,
            "inputs": {
                "real_faces_embedded": len(real.ids),
                "real_faces_blank_excluded": len(real.blank),
                "real_faces_blank_ids": real.blank,
                "real_faces_aligned": int(real.aligned.sum()),
                "real_faces_centre_crop": int((~real.aligned).sum()),
                "generated_faces": len(generated.utterance_ids),
                "generated_aligned": int(generated.aligned.sum()),
                "generated_centre_crop": int((~generated.aligned).sum()),
                "generated_image_size": list(generated.image_size),
            },
            "timing": {**{k: round(v, 3) for k, v in timing.items()},
                       "score_s": round(time.perf_counter() - t, 3),
                       "total_s": round(time.perf_counter() - t0, 3)},
            "environment": environment(),
        }
        if write:
            path = Path(out) if out else default_result_path(Path(results_dir), manifest.dataset_id,
                                                             generator.meta.name, spec.name, seed)
            write_result(path, result)
            result["path"] = str(path)
        results.append(result)
    return results


def run(model: str, protocol: str, dataset: str = "toy", **kwargs) -> dict:
    """Score a generator on one protocol: ``run_many(model, [protocol], dataset, **kwargs)[0]``.

    Keyword arguments and errors are those of ``run_many`` (a protocol that cannot run raises
    ``ProtocolUnavailable``).
    """
    return run_many(model, [protocol], dataset, **kwargs)[0]
