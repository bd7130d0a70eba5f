"""The record phase: one protocol's scores with their provenance, as a typed ``Result`` (``benchmark.results``).

``record_protocol`` takes what the earlier phases returned — the ``RunPlan`` (dataset, trials, real faces, judge),
the ``Drawn`` generator and faces, the task's ``TaskScores`` — and builds the ``Result`` the run writes. The only
things a generator adds are its ``meta`` and, when it has one, its ``info_record(probes)`` (e.g. ``bench score``'s
``info.submission``: ``benchmark.generators.base``); nothing edits a result after it is built.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import datetime, timezone

from benchmark import __version__
from benchmark.data.datasets import root_label
from benchmark.data.fingerprint import files_fingerprint
from benchmark.data.manifest import Manifest
from benchmark.engine.config import trials_path
from benchmark.engine.embed import Drawn
from benchmark.engine.plan import RunPlan
from benchmark.results.io import SCHEMA_VERSION, environment, git_commit
from benchmark.results.schema import Result
from benchmark.settings import cache_dir, caching_enabled
from benchmark.tasks.base import TaskScores
from protocols import ProtocolSpec, get_protocol


def freeze_trials(trials, manifest: Manifest, spec: ProtocolSpec, seed: int) -> str | None:
    """Save a plan's trials to ``benchmark.engine.config.trials_path`` and return that path relative to the cache
    directory (``"<cache>/trials/…"``, meaningful on any machine); with caching off (``--no-cache``) save nothing
    and return None (the result still records the trials' sha256)."""
    if not caching_enabled():
        return None
    path = trials.save(trials_path(manifest, spec, seed))
    return "<cache>/" + path.relative_to(cache_dir()).as_posix()


def dataset_overrides(spec: ProtocolSpec) -> dict:
    """The fields of ``spec`` that its dataset fixed (``benchmark.data.datasets.dataset_spec``): ``{field: value}`` where
    it differs from the registered protocol, leaving out the evaluated split (recorded as ``evaluated_split``)."""
    registered = get_protocol(spec.name).to_dict()
    return {k: v for k, v in spec.to_dict().items()
            if k not in ("probe_split", "reference_split") and registered.get(k) != v}


def manifest_record(dataset: str) -> dict:
    """``{"manifest": where}`` for a run on a manifest named by path (``benchmark.data.manifest_io.manifest_reference``:
    where ``bench check`` looks for it again), else {} (a registered dataset or a plug-in is found by its name)."""
    from benchmark.data.datasets import DATASETS
    from benchmark.data.manifest_io import looks_like_manifest, manifest_reference

    if dataset in DATASETS or not looks_like_manifest(dataset):
        return {}
    return {"manifest": manifest_reference(dataset)}


def record_protocol(planned: RunPlan, drawn: Drawn, spec: ProtocolSpec, scores: TaskScores, timing: dict[str, float],
                    started: float, score_started: float) -> Result:
    """Build the ``Result`` of protocol ``spec`` (schema and key order: ``benchmark.results.schema``).

    Freezes the protocol's trials in the cache (``freeze_trials``) and fingerprints the dataset files it read
    (``benchmark.data.fingerprint.files_fingerprint``: the real faces it uses and its probe voices).

    Args:
        planned: the run's plan (config, dataset, trials, real faces, judge).
        drawn: the generator and its judged faces.
        spec: the protocol (one of ``planned.plans``).
        scores: what ``benchmark.engine.score.score_protocol`` returned for it.
        timing: seconds of the run's shared steps (``manifest_s``, ``real_faces_s``, ``generator_init_s``,
            ``generate_and_embed_s``), rounded to ms in the result.
        started, score_started: ``time.perf_counter()`` at the run's start and at this protocol's scoring
            (``score_s`` and ``total_s``).

    Returns:
        The validated ``Result``.

    Raises:
        ResultSchemaError: a task or generator produced a field of the wrong type (a bug, named with the field).
    """
    config, manifest, real, generated = planned.config, planned.manifest, planned.real, drawn.generated
    plan, generator = planned.plans[spec.name], drawn.generator
    faces = planned.faces_needed(spec)
    tpath = freeze_trials(plan.trials, manifest, spec, config.seed)
    paths = {u.id: u.path for u in manifest.utterances}
    files = files_fingerprint(manifest.root, [f.path for f in faces] + [paths[u] for u in plan.probes],
                              use_cache=config.use_cache)
    overrides = dataset_overrides(spec)
    info = dict(scores.info)
    record = getattr(generator, "info_record", None)
    if record is not None:
        info.update(record(list(plan.probes)))
    data = {
        "schema_version": SCHEMA_VERSION,
        "suite_version": __version__,
        "git_commit": git_commit(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "protocol": {"name": spec.name, "version": spec.version, "spec": spec.to_dict(),
                     **({"dataset_overrides": overrides} if overrides else {})},
        "trials": {"sha256": plan.trials.sha256, "count": len(plan.trials), "probes": len(plan.probes),
                   "path": tpath, "excluded_identities": plan.trials.excluded, **plan.info},
        "dataset": {"id": manifest.dataset_id, "manifest_sha256": manifest.sha256(), "files": files,
                    "root": root_label(config.dataset, config.data_root, config.data_dir), "partial": planned.setup.partial,
                    "summary": manifest.summary(), "excluded_identities": manifest.excluded,
                    "synthetic": manifest.dataset_id == "toy", "identity": planned.setup.identity,
                    **manifest_record(config.dataset)},
        "judge": {**asdict(planned.judge_info), "name": config.judge, "device": config.judge_device},
        "generator": {**asdict(generator.meta), "spec": config.model, "args": dict(config.model_args)},
        "conformance": drawn.conformance,
        "evaluated_split": spec.probe_split,
        "seed": config.seed,
        "device": config.device,
        "batch_size": config.batch_size,
        "scores": scores.scores,
        "strata": scores.strata,
        "info": info,
        "inputs": {
            "real_faces_embedded": len(real.ids),
            "real_faces_scope": [s.name for s in planned.setup.specs if s.name in planned.plans],
            "real_faces_this_protocol": len(set(real.ids) & {f.id for f in faces}),
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
                   "score_s": round(time.perf_counter() - score_started, 3),
                   "total_s": round(time.perf_counter() - started, 3)},
        "environment": environment(),
    }
    return Result.from_dict(data, "", f"result of {spec.name} being built")
