"""The plan phase: from a ``RunConfig`` to the frozen trials of each protocol, before any generator runs.

    preflight(config)          -> specs        everything that can be refused is refused before any work
    prepare(config, specs)     -> RunSetup     dataset loaded, specs fixed by the dataset, one task per protocol
    plan_trials(setup, judge)  -> RunPlan      real faces embedded (cached), each task's trials built (seeded, hashed)
    gate_generator(plan, gen)  -> RunPlan      protocols the built generator may not be scored on left out (or refused)

``bench run`` and ``bench score`` go on to the embed, score and record phases (``benchmark.engine.run``);
``bench trials`` stops here (``benchmark.engine.submission.plan_protocols``), so its probes and trial hashes are
those of a run with the same seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

import torch

from benchmark.data.datasets import completeness, dataset_spec, load_dataset
from benchmark.data.heldout import check_declared
from benchmark.data.identity import dataset_identity
from benchmark.data.manifest import Face, Manifest, parse_split, split_name
from benchmark.engine.config import RunConfig
from benchmark.engine.embed import embed_real_faces
from benchmark.engine.preflight import check_cache, check_outputs
from benchmark.errors import BenchError, ProtocolUnavailable
from benchmark.judges import Judge, JudgeInfo, judge_class
from benchmark.log import stage
from benchmark.tasks import get_task
from benchmark.tasks.base import FaceTable, Plan
from benchmark.trials.builders import drop_single_face_identities
from protocols import PROTOCOLS, ProtocolSpec, get_protocol


@dataclass(frozen=True)
class RunSetup:
    """What ``prepare`` made of a ``RunConfig``: the dataset and the protocols as they will be scored.

    Attributes:
        config: the run's settings.
        manifest: the dataset (without single-face identities when the generator shows a probe clip's face).
        partial: None, or what a partial copy of a full dataset lacks (``benchmark.data.datasets.completeness``).
        specs: the protocols, in order, as the dataset fixes them (``dataset_spec``) and with the evaluated split.
        tasks: protocol name -> its task module (``benchmark.tasks``).
        identity: the data's identity (``benchmark.data.identity.dataset_identity``, taken before any exclusion a
            generator asks for): recorded in every result and naming its folder.
        two_face_speakers: the run scores the oracle's population for a generator that is not the oracle (the
            result file's name says so; ``RunConfig.two_face_speakers``).
    """

    config: RunConfig
    manifest: Manifest
    partial: dict | None
    specs: tuple[ProtocolSpec, ...]
    tasks: dict
    identity: dict = field(default_factory=dict)
    two_face_speakers: bool = False

    @property
    def needs(self) -> set[str]:
        """The union of the tasks' ``NEEDS`` (analyses of generated faces, "embedding" included)."""
        return set().union(*(self.tasks[s.name].NEEDS for s in self.specs))


@dataclass(frozen=True)
class RunPlan:
    """The frozen trials of a run: ``RunSetup`` plus the embedded real faces and one ``Plan`` per protocol.

    Attributes:
        setup: the dataset and protocols.
        real: the real faces' judge embeddings (``FaceTable``), shared by every protocol of the run.
        judge_info: the judge's ``JudgeInfo`` (recorded in every result).
        plans: protocol name -> its ``Plan`` (trials, probes, info), for the protocols that can run.
        skipped: protocol name -> why it cannot run (only when ``config.strict`` is False).
    """

    setup: RunSetup
    real: FaceTable
    judge_info: JudgeInfo
    plans: dict[str, Plan] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def config(self) -> RunConfig:
        return self.setup.config

    @property
    def manifest(self) -> Manifest:
        return self.setup.manifest

    @property
    def probes(self) -> list[str]:
        """The sorted union of the planned protocols' probe utterance ids."""
        return sorted({p for plan in self.plans.values() for p in plan.probes})

    def faces_needed(self, spec: ProtocolSpec) -> list[Face]:
        """The real faces protocol ``spec`` uses (its task's ``faces_needed``)."""
        return self.setup.tasks[spec.name].faces_needed(self.manifest, spec)


def preflight(config: RunConfig) -> list[ProtocolSpec]:
    """Refuse, before any work, what a run cannot do, and return the protocols it will score.

    Checks, in order: a CUDA ``device`` / ``judge_device`` torch cannot see; unknown protocols or split
    (``resolve_specs``); ``out`` with several protocols; with ``config.write``, the ``out`` file or results folder
    cannot be written (``benchmark.engine.preflight.check_outputs``); the cache cannot be written
    (``check_cache``); an unknown or unavailable judge. (Batch size and seed: ``RunConfig`` itself.)

    Returns:
        The registered specs with the evaluated split (``resolve_specs``), before the dataset fixes them.

    Raises:
        BenchError: the first problem found, naming the option and the fix.
    """
    for option, dev in (("--device", config.device), ("--judge-device", config.judge_device)):
        if str(dev).startswith("cuda") and not torch.cuda.is_available():
            raise BenchError(f"{option} {dev!r} requested but torch sees no CUDA device; use {option} cpu.")
    specs = resolve_specs(config.protocols, config.split)
    if config.out and len(specs) > 1:
        raise BenchError("--out names one file; with several protocols use --results-dir instead.")
    if config.write:
        check_outputs(config.out, config.results_dir)
    check_cache(config.use_cache)
    judge_class(config.judge)  # an unknown or unavailable judge is refused before any work
    return specs


def prepare(config: RunConfig, specs: Sequence[ProtocolSpec], factory: Callable | None = None) -> RunSetup:
    """Load the dataset and fix the protocols on it.

    Args:
        config: the run's settings (dataset, data_root, data_dir, progress).
        specs: what ``preflight`` returned.
        factory: the generator's factory, or None (``bench trials``); a factory with ``SHOWS_PROBE_CLIP_FACE``
            on a VoxCeleb1-crop gallery drops the identities with a single face
            (``benchmark.trials.builders.drop_single_face_identities``).

    Returns:
        A ``RunSetup``.

    Raises:
        BenchError: unknown dataset, unreadable data, or protocols with different gallery sources.
    """
    stage(f"loading dataset {config.dataset}")
    manifest = load_dataset(config.dataset, data_root=config.data_root, data_dir_override=config.data_dir,
                            progress=config.progress)
    partial = completeness(manifest)
    identity = dataset_identity(manifest, partial)  # before any generator-specific exclusion (the oracle's)
    if partial:
        stage(f"WARNING: dataset {config.dataset} is a {partial['note']}")
    specs = [dataset_spec(spec, manifest) for spec in specs]  # e.g. vox1-s2f: VoxCeleb1-crop gallery
    shows_probe_clip = (factory is not None and getattr(factory, "SHOWS_PROBE_CLIP_FACE", False) and bool(specs)
                        and specs[0].gallery_source == "voxceleb")
    if specs and (shows_probe_clip or config.two_face_speakers):  # issue 20 §2: the oracle's population, every row
        who = getattr(factory, "__name__", config.model) if shows_probe_clip else "the oracle (this run: its population)"
        manifest = drop_single_face_identities(manifest, specs[0].gallery_source, who)
    tasks = {spec.name: get_task(spec.task) for spec in specs}
    if len({spec.gallery_source for spec in specs}) > 1:
        raise BenchError("protocols with different gallery sources cannot share one run; run (or export) them "
                         "separately.")
    return RunSetup(config=config, manifest=manifest, partial=partial, specs=tuple(specs), tasks=tasks,
                    identity=identity, two_face_speakers=config.two_face_speakers and not shows_probe_clip)


def plan_trials(setup: RunSetup, judge: Judge) -> RunPlan:
    """Embed the real faces every protocol needs (once, through the judge cache) and build each task's trials.

    Args:
        setup: what ``prepare`` returned.
        judge: the run's judge (``benchmark.engine.embed.open_judge``).

    Returns:
        A ``RunPlan``; a protocol that cannot run on the dataset is in ``skipped`` (``config.strict`` False).

    Raises:
        DataError: unreadable real faces (``embed_real_faces``).
        ProtocolUnavailable: (strict) a protocol cannot run on the dataset.
    """
    config, manifest = setup.config, setup.manifest
    needed: dict[str, Face] = {}
    for spec in setup.specs:
        needed.update({f.id: f for f in setup.tasks[spec.name].faces_needed(manifest, spec)})
    stage(f"judge: embedding {len(needed)} real faces with judge {config.judge} (the galleries of "
          f"{len(setup.specs)} protocol(s); cached ones are read back)")
    real = embed_real_faces(judge, sorted(needed.values(), key=lambda f: f.id), progress=config.progress)
    plans, skipped = {}, {}
    for spec in setup.specs:
        try:
            plans[spec.name] = setup.tasks[spec.name].build(manifest, spec, config.seed, real)
        except ProtocolUnavailable as exc:
            if config.strict:
                raise
            skipped[spec.name] = str(exc)
    return RunPlan(setup=setup, real=real, judge_info=judge.info, plans=plans, skipped=skipped)


def gate_generator(planned: RunPlan, generator) -> RunPlan:
    """Leave out (or, strict, refuse) the protocols the built generator may not be scored on: a held-out protocol
    whose rule it does not declare (``benchmark.data.heldout.check_declared``), or a split it may have learned from
    (``check_split_disjoint``).

    Returns:
        ``planned`` with those protocols moved from ``plans`` to ``skipped`` (a new ``RunPlan``).

    Raises:
        ProtocolUnavailable: (strict) the first such protocol.
    """
    plans, skipped = dict(planned.plans), dict(planned.skipped)
    for spec in planned.setup.specs:
        if spec.name not in plans:
            continue
        try:
            if spec.holdout:
                check_declared(spec.name, generator.meta.name, generator.meta.holdout_rule)
            check_split_disjoint(spec, generator.meta, planned.manifest.dataset_id,
                                 getattr(generator, "training_identities", None), planned.manifest)
        except ProtocolUnavailable as exc:
            if planned.config.strict:
                raise
            skipped[spec.name] = str(exc)
            del plans[spec.name]
    return replace(planned, plans=plans, skipped=skipped)


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
    if split is None:
        return spec
    name = split_name(split)
    if name == spec.probe_split or spec.probe_split != "test":
        return spec
    reference = name if spec.reference_split == spec.probe_split else spec.reference_split
    return replace(spec, probe_split=name, reference_split=reference)


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
