"""Where ``bench check`` finds the data of each stored result, above all of one scored on a dataset manifest.

A result on a registered dataset (or a plug-in that loads one) is re-run on its ``dataset.id``, found as any run finds
it (``--data-root``, ``--data-dir``, the data directory). A result on a manifest (``dataset.identity.origin`` is
"manifest") is re-run on a manifest whose fingerprint (``Manifest.sha256``) is the one the result records
(``dataset.identity.fingerprint``), looked for, in this order, at:

1. ``bench check --dataset PATH`` (``manifest.json`` or its folder), for the results whose dataset name is that
   manifest's ``name``;
2. ``dataset.manifest``, where the run that wrote the result read it (``benchmark.data.manifest_io.manifest_reference``:
   relative to the working directory, ``~/…`` or absolute);
3. the dataset name, when it is an installed dataset plug-in (``benchmark.data.datasets.plugin_datasets``).

Before anything is re-run, every result whose manifest is missing, unreadable or has another fingerprint is refused at
once, in one error naming each result file, where the manifest was looked for, and the fix (``--dataset PATH``, restore
the manifest, or re-run and store the result again): nothing is half-checked.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from benchmark.errors import BenchError, DataError


def is_manifest_result(result: dict) -> bool:
    """True when ``result`` was scored on a dataset manifest (``dataset.identity.origin == "manifest"``)."""
    return ((result.get("dataset") or {}).get("identity") or {}).get("origin") == "manifest"


def _fingerprint(path: str | os.PathLike[str]) -> tuple[str, str]:
    """(the manifest's name, its fingerprint). Raises DataError: missing or malformed (the message names the file)."""
    from benchmark.data.manifest_io import read_manifest

    manifest = read_manifest(path)
    return manifest.dataset_id, manifest.sha256()


def dataset_arguments(paths: Sequence[Path], results: Sequence[dict], chosen: Sequence[int],
                      dataset: str | None = None) -> dict[int, str]:
    """The ``--dataset`` value each chosen result is re-run with (module docstring).

    Args:
        paths, results: the result files and their JSON objects (``benchmark.reports.check.find_results``).
        chosen: indices of the results to check.
        dataset: ``bench check --dataset``: a manifest path (``manifest.json`` or its folder), or None.

    Returns:
        ``{index: dataset}``: the stored ``dataset.id`` for a registered dataset or plug-in; a manifest path whose
        fingerprint equals the recorded one for a manifest result.

    Raises:
        BenchError: ``dataset`` is not a readable manifest or matches no chosen manifest result; or some manifest
            result has no manifest with its fingerprint where it was looked for (every such file named, with the fix).
    """
    from benchmark.data.datasets import DATASETS, plugin_datasets

    given = None
    if dataset is not None:
        if dataset in DATASETS:
            raise BenchError(f"bench check --dataset {dataset}: a registered dataset is found by its name; --dataset "
                             "names the manifest (manifest.json or its folder) of results scored on one.")
        try:
            given = (dataset, *_fingerprint(dataset))
        except DataError as exc:
            raise BenchError(f"bench check --dataset {dataset}: {exc}") from None
        if not any(is_manifest_result(results[i]) and results[i]["dataset"]["id"] == given[1] for i in chosen):
            raise BenchError(f"bench check --dataset {dataset}: no result to check was scored on a manifest named "
                             f"{given[1]!r}; drop --dataset, or name the results of that manifest.")
    out: dict[int, str] = {}
    refused: list[str] = []
    for i in chosen:
        result = results[i]
        if not is_manifest_result(result):
            out[i] = result["dataset"]["id"]
            continue
        name, want = result["dataset"]["id"], result["dataset"]["identity"]["fingerprint"]
        tried: list[str] = []
        candidates = [given[0]] if given and given[1] == name else []
        recorded = result["dataset"].get("manifest")
        if isinstance(recorded, str) and recorded:
            candidates.append(str(Path(recorded).expanduser()))
        for candidate in candidates:
            try:
                found_name, found = _fingerprint(candidate)
            except DataError as exc:
                tried.append(f"{candidate} (cannot be read: {str(exc).splitlines()[0]})")
                continue
            if (found_name, found) == (name, want):
                out[i] = candidate
                break
            tried.append(f"{candidate} (manifest {found_name!r}, fingerprint {found[:12]}…)")
        else:
            if name in plugin_datasets():
                out[i] = name
                continue
            where = "; ".join(tried) if tried else "no manifest location is recorded"
            refused.append(f"{paths[i]}: scored on the manifest {name!r} with fingerprint {want[:12]}…; looked at: "
                           f"{where}")
    if refused:
        raise BenchError(f"{len(refused)} result(s) scored on a dataset manifest cannot be re-checked:\n  "
                         + "\n  ".join(refused) + "\nPass the manifest they were scored on with bench check --dataset "
                         "PATH (manifest.json or its folder); if the manifest itself changed, restore it, or re-run "
                         "and store those results again.")
    return out
