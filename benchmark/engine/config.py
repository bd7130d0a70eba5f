"""What a run is asked to do: one frozen ``RunConfig``, and where its results and frozen trials are written.

``bench run`` (``benchmark.engine.run.run_many``), ``bench score`` (``benchmark.engine.submission.score``, with the
folder generator) and ``bench trials`` (``plan_protocols``, with no generator) all build a ``RunConfig`` and hand
it to the phases (plan -> embed -> score -> record). It is validated on construction and cannot change after.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from benchmark.engine.preflight import check_run_args
from benchmark.errors import BenchError
from benchmark.judges import DEFAULT_JUDGE
from benchmark.settings import cache_dir
from benchmark.settings import results_dir as default_results_dir


@dataclass(frozen=True)
class RunConfig:
    """One run's settings (the keyword arguments of ``run_many``), frozen and checked on construction.

    Attributes:
        model: the generator spec (a registered name, ``file.py:Factory``, ``module:Factory``, an entry point or
            ``benchmark.generators.folder.FOLDER_SPEC``); None plans trials only (``bench trials``).
        protocols: protocol names, in order ("all" expands to every registered one); a single string is one name.
        dataset: a registered dataset name.
        data_root: the dataset's own directory, or None.
        data_dir: the folder holding ``<dataset>/`` directories, or None.
        device: torch device of the generator and the metrics.
        seed: seeds the trials, the generator's per-utterance randomness and the bootstrap (whole number ≥ 0).
        batch_size: voices per generator call (whole number ≥ 1; scores do not depend on it).
        model_args: keyword arguments of the model's factory (a read-only mapping).
        out: result file (single protocol only), or None for ``default_result_path``.
        results_dir: folder results are written to (None on input: ``benchmark.settings.results_dir()``,
            resolved on construction).
        split: the evaluated split expression, or None for each protocol's own.
        use_cache: read and write the on-disk caches.
        progress: progress bars.
        write: write result files.
        strict: a protocol that cannot run raises (True) or is reported as skipped (False).
        skip_conformance: do not run the plug-in conformance check (recorded).
        judge: the judge's registry name (``benchmark.judges.JUDGES``).
        judge_device: torch device of the judge.
        two_face_speakers: score on the oracle's population only (speakers with a second face; issue 20 §2), so
            that the ceiling has comparable rows; recorded in the result file's name.

    Raises:
        BenchError: on construction, a batch size < 1 or seed < 0 (or not whole numbers), an empty protocol list,
            a model, dataset or judge that is not a non-empty string, or model arguments that are not a mapping.
    """

    model: str | None
    protocols: tuple[str, ...]
    dataset: str = "toy"
    data_root: str | os.PathLike[str] | None = None
    data_dir: str | os.PathLike[str] | None = None
    device: str = "cpu"
    seed: int = 0
    batch_size: int = 16
    model_args: Mapping[str, object] = field(default_factory=dict)
    out: str | os.PathLike[str] | None = None
    results_dir: Path | None = None
    split: str | None = None
    use_cache: bool = True
    progress: bool = True
    write: bool = True
    strict: bool = True
    skip_conformance: bool = False
    judge: str = DEFAULT_JUDGE
    judge_device: str = "cpu"
    two_face_speakers: bool = False

    def __post_init__(self) -> None:
        protocols = (self.protocols,) if isinstance(self.protocols, str) else tuple(self.protocols)
        if not protocols or not all(isinstance(p, str) and p for p in protocols):
            raise BenchError(f"name at least one protocol (bench ls protocols), not {self.protocols!r}.")
        if self.model is not None and (not isinstance(self.model, str) or not self.model):
            raise BenchError(f"--model must name a generator (bench ls models), not {self.model!r}.")
        for what, value in (("--dataset", self.dataset), ("--judge", self.judge)):
            if not isinstance(value, str) or not value:
                raise BenchError(f"{what} must be a name, not {value!r}.")
        if not isinstance(self.model_args or {}, Mapping):
            raise BenchError(f"model arguments must be a mapping of name -> value, not {self.model_args!r}.")
        check_run_args(self.batch_size, self.seed)
        object.__setattr__(self, "protocols", protocols)
        object.__setattr__(self, "model_args", MappingProxyType(dict(self.model_args or {})))
        results_dir = Path(self.results_dir) if self.results_dir is not None else default_results_dir()
        object.__setattr__(self, "results_dir", results_dir)

    def result_path(self, dataset_folder: str, generator_name: str, protocol: str, split: str,
                    two_face_speakers: bool = False) -> Path:
        """Where the result of ``protocol`` is written: ``out`` if given, else ``default_result_path``
        (``dataset_folder``: ``benchmark.data.identity.result_folder``; ``split``: the evaluated split)."""
        if self.out:
            return Path(self.out)
        return default_result_path(self.results_dir, dataset_folder, generator_name, protocol, self.seed, self.judge,
                                   split=split, two_face_speakers=two_face_speakers)


def default_result_path(results_dir: Path, dataset: str, model_name: str, protocol: str, seed: int,
                        judge: str = DEFAULT_JUDGE, split: str | None = None,
                        two_face_speakers: bool = False) -> Path:
    """``<results_dir>/<dataset>/<split>/<model>/<protocol>-seed<seed>.json`` for the default judge
    (``benchmark.judges.DEFAULT_JUDGE``, dlib-torch since issue 22), and ``<protocol>-seed<seed>-judge-<judge>.json``
    for any other (``dlib`` included), so that two judges' results never overwrite each other. ``dataset`` is
    ``benchmark.data.identity.result_folder`` (the name, plus the fingerprint for a manifest or a partial copy) and
    ``split`` the evaluated split, so that runs on another split or another copy never overwrite each other either;
    without ``split`` the layout results had before (``<dataset>/<model>/...``, read alike: readers find results by
    ``rglob``); ``-two-face-speakers`` before the judge part for a run on the oracle's population
    (``RunConfig.two_face_speakers``). Names pass ``benchmark.safety.path_component`` (a generator named ``..`` is
    refused).

    Raises:
        BenchError: a name that is not safe as a path component (``benchmark.safety``).
    """
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


def trials_path(manifest, spec, seed: int) -> Path:
    """Where a trial file is frozen: ``<cache>/trials/<dataset>-<manifest sha[:12]>/<protocol>-v<version>-seed<seed>.csv``
    (``manifest``: a ``benchmark.data.manifest.Manifest``; ``spec``: a ``protocols.ProtocolSpec``)."""
    return (cache_dir() / "trials" / f"{manifest.dataset_id}-{manifest.sha256()[:12]}"
            / f"{spec.name}-v{spec.version}-seed{seed}.csv")
