"""The engine: one plain function per arrow of the design card's data flow, and ``run`` that chains them.

    manifest -> real gallery faces -> judge (cached) -> trials (seeded, hashed)
    probe voices (16 kHz) -> generator -> faces (uint8) -> judge -> metric (torch, device) -> aggregate -> JSON
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from benchmark import __version__
from benchmark.aggregate import summarize
from benchmark.audio import audio_duration, load_audio
from benchmark.cache import EmbeddingCache
from benchmark.data import Face, Manifest
from benchmark.datasets import load_dataset
from benchmark.errors import BenchError, DataError
from benchmark.generator import GeneratorContext, check_faces
from benchmark.images import is_blank, load_image, to_hwc_arrays
from benchmark.judge import DlibJudge
from benchmark.metrics import match_1to2
from benchmark.registry import resolve_model
from benchmark.results import SCHEMA_VERSION, environment, git_commit, write_result
from benchmark.settings import cache_dir
from benchmark.trials import Trials, build_match_trials
from protocols import ProtocolSpec, get_protocol

FACE_CHUNK = 256
"""Real faces are decoded and embedded this many at a time (bounded memory; the cache keeps each chunk)."""


@dataclass
class FaceTable:
    """Judge embeddings of real faces.

    Attributes:
        ids: face ids, row order of ``vectors``.
        vectors: float32 ``[F, 128]``.
        aligned: bool ``[F]``.
        blank: ids of faces found blank and excluded.
    """

    ids: list[str]
    vectors: np.ndarray
    aligned: np.ndarray
    blank: list[str]

    def index(self) -> dict[str, int]:
        return {f: i for i, f in enumerate(self.ids)}


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


@dataclass
class Generated:
    """Judge embeddings of generated faces: ``vectors`` float32 ``[U, 128]`` for ``utterance_ids``."""

    utterance_ids: list[str]
    vectors: np.ndarray
    aligned: np.ndarray
    image_size: tuple[int, int]


def generate_and_embed(generator, judge: DlibJudge, manifest: Manifest, utterance_ids: Sequence[str],
                       batch_size: int, device: str, progress: bool = True,
                       on_batch: Callable[[list[str], torch.Tensor], None] | None = None) -> Generated:
    """Run the generator over the probe voices in batches and embed what it draws.

    Voices are loaded with ``benchmark.audio.load_audio``, zero-padded to the longest in the batch into
    float32 ``[B, T]`` with int64 lengths ``[B]``, moved to ``device``, and passed with their ids.

    Args:
        on_batch: optional callback ``(ids, faces uint8 [B, 3, H, W])`` (e.g. to save PNGs).

    Raises:
        GeneratorOutputError: the generator returned something malformed (``check_faces``).
        DataError: a voice cannot be read.
    """
    from tqdm import tqdm

    paths = {u.id: u.path for u in manifest.utterances}
    name = getattr(getattr(generator, "meta", None), "name", type(generator).__name__)
    vecs, flags, size = [], [], (0, 0)
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
        emb = judge.embed(to_hwc_arrays(faces))
        vecs.append(emb.vectors)
        flags.append(emb.aligned)
        bar.update(len(ids))
    bar.close()
    return Generated(list(utterance_ids), np.concatenate(vecs), np.concatenate(flags), size)


def score_match_1to2(trials: Trials, generated: Generated, real: FaceTable, device: str) -> torch.Tensor:
    """Per-trial 1:2 matching outcomes, float32 ``[N]`` on ``device`` (vectorised gathers, no trial loop)."""
    dev = torch.device(device)
    gen = torch.from_numpy(generated.vectors).to(dev)  # [U, D]
    faces = torch.from_numpy(real.vectors).to(dev)  # [F, D]
    g_index = {u: i for i, u in enumerate(generated.utterance_ids)}
    f_index = real.index()
    gi = torch.tensor([g_index[p] for p in trials.probe], device=dev)  # [N]
    ti = torch.tensor([f_index[f] for f in trials.true_face], device=dev)  # [N]
    ii = torch.tensor([f_index[f] for f in trials.imposter_face], device=dev)  # [N]
    return match_1to2(gen[gi], faces[ti], faces[ii])  # [N]


def trials_path(manifest: Manifest, spec: ProtocolSpec, seed: int) -> Path:
    """Where a trial file is frozen: ``<cache>/trials/<dataset>-<manifest sha[:12]>/<protocol>-v<version>-seed<seed>.csv``."""
    return (cache_dir() / "trials" / f"{manifest.dataset_id}-{manifest.sha256()[:12]}"
            / f"{spec.name}-v{spec.version}-seed{seed}.csv")


def default_result_path(results_dir: Path, dataset: str, model_name: str, protocol: str, seed: int) -> Path:
    """``<results_dir>/<dataset>/<model>/<protocol>-seed<seed>.json``."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in model_name)
    return Path(results_dir) / dataset / safe / f"{protocol}-seed{seed}.json"


def run(model: str, protocol: str, dataset: str = "toy", *, data_root: str | os.PathLike[str] | None = None,
        data_dir: str | os.PathLike[str] | None = None, device: str = "cpu", seed: int = 0, batch_size: int = 16,
        model_args: dict | None = None, out: str | os.PathLike[str] | None = None,
        results_dir: str | os.PathLike[str] = "leaderboards/results", use_cache: bool = True,
        progress: bool = True, write: bool = True) -> dict:
    """Score a generator on one protocol and dataset, and write the result JSON.

    Args:
        model: a registered name, ``file.py:Factory``, ``module:Factory`` or an entry-point name.
        protocol: a registered protocol name (``bench ls protocols``).
        dataset: a registered dataset name (``bench ls datasets``); "toy" is generated on first use.
        data_root: the dataset's own directory (overrides the data directory).
        data_dir: the folder holding ``<dataset>/`` directories (see ``benchmark.settings``).
        device: torch device for the generator and the metrics ("cpu", "cuda", "cuda:0").
        seed: seeds the trials, the generator's per-utterance randomness and the bootstrap.
        batch_size: voices per generator call (scores do not depend on it).
        model_args: keyword arguments for the model's factory (``--model-arg k=v``).
        out: result file path; default ``<results_dir>/<dataset>/<model>/<protocol>-seed<seed>.json``.
        results_dir: the folder of stored results.
        use_cache: use the on-disk judge cache (``--no-cache`` turns it off).
        progress: show tqdm progress bars.
        write: write the result file (tests may turn it off).

    Returns:
        The result dict (schema: ``benchmark.results``), with ``"path"`` set when written.

    Raises:
        BenchError: unknown model/protocol/dataset, unreadable data, malformed generator output, or a
            protocol that cannot run on the dataset (``ProtocolUnavailable``).
    """
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise BenchError(f"device {device!r} requested but torch sees no CUDA device; use --device cpu.")
    timing: dict[str, float] = {}
    t0 = time.perf_counter()
    spec = get_protocol(protocol)
    factory = resolve_model(model)
    manifest = load_dataset(dataset, data_root=data_root, data_dir_override=data_dir)
    timing["manifest_s"] = time.perf_counter() - t0

    cache = EmbeddingCache(cache_dir() / "embeddings.sqlite" if use_cache else None)
    judge = DlibJudge(cache=cache)
    try:
        t = time.perf_counter()
        probe_ids = {i.id for i in manifest.split(spec.probe_split)}
        gallery = [f for f in manifest.faces if f.identity in probe_ids and f.source == spec.gallery_source]
        real = embed_real_faces(judge, gallery, progress=progress)
        timing["real_faces_s"] = time.perf_counter() - t

        if spec.task != "match-1to2":
            raise BenchError(f"protocol {spec.name!r} has task {spec.task!r}, which this engine does not score.")
        trials = build_match_trials(manifest, spec, seed, set(real.ids))
        tpath = trials.save(trials_path(manifest, spec, seed))
        probes = sorted(set(trials.probe))
        check_probe_audio(manifest, probes)

        t = time.perf_counter()
        ctx = GeneratorContext(manifest=manifest, seed=seed, device=device, gallery_source=spec.gallery_source,
                               load_face=lambda face: load_image(face.path))
        generator = factory(ctx, **(model_args or {}))
        timing["generator_init_s"] = time.perf_counter() - t
        t = time.perf_counter()
        generated = generate_and_embed(generator, judge, manifest, probes, batch_size, device, progress)
        timing["generate_and_embed_s"] = time.perf_counter() - t
    finally:
        cache.close()

    t = time.perf_counter()
    values = score_match_1to2(trials, generated, real, device)  # [N]
    agg = dict(n_boot=spec.bootstrap, level=spec.ci_level, seed=seed)
    scores = {spec.metric: summarize(values, trials.speaker, **agg)}
    strata = {}
    for stratum in sorted(set(trials.stratum)):
        mask = [s == stratum for s in trials.stratum]
        idx = torch.tensor([i for i, m in enumerate(mask) if m], device=values.device)
        strata[f"gender={stratum}"] = {spec.metric: summarize(values[idx], [trials.speaker[i] for i in idx.tolist()], **agg)}
    timing["score_s"] = time.perf_counter() - t
    timing["total_s"] = time.perf_counter() - t0

    result = {
        "schema_version": SCHEMA_VERSION,
        "suite_version": __version__,
        "git_commit": git_commit(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "protocol": {"name": spec.name, "version": spec.version, "spec": spec.to_dict()},
        "trials": {"sha256": trials.sha256, "count": len(trials), "probes": len(probes), "path": str(tpath),
                   "excluded_identities": trials.excluded},
        "dataset": {"id": manifest.dataset_id, "manifest_sha256": manifest.sha256(), "root": manifest.root,
                    "summary": manifest.summary(), "excluded_identities": manifest.excluded,
                    "synthetic": manifest.dataset_id == "toy"},
        "judge": asdict(judge.info),
        "generator": {**asdict(generator.meta), "spec": model, "args": dict(model_args or {})},
        "seed": seed,
        "device": device,
        "batch_size": batch_size,
        "scores": scores,
        "strata": strata,
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
        "timing": {k: round(v, 3) for k, v in timing.items()},
        "environment": environment(),
    }
    if write:
        path = Path(out) if out else default_result_path(Path(results_dir), manifest.dataset_id, generator.meta.name,
                                                         spec.name, seed)
        write_result(path, result)
        result["path"] = str(path)
    return result
