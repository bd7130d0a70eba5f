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
from benchmark.data.audio import audio_problems, load_audio
from benchmark.judges.cache import EmbeddingCache
from benchmark.data.manifest import Face, Manifest
from benchmark.data.datasets import completeness, dataset_spec, load_dataset, root_label
from benchmark.data.identity import dataset_identity, result_folder
from benchmark.errors import BenchError, DataError, ProtocolUnavailable
from benchmark.data.fingerprint import files_fingerprint
from benchmark.generators.base import GeneratorContext, check_faces
from benchmark.data.heldout import check_declared
from benchmark.data.images import is_blank, load_image, to_hwc_arrays, too_small
from benchmark.log import stage
from benchmark.engine.preflight import (build_generator, check_cache, check_model_args, check_out_file, check_outputs,
                                 check_run_args, conformance_gate, generation_failed)
from benchmark.judges import DEFAULT_JUDGE, Judge, judge_class, make_judge
from benchmark.registry import lookup, resolve_model
from benchmark.results.io import SCHEMA_VERSION, environment, git_commit
from benchmark.results.save import save_result
from benchmark.settings import cache_dir, caching_enabled, honours_no_cache
from benchmark.settings import results_dir as default_results_dir
from benchmark.tasks import get_task
from benchmark.tasks.base import FaceTable, Generated
from benchmark.trials.builders import drop_single_face_identities
from protocols import PROTOCOLS, ProtocolSpec, get_protocol

ANALYSERS: dict[str, str] = {
    "attributes": "benchmark.judges.attributes:factory",
}
"""Analyses of generated faces that tasks can ask for in ``NEEDS`` beyond "embedding":
name -> "module:factory", where ``factory()`` returns ``f(list of uint8 [H, W, 3]) -> array [B, ...]``."""

FACE_CHUNK = 256
"""Real faces are decoded and embedded this many at a time (bounded memory; the cache keeps each chunk)."""


def embed_real_faces(judge: Judge, faces: Sequence[Face], progress: bool = True) -> FaceTable:
    """Decode, screen and embed real faces, in chunks of ``FACE_CHUNK``.

    Blank images (``benchmark.data.images.is_blank``) and images smaller than ``benchmark.data.images.MIN_FACE_SIDE`` on
    a side (``too_small``: the judge's minimum, the rule generated faces follow too) are excluded and listed
    (``FaceTable.blank``, ``FaceTable.small``). Unreadable images are collected, the others still embedded (and
    cached), and then one ``DataError`` lists every unreadable file.

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


def voice_batch(paths: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Load voices as a generator receives them (``benchmark.generators.base``): ``benchmark.data.audio.load_audio`` (16 kHz
    mono float32 in [-1, 1]), zero-padded after each clip to the longest.

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


def generate_and_embed(generator, judge: Judge, manifest: Manifest, utterance_ids: Sequence[str],
                       batch_size: int, device: str, progress: bool = True,
                       on_batch: Callable[[list[str], torch.Tensor], None] | None = None,
                       analysers: dict[str, Callable[[list[np.ndarray]], np.ndarray]] | None = None) -> Generated:
    """Run the generator over the probe voices in batches and embed what it draws.

    Voices are loaded with ``benchmark.data.audio.load_audio``, zero-padded to the longest in the batch into
    float32 ``[B, T]`` with int64 lengths ``[B]``, moved to ``device``, and passed with their ids.

    A blank generated image (no spatial variation, ``benchmark.data.images.is_blank``) is a *failed face*, as a
    missing one is in ``bench score``: it is not embedded, its embedding row and analyser rows are NaN, its
    id is listed in ``Generated.failed``, and every task scores it as a failure (decision metrics: wrong;
    continuous metrics: the trial is excluded and counted — ``benchmark.tasks.base.aggregate``).

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


def freeze_trials(trials, manifest: Manifest, spec: ProtocolSpec, seed: int) -> str | None:
    """Save a plan's trials to ``trials_path`` and return that path relative to the cache directory
    (``"<cache>/trials/…"``, meaningful on any machine); with caching off (``--no-cache``) save nothing and
    return None (the result still records the trials' sha256)."""
    if not caching_enabled():
        return None
    path = trials.save(trials_path(manifest, spec, seed))
    return "<cache>/" + path.relative_to(cache_dir()).as_posix()


def trials_path(manifest: Manifest, spec: ProtocolSpec, seed: int) -> Path:
    """Where a trial file is frozen: ``<cache>/trials/<dataset>-<manifest sha[:12]>/<protocol>-v<version>-seed<seed>.csv``."""
    return (cache_dir() / "trials" / f"{manifest.dataset_id}-{manifest.sha256()[:12]}"
            / f"{spec.name}-v{spec.version}-seed{seed}.csv")


def default_result_path(results_dir: Path, dataset: str, model_name: str, protocol: str, seed: int,
                        judge: str = DEFAULT_JUDGE, split: str | None = None,
                        two_face_speakers: bool = False) -> Path:
    """``<results_dir>/<dataset>/<split>/<model>/<protocol>-seed<seed>.json`` for the default judge
    (``benchmark.judges.DEFAULT_JUDGE``, dlib-torch since issue 22), and ``<protocol>-seed<seed>-judge-<judge>.json``
    for any other (``dlib`` included), so that two judges' results never overwrite each other. ``dataset`` is
    ``benchmark.data.identity.result_folder`` (the name, plus the fingerprint for a manifest or a partial copy) and
    ``split`` the evaluated split, so that runs on another split or another copy never overwrite each other either;
    without ``split`` the layout results had before (``<dataset>/<model>/...``, read alike: readers find results by
    ``rglob``); ``-two-face-speakers`` before the judge part for a run on the oracle's population (``run_many``'s
    ``two_face_speakers``). Names pass ``benchmark.safety.path_component`` (a generator named ``..`` is refused)."""
    from benchmark.safety import path_component

    suffix = (("-two-face-speakers" if two_face_speakers else "")
              + ("" if judge == DEFAULT_JUDGE else f"-judge-{path_component(judge, 'judge name')}"))
    folder = Path(results_dir) / path_component(dataset, "dataset id")
    if split:
        folder = folder / check_split_folder(split)
    name = f"{path_component(protocol, 'protocol name')}-seed{seed}{suffix}.json"
    return folder / path_component(model_name, "generator name") / name


def check_split_folder(split: str) -> str:
    """The folder name of an evaluated split expression ("test", "validation+test", ...): kept as the result
    records it, after ``benchmark.safety.check_name`` ('+' is allowed there)."""
    from benchmark.safety import check_name

    return check_name(split, "evaluated split")



def expand_protocols(names: Sequence[str]) -> list[ProtocolSpec]:
    """Specs for protocol names; "all" expands to every registered protocol (registry order)."""
    out: list[str] = []
    for name in names:
        out += list(PROTOCOLS) if name == "all" else [name]
    return [get_protocol(n) for n in dict.fromkeys(out)]


def evaluated_spec(spec: ProtocolSpec, split: str | None) -> ProtocolSpec:
    """The spec a run scores when it names an evaluated split (``bench run --split``).

    Protocols probe the "test" split (Wen et al. 2019, Table 1) unless a run names another split expression
    (``benchmark.data.manifest.parse_split``: "validation", "validation+test", "all", ...); then the probe split — and an
    open-set reference split that equals it — becomes that expression. The result records it
    (``evaluated_split``), and the leaderboard never ranks rows of different splits together.

    Args:
        spec: the registered protocol.
        split: a split expression, or None for the protocol's own.

    A protocol whose probes are fixed by its own rule (``id-topk-seen``: the training speakers' held-out
    videos) keeps its split whatever ``split`` says; its result records that split.

    Returns:
        ``spec`` itself (None, the protocol's own split, or a protocol with a fixed split) or a copy with the new
        probe split.

    Raises:
        DataError: an unknown split name.
    """
    from dataclasses import replace

    from benchmark.data.manifest import split_name

    if split is None:
        return spec
    name = split_name(split)
    if name == spec.probe_split or spec.probe_split != "test":
        return spec
    reference = name if spec.reference_split == spec.probe_split else spec.reference_split
    return replace(spec, probe_split=name, reference_split=reference)


def dataset_overrides(spec: ProtocolSpec) -> dict:
    """The fields of ``spec`` that its dataset fixed (``benchmark.data.datasets.dataset_spec``): ``{field: value}`` where
    it differs from the registered protocol, leaving out the evaluated split (recorded as ``evaluated_split``)."""
    registered = get_protocol(spec.name).to_dict()
    return {k: v for k, v in spec.to_dict().items()
            if k not in ("probe_split", "reference_split") and registered.get(k) != v}


def resolve_specs(protocols: Sequence[str], split: str | None) -> list[ProtocolSpec]:
    """The specs a run scores, in order: ``expand_protocols``, then ``evaluated_spec`` with ``split``.

    Raises:
        BenchError: unknown protocol or split.
    """
    return [evaluated_spec(spec, split) for spec in expand_protocols(protocols)]


def check_split_disjoint(spec: ProtocolSpec, meta, dataset_id: str, training_identities=None,
                         manifest: Manifest | None = None) -> None:
    """Refuse to score a generator on a split it may have learned from.

    A generator that declares ``dataset_id`` among its ``training_datasets`` learned from that dataset's
    training split, so a probe split expression that includes "train" would score it on its own training
    data. A generator that lists the identities it trained on (``training_identities``: a checkpoint of
    ``bench train`` records them, ``baselines.trained.TrainedGenerator``) is refused, whatever dataset it was
    trained on, when any of them is an identity of the evaluated split (VoxCeleb1 IDs are the same in every
    dataset). (``id-topk-seen`` is exempt: it probes held-out videos, guarded by ``benchmark.data.heldout``.)

    Args:
        spec: the protocol as scored (``probe_split`` is the evaluated split).
        meta: the generator's ``GeneratorMeta``.
        dataset_id: the scored dataset.
        training_identities: VoxCeleb1 IDs the generator trained on, or None when it records none.
        manifest: the scored dataset (needed with ``training_identities``).

    Raises:
        ProtocolUnavailable: the evaluated split includes "train" and the generator trained on this dataset, or
            the evaluated split holds an identity the generator trained on (the message names how many and some).
    """
    from benchmark.data.manifest import parse_split

    if spec.holdout:
        return
    if training_identities and manifest is not None:
        seen = sorted(set(training_identities) & {i.id for i in manifest.split(spec.probe_split)})
        if seen:
            raise ProtocolUnavailable(
                f"generator {meta.name!r} was trained on {len(seen)} identities of the {spec.probe_split!r} split of "
                f"{dataset_id!r} (e.g. {', '.join(seen[:3])}; its checkpoint lists them); protocol {spec.name!r} would "
                "score it on its own training identities. Choose a split without them (e.g. test).")
    if "train" not in parse_split(spec.probe_split):
        return
    if dataset_id in tuple(getattr(meta, "training_datasets", ()) or ()):
        raise ProtocolUnavailable(
            f"generator {meta.name!r} was trained on (or draws faces from) the training split of {dataset_id!r}; "
            f"protocol {spec.name!r} on split {spec.probe_split!r} would score it on its own training identities. "
            "Choose a split without 'train' (test, validation, validation+test).")


@honours_no_cache
def run_many(model: str, protocols: Sequence[str], dataset: str = "toy", *,
             data_root: str | os.PathLike[str] | None = None, data_dir: str | os.PathLike[str] | None = None,
             device: str = "cpu", seed: int = 0, batch_size: int = 16, model_args: dict | None = None,
             out: str | os.PathLike[str] | None = None, results_dir: str | os.PathLike[str] | None = None,
             split: str | None = None, use_cache: bool = True, progress: bool = True, write: bool = True,
             strict: bool = True, skip_conformance: bool = False, judge: str = DEFAULT_JUDGE,
             judge_device: str = "cpu", two_face_speakers: bool = False,
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
        judge: the judge's registry name (``bench ls judges``; ``benchmark.judges.JUDGES``). Recorded in every
            result (``judge.name`` beside its ``JudgeInfo``); results of a judge other than the default are
            written to ``<protocol>-seed<seed>-judge-<judge>.json`` (``default_result_path``).
        judge_device: torch device for the judge ("cpu" by default; the dlib judge runs on the CPU only).
        seed: seeds the trials, the generator's per-utterance randomness and the bootstrap.
        split: the evaluated split expression (``evaluated_spec``); None scores each protocol's own split
            ("test"). Recorded in every result as ``evaluated_split``.
        batch_size: voices per generator call (scores do not depend on it).
        model_args: keyword arguments for the model's factory (``--model-arg k=v``).
        out: result file path (single protocol only); default ``default_result_path``
            (``<results_dir>/<dataset>/<model>/<protocol>-seed<seed>.json`` for the default judge).
        results_dir: the folder results are written to; default ``benchmark.settings.results_dir()``
            (``$VOICE2FACE_RESULTS_DIR`` or ``./results``), never the committed ``leaderboards/results``
            unless named.
        use_cache: use the on-disk caches (judge, speaker, attribute embeddings, file digests, frozen trial
            files); False (``--no-cache``) reads and writes none of them (``benchmark.settings.caching_off``).
        skip_conformance: do not run the conformance check on a plug-in generator (``--skip-conformance``;
            ``benchmark.engine.preflight.conformance_gate``); the result records ``conformance.status = "skipped"``.
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
        One result dict per protocol, in order (schema: ``benchmark.results.io``), with ``"path"`` when written.

    Raises:
        BenchError: unknown model/protocol/dataset, unreadable data, malformed generator output, or (strict)
            a protocol that cannot run on the dataset; before any work, bad arguments or a results folder,
            ``out`` file or cache that cannot be written (``benchmark.engine.preflight``).
        GeneratorError: the generator cannot be built, has no meta, takes no such model argument, raised while
            generating (naming its batch's utterances), or (a plug-in) failed the conformance check.
    """
    for option, dev in (("--device", device), ("--judge-device", judge_device)):
        if str(dev).startswith("cuda") and not torch.cuda.is_available():
            raise BenchError(f"{option} {dev!r} requested but torch sees no CUDA device; use {option} cpu.")
    specs, skipped = resolve_specs(protocols, split), {}
    if out and len(specs) > 1:
        raise BenchError("--out names one file; with several protocols use --results-dir instead.")
    check_run_args(batch_size, seed)  # everything that can be refused is refused before any work
    results_dir = Path(results_dir) if results_dir is not None else default_results_dir()
    if write:
        check_outputs(out, results_dir)
    check_cache(use_cache)
    judge_class(judge)  # an unknown or unavailable judge is refused before any work
    timing: dict[str, float] = {}
    t0 = time.perf_counter()
    factory = resolve_model(model)
    check_model_args(factory, model_args, model)
    stage(f"loading dataset {dataset}")
    manifest = load_dataset(dataset, data_root=data_root, data_dir_override=data_dir, progress=progress)
    partial = completeness(manifest)
    identity = dataset_identity(manifest, partial)  # before any generator-specific exclusion (the oracle's)
    if partial:
        stage(f"WARNING: dataset {dataset} is a {partial['note']}")
    specs = [dataset_spec(spec, manifest) for spec in specs]  # e.g. vox1-s2f: VoxCeleb1-crop gallery
    shows_probe_clip = getattr(factory, "SHOWS_PROBE_CLIP_FACE", False) and bool(specs) and \
        specs[0].gallery_source == "voxceleb"
    if specs and (shows_probe_clip or two_face_speakers):  # issue 20 §2: the oracle's population, for every row
        manifest = drop_single_face_identities(manifest, specs[0].gallery_source, getattr(factory, "__name__", model)
                                               if shows_probe_clip else "the oracle (this run: its population)")
    two_face_speakers = two_face_speakers and not shows_probe_clip  # the oracle's own rows keep their name
    tasks = {spec.name: get_task(spec.task) for spec in specs}
    split_of = {spec.name: spec.probe_split for spec in specs}
    if len({spec.gallery_source for spec in specs}) > 1:
        raise BenchError("protocols with different gallery sources cannot share one run; run them separately.")
    analysers = dict(analysers or {})
    for need in sorted(set().union(*(tasks[s.name].NEEDS for s in specs)) - {"embedding"} - set(analysers)):
        from benchmark.registry import import_object

        analysers[need] = import_object(lookup(need, ANALYSERS, "analyser"))()
    timing["manifest_s"] = time.perf_counter() - t0

    cache = EmbeddingCache(cache_dir() / "embeddings.sqlite" if use_cache else None)
    face_judge = None
    try:
        face_judge = make_judge(judge, cache=cache, device=judge_device)
        t = time.perf_counter()
        needed: dict[str, Face] = {}
        for spec in specs:
            needed.update({f.id: f for f in tasks[spec.name].faces_needed(manifest, spec)})
        stage(f"judge: embedding {len(needed)} real faces with judge {judge} (the galleries of {len(specs)} "
              "protocol(s); cached ones are read back)")
        real = embed_real_faces(face_judge, sorted(needed.values(), key=lambda f: f.id), progress=progress)
        timing["real_faces_s"] = time.perf_counter() - t

        plans = {}
        for spec in specs:
            try:
                plans[spec.name] = tasks[spec.name].build(manifest, spec, seed, real)
            except ProtocolUnavailable as exc:
                if strict:
                    raise
                skipped[spec.name] = str(exc)
        probes = sorted({p for plan in plans.values() for p in plan.probes})
        stage(f"checking {len(probes)} probe audio files")
        check_probe_audio(manifest, probes)

        generated = None
        if plans:
            t = time.perf_counter()
            ctx = GeneratorContext(manifest=manifest, seed=seed, device=device,
                                   gallery_source=specs[0].gallery_source,
                                   load_face=lambda face: load_image(face.path), utterance_ids=tuple(probes))
            stage(f"building generator {model}")
            generator = build_generator(factory, ctx, model_args, model)
            timing["generator_init_s"] = time.perf_counter() - t
            for spec in specs:
                if spec.name not in plans:
                    continue
                try:
                    if spec.holdout:
                        check_declared(spec.name, generator.meta.name, generator.meta.holdout_rule)
                    check_split_disjoint(spec, generator.meta, manifest.dataset_id,
                                         getattr(generator, "training_identities", None), manifest)
                except ProtocolUnavailable as exc:
                    if strict:
                        raise
                    skipped[spec.name] = str(exc)
                    del plans[spec.name]
            probes = sorted({p for plan in plans.values() for p in plan.probes})
        if plans:
            if write and not out:  # the exact result paths, now that the generator's name is known
                for planned in plans:
                    check_out_file(default_result_path(results_dir, result_folder(identity), generator.meta.name,
                                                       planned, seed, judge, split=split_of[planned],
                                                       two_face_speakers=two_face_speakers),
                                   fix="Move it away or pass another --results-dir.")
            conformance = conformance_gate(generator, model, manifest, probes, device, skip_conformance)
            t = time.perf_counter()
            stage(f"generating and judging {len(probes)} faces with {generator.meta.name}")
            generated = generate_and_embed(generator, face_judge, manifest, probes, batch_size, device, progress,
                                           on_batch=on_batch, analysers=analysers)
            timing["generate_and_embed_s"] = time.perf_counter() - t
            if before_scoring is not None:
                generated = before_scoring(generator=generator, generated=generated, real=real,
                                           plans=plans) or generated
    finally:
        if face_judge is not None:
            face_judge.close()
        cache.close()

    results = []
    for spec in specs:
        if spec.name in skipped:
            results.append({"skipped": skipped[spec.name], "protocol": {"name": spec.name, "version": spec.version}})
            continue
        t = time.perf_counter()
        plan = plans[spec.name]
        stage(f"scoring {spec.name}")
        task_scores = tasks[spec.name].score(plan, generated, real, manifest, spec, device, seed)
        tpath = freeze_trials(plan.trials, manifest, spec, seed)
        paths = {u.id: u.path for u in manifest.utterances}
        files = files_fingerprint(manifest.root, [f.path for f in tasks[spec.name].faces_needed(manifest, spec)]
                                  + [paths[u] for u in plan.probes], use_cache=use_cache)
        result = {
            "schema_version": SCHEMA_VERSION,
            "suite_version": __version__,
            "git_commit": git_commit(),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "protocol": {"name": spec.name, "version": spec.version, "spec": spec.to_dict(),
                         **({"dataset_overrides": dataset_overrides(spec)} if dataset_overrides(spec) else {})},
            "trials": {"sha256": plan.trials.sha256, "count": len(plan.trials), "probes": len(plan.probes),
                       "path": tpath, "excluded_identities": plan.trials.excluded, **plan.info},
            "dataset": {"id": manifest.dataset_id, "manifest_sha256": manifest.sha256(), "files": files,
                        "root": root_label(dataset, data_root, data_dir), "partial": partial,
                        "summary": manifest.summary(), "excluded_identities": manifest.excluded,
                        "synthetic": manifest.dataset_id == "toy", "identity": identity},
            "judge": {**asdict(face_judge.info), "name": judge, "device": judge_device},
            "generator": {**asdict(generator.meta), "spec": model, "args": dict(model_args or {})},
            "conformance": conformance,
            "evaluated_split": spec.probe_split,
            "seed": seed,
            "device": device,
            "batch_size": batch_size,
            "scores": task_scores.scores,
            "strata": task_scores.strata,
            "info": task_scores.info,
            "inputs": {
                "real_faces_embedded": len(real.ids),
                "real_faces_scope": [s.name for s in specs if s.name in plans],
                "real_faces_this_protocol": len(set(real.ids) & {f.id for f in tasks[spec.name].faces_needed(
                    manifest, spec)}),
                "real_faces_small_excluded": len(real.small),
                "real_faces_small_ids": real.small,
                "real_faces_blank_excluded": len(real.blank),
                "real_faces_blank_ids": real.blank,
                "real_faces_detected": int(real.aligned.sum()),
                "real_faces_fallback_box": int((~real.aligned).sum()),
                "generated_faces": len(generated.utterance_ids),
                "generated_detected": int(generated.aligned.sum()),
                "generated_fallback_box": int((~generated.aligned).sum()) - len(generated.failed),
                "generated_failed_blank": len(generated.failed),
                "generated_failed_ids": list(generated.failed),
                "generated_image_size": list(generated.image_size),
            },
            "timing": {**{k: round(v, 3) for k, v in timing.items()},
                       "score_s": round(time.perf_counter() - t, 3),
                       "total_s": round(time.perf_counter() - t0, 3)},
            "environment": environment(),
        }
        if write:
            path = Path(out) if out else default_result_path(Path(results_dir), result_folder(identity),
                                                             generator.meta.name, spec.name, seed, judge,
                                                             split=spec.probe_split,
                                                             two_face_speakers=two_face_speakers)
            save_result(path, result)  # a full disk is reported after the scores are printed (results.save)
        results.append(result)
    return results


def run(model: str, protocol: str, dataset: str = "toy", **kwargs) -> dict:
    """Score a generator on one protocol: ``run_many(model, [protocol], dataset, **kwargs)[0]``.

    Keyword arguments and errors are those of ``run_many`` (a protocol that cannot run raises
    ``ProtocolUnavailable``).
    """
    return run_many(model, [protocol], dataset, **kwargs)[0]
