"""Submissions: score face images made elsewhere (``bench score``), and export what to make (``bench trials``).

``score`` checks what only a submission needs (its name, ``--allow-missing`` against the tasks, the folder) and
then runs the engine's phases (``benchmark.engine.run.execute``) with the folder generator
(``benchmark.generators.folder.FolderGenerator``, recorded as ``FOLDER_SPEC``): the same plan, embed, score and
record steps as ``bench run``, so a submission is scored exactly as a generator that returned the same bytes (same
trials, same judge, same cache keys, same result schema). The folder generator reports its missing and unreadable
faces through the engine's general hooks (``failed_utterances``, ``info_record``: ``benchmark.generators.base``):
the embed phase scores them as failures and the record phase stores ``info.submission``.

``--allow-missing``: every trial a failed face takes part in counts as wrong (1:2 matching: accuracy 0 for that
trial, never the 0.5 of a tie). Only tasks known to do so accept failures (``FAILURE_AWARE_TASKS``, or a task
module that declares ``NAN_IS_FAILURE = True``); for the others ``--allow-missing`` is refused before any work.

``plan_protocols`` / ``export_trials`` (``bench trials``) run the plan phase alone (``benchmark.engine.plan``), so
the probes and trial hashes they export are those of a run with the same seed.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import replace
from pathlib import Path
from typing import Sequence

from benchmark.data.datasets import dataset_root
from benchmark.engine.config import RunConfig, default_result_path
from benchmark.engine.embed import open_judge
from benchmark.data.identity import dataset_folder_hint
from benchmark.engine.plan import evaluated_spec, expand_protocols, plan_trials, preflight, prepare
from benchmark.engine.preflight import check_out_file, check_outputs, check_writable_dir
from benchmark.engine.record import freeze_trials
from benchmark.engine.run import execute
from benchmark.errors import BenchError
from benchmark.generators.folder import (FAILURE_RULE, FOLDER_SPEC, SubmissionError, check_reference, header_sizes,
                                         portable_faces_dir, resolve_faces_dir)
from benchmark.generators.registry import MODELS
from benchmark.judges import DEFAULT_JUDGE, judge_class
from benchmark.results.io import write_atomic
from benchmark.settings import caching_off
from benchmark.tasks import get_task

__all__ = ["FAILURE_AWARE_TASKS", "FOLDER_SPEC", "SubmissionError", "UTTERANCE_COLUMNS", "export_trials",
           "plan_protocols", "score"]

FAILURE_AWARE_TASKS = frozenset({"match-1to2"})
"""Tasks whose score counts a NaN generated embedding as a wrong trial (``benchmark.metrics.pairwise.match_1to2``:
NaN similarities compare False, so the trial scores 0). A task module can also declare ``NAN_IS_FAILURE = True``."""


def _task_accepts_failures(task_name: str) -> bool:
    return task_name in FAILURE_AWARE_TASKS or bool(getattr(get_task(task_name), "NAN_IS_FAILURE", False))


def score(faces_dir: str | os.PathLike[str], protocols: Sequence[str], dataset: str = "toy", *,
          name: str = "submission", allow_missing: bool = False, citation: str = "", revision: str = "0",
          trained_against_judge: bool = False, training_datasets: Sequence[str] = (),
          data_root: str | os.PathLike[str] | None = None, data_dir: str | os.PathLike[str] | None = None,
          device: str = "cpu", seed: int = 0, batch_size: int = 16, out: str | os.PathLike[str] | None = None,
          results_dir: str | os.PathLike[str] | None = None, split: str | None = None,
          holdout_rule: str = "", reference: str = "", use_cache: bool = True, progress: bool = True,
          write: bool = True, strict: bool = True, judge: str | None = None, judge_device: str = "cpu") -> list[dict]:
    """Score a folder of face images (``bench score``) on one or more protocols, as ``bench run`` would.

    Args:
        faces_dir: the submission folder (layout: ``benchmark.generators.folder``), or a recorded
            ``<dataset root>/…`` form (``portable_faces_dir``: how results record a folder inside the dataset's
            directory).
        protocols: protocol names; "all" means every registered one.
        dataset: the dataset the faces were made for.
        name: the submission's name: the leaderboard row and ``<results_dir>/<dataset>/<name>/`` (it must not
            be a registered generator's name).
        allow_missing: score missing/unreadable faces as failed trials (module docstring) instead of raising.
        citation, revision, trained_against_judge, training_datasets: recorded in the generator meta.
        data_root, data_dir, device, seed, split, use_cache, progress, strict, judge, judge_device: as in
            ``benchmark.engine.run.run_many`` (``judge`` None: the default judge).
        reference: "ceiling" or "chance" marks the row as a reference (``FolderGenerator``); "" for a method.
        holdout_rule: the held-out rule the model's training followed (``benchmark.data.heldout.HOLDOUT_RULE`` lets
            ``id-topk-seen`` score it; "" declares none).
        batch_size: faces per judge batch; forced to 1 when the folder's image sizes differ (scores never
            depend on it).
        out: result file (single protocol only); default ``<results_dir>/<dataset>/<name>/<protocol>-seed<seed>.json``
            (``-judge-<judge>`` before ``.json`` for a judge other than the default:
            ``benchmark.engine.config.default_result_path``).
        results_dir: the folder results are written to (default ``benchmark.settings.results_dir()``, as
            ``run_many``); checked, with ``out``, before any work.
        write: write the result files.

    Returns:
        One result dict per protocol (``bench run``'s schema; ``info.submission`` lists failed faces), with
        ``"path"`` when written.

    Raises:
        SubmissionError: the folder does not match the probes (one message listing every problem), or
            ``allow_missing`` with a protocol whose task cannot score a failed face.
        BenchError: as ``run_many``.
    """
    if name in MODELS:
        raise SubmissionError(f"--name {name!r} is a registered generator's name; give the submission its own name.")
    from benchmark.safety import path_component

    path_component(name, "--name")  # it becomes <results_dir>/<dataset>/<split>/<name>/: '..' or '.x' refused up front
    specs = expand_protocols(protocols)
    if out and len(specs) > 1:
        raise BenchError("--out names one file; with several protocols use --results-dir instead.")
    config = RunConfig(model=FOLDER_SPEC, protocols=[s.name for s in specs], dataset=dataset, data_root=data_root,
                       data_dir=data_dir, device=device, seed=seed, batch_size=batch_size, out=out,
                       results_dir=results_dir, split=split, use_cache=use_cache, progress=progress, write=write,
                       strict=strict, judge=judge or DEFAULT_JUDGE, judge_device=judge_device)
    judge_class(config.judge)  # an unknown or unavailable judge is refused before any work
    if write:
        check_outputs(out, config.results_dir)
        for spec in specs if not out else []:
            check_out_file(default_result_path(config.results_dir, dataset_folder_hint(dataset), name, spec.name, seed,
                                               config.judge, split=evaluated_spec(spec, split).probe_split),
                           fix="Move it away or pass another --results-dir.")
    if allow_missing:
        refused = [f"{s.name} (task {s.task})" for s in specs if not _task_accepts_failures(s.task)]
        if refused:
            raise SubmissionError(
                f"--allow-missing cannot be used with {', '.join(refused)}: that task has no rule for scoring a "
                f"missing face as a failure (tasks that do: {', '.join(sorted(FAILURE_AWARE_TASKS))}). "
                "Supply every face, or score those protocols separately.")
    root = dataset_root(dataset, data_root, data_dir, progress=progress)
    faces_dir = resolve_faces_dir(faces_dir, root).resolve()
    if not faces_dir.is_dir():
        raise SubmissionError(f"submission folder {faces_dir} does not exist or is not a folder.")
    model_args = {"faces_dir": portable_faces_dir(faces_dir, root), "name": name, "allow_missing": bool(allow_missing),
                  "citation": citation, "revision": str(revision),
                  "trained_against_judge": bool(trained_against_judge),
                  "training_datasets": ",".join(training_datasets), "failure_rule": FAILURE_RULE,
                  "holdout_rule": holdout_rule, **({"reference": check_reference(reference)} if reference else {})}
    if len(header_sizes(faces_dir)) > 1:
        batch_size = 1
    return execute(replace(config, model_args=model_args, batch_size=batch_size))


# --- bench trials ------------------------------------------------------------------------------------------


def plan_protocols(protocols: Sequence[str], dataset: str = "toy", *, seed: int = 0,
                   data_root: str | os.PathLike[str] | None = None, data_dir: str | os.PathLike[str] | None = None,
                   split: str | None = None, use_cache: bool = True, progress: bool = False, strict: bool = True,
                   judge: str | None = None, judge_device: str = "cpu"):
    """Build the frozen trials of protocols on a dataset without running a generator: the plan phase of a run
    (``benchmark.engine.plan``: ``preflight``, ``prepare``, ``plan_trials``), so the probes and the trials' sha256
    are those a run with the same seed uses (a test holds the two together). Each protocol's trials are frozen in
    the cache (``benchmark.engine.record.freeze_trials``). ``judge`` (a registry name; None: the default) embeds the
    real faces, as ``run_many``'s ``judge`` does.

    Returns:
        ``(manifest, plans, skipped)``: ``plans`` maps protocol name -> ``(spec, Plan)``; ``skipped`` maps a
        protocol that cannot run on the dataset to the reason (only when ``strict`` is False).

    Raises:
        BenchError: unknown protocol or dataset, unreadable data, or (strict) a protocol that cannot run.
    """
    config = RunConfig(model=None, protocols=protocols, dataset=dataset, data_root=data_root, data_dir=data_dir,
                       seed=seed, split=split, use_cache=use_cache, progress=progress, write=False, strict=strict,
                       judge=judge or DEFAULT_JUDGE, judge_device=judge_device)
    with caching_off(not use_cache):
        setup = prepare(config, preflight(config))
        with open_judge(config) as face_judge:
            planned = plan_trials(setup, face_judge)
        plans = {}
        for spec in setup.specs:
            if spec.name in planned.plans:
                freeze_trials(planned.plans[spec.name].trials, setup.manifest, spec, seed)
                plans[spec.name] = (spec, planned.plans[spec.name])
    return setup.manifest, plans, dict(planned.skipped)


UTTERANCE_COLUMNS = ("utterance", "identity", "gender", "audio", "image", "protocols")


def export_trials(protocols: Sequence[str], dataset: str, out: str | os.PathLike[str], *, seed: int = 0,
                  data_root: str | os.PathLike[str] | None = None, data_dir: str | os.PathLike[str] | None = None,
                  trials_dir: str | os.PathLike[str] | None = None, split: str | None = None,
                  use_cache: bool = True, progress: bool = False, strict: bool = True,
                  judge: str | None = None, judge_device: str = "cpu") -> dict:
    """Write the utterances a submitter must make faces for (``bench trials``).

    ``out`` is a CSV (UTF-8, LF, header ``utterance,identity,gender,audio,image,protocols``), one row per probe
    utterance of the union of the protocols, sorted by id: ``audio`` is the voice's path relative to the dataset
    root, ``image`` the file name ``bench score`` expects (nested form; the flat form also works), ``protocols``
    the protocols that use it, ';'-separated. With ``trials_dir``, each protocol's frozen trial file is copied
    there as ``<protocol>-v<version>-seed<seed>.csv`` (its sha256 is the ``trials.sha256`` results record).

    Returns:
        ``{"path", "utterances", "protocols": {name: {"version", "trials", "probes", "sha256", "file"}},
        "skipped": {name: reason}}``.

    Raises:
        BenchError: as ``plan_protocols``.
    """
    check_out_file(out, "--out", "Name a CSV file.")
    if trials_dir is not None:
        check_writable_dir(trials_dir, "--trials-dir", "Choose a writable folder.")
    manifest, plans, skipped = plan_protocols(protocols, dataset, seed=seed, data_root=data_root,
                                              data_dir=data_dir, split=split, use_cache=use_cache,
                                              progress=progress, strict=strict, judge=judge,
                                              judge_device=judge_device)
    users: dict[str, list[str]] = {}
    for name, (_, plan) in plans.items():
        for utt in plan.probes:
            users.setdefault(utt, []).append(name)
    utts = {u.id: u for u in manifest.utterances}
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(UTTERANCE_COLUMNS)
    for utt_id in sorted(users):
        utt = utts[utt_id]
        audio = os.path.relpath(utt.path, manifest.root).replace(os.sep, "/")
        writer.writerow([utt_id, utt.identity, manifest.identity(utt.identity).gender, audio, f"{utt_id}.png",
                         ";".join(users[utt_id])])
    write_atomic(Path(out), buf.getvalue().encode("utf-8"))
    info = {"path": str(out), "utterances": len(users), "protocols": {}, "skipped": skipped}
    for name, (spec, plan) in plans.items():
        entry = {"version": spec.version, "trials": len(plan.trials), "probes": len(plan.probes),
                 "sha256": plan.trials.sha256, "file": None}
        if trials_dir is not None:
            entry["file"] = str(plan.trials.save(Path(trials_dir) / f"{spec.name}-v{spec.version}-seed{seed}.csv"))
        info["protocols"][name] = entry
    return info
