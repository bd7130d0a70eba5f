"""The engine's chain: plan -> embed -> score -> record, one plain function per phase, and ``run`` that chains them.

    preflight, prepare, plan_trials   manifest -> real faces -> judge (cached) -> trials per protocol    [plan]
    build_for_run, gate_generator     the generator built for the probes; protocols it may not take left out
    draw_faces                        probe voices (16 kHz) -> generator -> faces (uint8) -> judge       [embed]
    score_protocol                    task metric (torch, device) -> aggregate (value, 95 % CI, strata)  [score]
    record_protocol                   -> ``Result`` (``benchmark.results.schema``) -> result JSON        [record]

``execute(config)`` runs the chain for one frozen ``RunConfig``: ``bench run`` (``run_many``, ``run``) and
``bench score`` (``benchmark.engine.submission.score``, the folder generator) both call it. Several protocols in one
call share the real-face embeddings and one generation pass over the union of their probes.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable, Sequence

import torch

from benchmark.engine.config import RunConfig
from benchmark.engine.embed import build_for_run, check_probe_audio, draw_faces, needed_analysers, open_judge
from benchmark.engine.plan import gate_generator, plan_trials, preflight, prepare
from benchmark.engine.preflight import check_out_file
from benchmark.engine.record import record_protocol
from benchmark.engine.score import score_protocol
from benchmark.errors import BenchError
from benchmark.generators.build import check_model_args
from benchmark.generators.registry import resolve_model
from benchmark.judges import DEFAULT_JUDGE
from benchmark.log import stage
from benchmark.results.save import save_result
from benchmark.settings import caching_off


def execute(config: RunConfig, *, analysers: dict[str, Callable] | None = None,
            on_batch: Callable[[list[str], torch.Tensor], None] | None = None,
            observe: Callable[..., None] | None = None) -> list[dict]:
    """Run the phases for ``config`` and write (``config.write``) one result file per protocol.

    Args:
        config: the run.
        analysers: extra analyses of generated faces (``benchmark.engine.embed.generate_and_embed``).
        on_batch: callback on every generated batch, ``(ids, faces uint8 [B, 3, H, W])``.
        observe: called once after generation, before scoring, as ``observe(generator=..., generated=Generated,
            real=FaceTable, plans={protocol: Plan})`` (``bench run --plots`` and ``bench sheet`` read the
            embeddings); it only looks: it must return None, and what it gets is what is scored.

    Returns:
        One result dict per protocol of ``config.protocols``, in order (``Result.to_dict()``, with ``"path"`` when
        written); a protocol that cannot run (``config.strict`` False) gives ``{"skipped": reason, "protocol":
        {"name", "version"}}``.

    Raises:
        BenchError: as ``run_many``; also when ``observe`` returns something.
    """
    with caching_off(not config.use_cache):
        return _execute(config, analysers, on_batch, observe)


def _execute(config: RunConfig, analysers, on_batch, observe) -> list[dict]:
    specs = preflight(config)  # everything that can be refused is refused before any work
    timing: dict[str, float] = {}
    t0 = time.perf_counter()
    factory = resolve_model(config.model)
    check_model_args(factory, dict(config.model_args), config.model)
    setup = prepare(config, specs, factory)
    analysers = needed_analysers(setup.needs, analysers)
    timing["manifest_s"] = time.perf_counter() - t0

    drawn = None
    with open_judge(config) as judge:
        t = time.perf_counter()
        planned = plan_trials(setup, judge)
        timing["real_faces_s"] = time.perf_counter() - t
        stage(f"checking {len(planned.probes)} probe audio files")
        check_probe_audio(planned.manifest, planned.probes)
        if planned.plans:
            t = time.perf_counter()
            generator = build_for_run(config, factory, planned.manifest, setup.specs[0].gallery_source,
                                      planned.probes)
            timing["generator_init_s"] = time.perf_counter() - t
            planned = gate_generator(planned, generator)
        if planned.plans:
            if config.write and not config.out:  # the exact result paths, now that the generator's name is known
                for spec in setup.specs:
                    if spec.name in planned.plans:
                        check_out_file(_result_path(setup, generator.meta.name, spec),
                                       fix="Move it away or pass another --results-dir.")
            drawn = draw_faces(config, generator, judge, planned.manifest, planned.probes, analysers, on_batch)
            timing["generate_and_embed_s"] = drawn.seconds
            if observe is not None and observe(generator=generator, generated=drawn.generated, real=planned.real,
                                               plans=dict(planned.plans)) is not None:
                raise BenchError("a run's observer (before_scoring) returned a value: it may only look at what is "
                                 "scored, not replace it.")

    results = []
    for spec in setup.specs:
        if spec.name in planned.skipped:
            results.append({"skipped": planned.skipped[spec.name],
                            "protocol": {"name": spec.name, "version": spec.version}})
            continue
        t = time.perf_counter()
        scores = score_protocol(planned, drawn, spec)
        result = record_protocol(planned, drawn, spec, scores, timing, t0, t)
        out = result.to_dict()
        if config.write:  # a full disk is reported after the scores are printed (benchmark.results.save)
            save_result(_result_path(setup, drawn.generator.meta.name, spec), out)
        results.append(out)
    return results


def _result_path(setup, generator_name: str, spec) -> Path:
    """Where protocol ``spec``'s result of this run is written (``RunConfig.result_path``)."""
    from benchmark.data.identity import result_folder

    return setup.config.result_path(result_folder(setup.identity), generator_name, spec.name, spec.probe_split,
                                    setup.two_face_speakers)


def run_many(model: str, protocols: Sequence[str], dataset: str = "toy", *,
             data_root: str | os.PathLike[str] | None = None, data_dir: str | os.PathLike[str] | None = None,
             device: str = "cpu", seed: int = 0, batch_size: int = 16, model_args: dict | None = None,
             out: str | os.PathLike[str] | None = None, results_dir: str | os.PathLike[str] | None = None,
             split: str | None = None, use_cache: bool = True, progress: bool = True, write: bool = True,
             strict: bool = True, skip_conformance: bool = False, judge: str = DEFAULT_JUDGE,
             judge_device: str = "cpu", two_face_speakers: bool = False,
             analysers: dict[str, Callable] | None = None,
             on_batch: Callable[[list[str], torch.Tensor], None] | None = None,
             before_scoring: Callable[..., None] | None = None) -> list[dict]:
    """Score a generator on one or more protocols of a dataset, and write one result JSON per protocol.

    Builds a ``RunConfig`` from the keyword arguments and runs ``execute``: real faces are embedded once (cached on
    disk), and the generator runs once over the union of the protocols' probe utterances.

    Args:
        model: a registered name, ``file.py:Factory``, ``module:Factory`` or an entry-point name.
        protocols: protocol names (``bench ls protocols``); "all" means every registered one.
        dataset: a registered dataset name (``bench ls datasets``); "toy" is generated on first use.
        data_root: the dataset's own directory (overrides the data directory).
        data_dir: the folder holding ``<dataset>/`` directories (see ``benchmark.settings``).
        device: torch device for the generator and the metrics ("cpu", "cuda", "cuda:0").
        judge: the judge's registry name (``bench ls judges``; ``benchmark.judges.JUDGES``). Recorded in every
            result (``judge.name`` beside its ``JudgeInfo``); results of a judge other than the default are
            written to ``<protocol>-seed<seed>-judge-<judge>.json`` (``benchmark.engine.config.default_result_path``).
        judge_device: torch device for the judge ("cpu" by default; the dlib judge runs on the CPU only).
        two_face_speakers: score on the oracle's population (``RunConfig.two_face_speakers``).
        seed: seeds the trials, the generator's per-utterance randomness and the bootstrap.
        split: the evaluated split expression (``benchmark.engine.plan.evaluated_spec``); None scores each
            protocol's own split ("test"). Recorded in every result as ``evaluated_split``.
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
            ``benchmark.generators.build.conformance_gate``); the result records ``conformance.status = "skipped"``.
        progress: show tqdm progress bars.
        write: write result files (tests may turn it off).
        strict: raise ``ProtocolUnavailable`` when a protocol cannot run; if False, such a protocol yields a
            result dict ``{"skipped": reason, "protocol": {...}}`` and is not written.
        analysers: extra analyses of generated faces, ``{name: f(images) -> array}`` (see
            ``benchmark.engine.embed.generate_and_embed``); tasks that need them declare it in ``NEEDS``.
        on_batch: callback on every generated batch (see ``generate_and_embed``).
        before_scoring: an observer called once, after generation and before any protocol is scored, as
            ``before_scoring(generator=..., generated=Generated, real=FaceTable, plans={protocol: Plan})``
            (``bench run --plots`` reads the similarities); it must return None (``execute``'s ``observe``).

    Returns:
        One result dict per protocol, in order (schema: ``benchmark.results.schema``), with ``"path"`` when written.

    Raises:
        BenchError: unknown model/protocol/dataset, unreadable data, malformed generator output, or (strict)
            a protocol that cannot run on the dataset; before any work, bad arguments or a results folder,
            ``out`` file or cache that cannot be written (``benchmark.engine.plan.preflight``).
        GeneratorError: the generator cannot be built, has no meta, takes no such model argument, raised while
            generating (naming its batch's utterances), or (a plug-in) failed the conformance check.
    """
    config = RunConfig(model=model, protocols=protocols, dataset=dataset, data_root=data_root,
                       data_dir=data_dir, device=device, seed=seed, batch_size=batch_size,
                       model_args=model_args or {}, out=out, results_dir=results_dir, split=split,
                       use_cache=use_cache, progress=progress, write=write, strict=strict,
                       skip_conformance=skip_conformance, judge=judge, judge_device=judge_device,
                       two_face_speakers=two_face_speakers)
    return execute(config, analysers=analysers, on_batch=on_batch, observe=before_scoring)


def run(model: str, protocol: str, dataset: str = "toy", **kwargs) -> dict:
    """Score a generator on one protocol: ``run_many(model, [protocol], dataset, **kwargs)[0]``.

    Keyword arguments and errors are those of ``run_many`` (a protocol that cannot run raises
    ``ProtocolUnavailable``).
    """
    return run_many(model, [protocol], dataset, **kwargs)[0]
