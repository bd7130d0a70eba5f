"""Result files as one pandas ``DataFrame`` (issue 23 §4): ``load(path_or_dir)``, re-exported as
``benchmark.results.load``.

One row per result file × metric × stratum ("all" for the overall score, then each stratum such as "gender=f"),
in file order (files sorted by path). Every file is read through the typed schema (``benchmark.results.io.read_result``:
a result file is data, never code; a file that breaks the schema stops the load with an error naming it).

Columns (``COLUMNS``; names stable — the leaderboard, the summary and the web page read them):

Identity of the result (what must be equal for two rows to share a table and a rank):

* ``dataset`` (str): the dataset name (``dataset.id``; a manifest's ``name``).
* ``data`` (str): "registered" for a full registered dataset, else the manifest fingerprint (a partial copy or a
  manifest file is its own data) — ``benchmark.data.identity.data_key``.
* ``split`` (str): the evaluated split ("test", "train", "all", "validation+test", …).
* ``data_heading`` (str): in words which data this is (``benchmark.data.identity.data_heading``).
* ``fingerprint`` (str): ``dataset.manifest_sha256`` as recorded (after any generator-specific exclusion, so the
  oracle's differs on a VoxCeleb-crop gallery: group by ``data``, not by this).
* ``partial`` (bool): a partial copy of a registered dataset. ``synthetic`` (bool): the toy world.
* ``population`` (str): "" for the split's identities; ``benchmark.reports.rows.TWO_FACE``'s text when single-face
  speakers were left out (the oracle's population; rows of two populations are never ranked together).
* ``protocol`` (str), ``protocol_version`` (int).
* ``judge`` (str): the judge's registry name (``benchmark.judges.judge_name_of``); ``judge_id``, ``judge_sha256``.
* ``generator`` (str): the generator's (or submission's) name; ``seed`` (int; <NA> when absent).
* ``reference`` (str, or missing — ``pandas.isna`` — for a method): "ceiling" (e.g. the oracle, a real face of the
  speaker) or "chance" for a reference row. References are shown, never ranked.
* ``trained_against_judge`` (bool), ``trials_sha256`` (str), ``created`` (ISO 8601 str).

The number:

* ``metric`` (str), ``stratum`` (str, "all" or "<key>=<value>").
* ``value``, ``ci_low``, ``ci_high`` (float64): the score and its 95 % percentile-bootstrap interval, in the metric's
  own unit (proportions as fractions in [0, 1], distances, degrees, years).
* ``n`` (Int64): trials (set metrics: generated faces); ``n_identities`` (Int64).
* ``flag`` (str or missing): why the interval cannot be trusted; ``not_applicable`` (str or missing): why the value does
  not apply. ``lower_is_better`` (bool): the result lists the metric in ``info.lower_is_better`` or the suite's
  ``LOWER_IS_BETTER``. ``chance`` (float64 or NaN): the result's ``info.chance`` value for the metric (a single
  number there, as 1:2 matching writes 0.5, applies to each of the result's metrics).
* ``replicates`` (dict or None): the stored bootstrap replicates (``benchmark.metrics.paired``; overall score of the
  ranked metric only) for paired comparisons.

Provenance:

* ``citation`` (str): the generator's citation; ``source`` (str): the row's source as the leaderboard shows it
  (a generator trained here is "re-implementation, trained here on …; after <citation>").
* ``result_path`` (str): the file's path relative to the folder loaded (its name when a file was given), POSIX
  separators; ``file`` (str): the path as opened.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from benchmark.errors import BenchError

if TYPE_CHECKING:  # pragma: no cover
    import pandas

IDENTITY_COLUMNS = ("dataset", "data", "split", "data_heading", "fingerprint", "partial", "synthetic", "population",
                    "protocol", "protocol_version", "judge", "judge_id", "judge_sha256", "generator", "seed",
                    "reference", "trained_against_judge", "trials_sha256", "created")
VALUE_COLUMNS = ("metric", "stratum", "value", "ci_low", "ci_high", "n", "n_identities", "flag", "not_applicable",
                 "lower_is_better", "chance", "replicates")
PROVENANCE_COLUMNS = ("citation", "source", "result_path", "file")
COLUMNS = IDENTITY_COLUMNS + VALUE_COLUMNS + PROVENANCE_COLUMNS
"""Every column of ``load``'s frame, in order (module docstring)."""

LOWER_IS_BETTER = ("abs_age_gap", "l1", "l2", "angle_deg", "l1@centroid", "l2@centroid", "angle_deg@centroid")
"""Metrics that are better when lower even where a result does not say so (``benchmark.reports.rows`` re-uses it)."""

TWO_FACE = "speakers with >= 2 faces"
"""The ``population`` of a result whose single-face speakers were left out (``population_of``)."""

_TRAINED = re.compile(r"trained (\d+)/\d+ steps, batch (\d+).*? on (\d+) training identities of ([\w.+-]+)")
_VARIANT = re.compile(r"^step\d+-([\w.]+(?:-[\w.]+)*)$")


def result_files(path: str | os.PathLike[str]) -> list[tuple[str, Path]]:
    """The result files of ``path``: ``[(path relative to it, file)]`` sorted, or the one file given.

    A folder is searched recursively for ``*.json``; files or folders whose name starts with "." are skipped.

    Raises:
        BenchError: ``path`` does not exist.
    """
    root = Path(path)
    if root.is_file():
        return [(root.name, root)]
    if not root.is_dir():
        raise BenchError(f"no result file or folder at {root} (give a result JSON file or a folder of them, e.g. "
                         "leaderboards/results).")
    files = sorted(p for p in root.rglob("*.json")
                   if not any(part.startswith(".") for part in p.relative_to(root).parts))
    return [(p.relative_to(root).as_posix(), p) for p in files]


def population_of(result: dict) -> str:
    """"" for a result scored on its split's identities; ``TWO_FACE`` when single-face speakers were left out
    (``benchmark.trials.builders.drop_single_face_identities``, named in ``dataset.excluded_identities``: the oracle
    on a VoxCeleb1-crop gallery, or ``bench run --two-face-speakers``)."""
    reasons = [e.get("reason", "") for e in result.get("dataset", {}).get("excluded_identities", []) or []]
    return TWO_FACE if any("drop_single_face_identities" in r for r in reasons) else ""


def source_label(gen: dict) -> str:
    """A row's source: for a generator trained by this suite (``bench train``: its notes say "trained S/S steps,
    batch B, …, on N training identities of D"), "re-implementation, trained here on N identities of D at S steps
    (batch B); after <citation>" — not the paper's name alone (issue 20 §5), with the small-data options its revision
    names ("(batch 8; small-data options resemblyzer, align0.6, flip)", issue 24); else the citation."""
    match = _TRAINED.search(gen.get("notes") or "")
    if not match:
        return gen.get("citation", "")
    steps, batch, n, data = match.groups()
    # the small-data options (issue 24) the checkpoint names in its revision, step<N>-<option>-<option>...
    options = _VARIANT.match(str(gen.get("revision") or ""))
    extra = f"; small-data options {', '.join(options.group(1).split('-'))}" if options else ""
    return (f"re-implementation, trained here on {n} identities of {data} at {steps} steps (batch {batch}{extra}); "
            f"after {gen.get('citation', '')}")


def result_rows(rel: str, file: str, result: dict) -> list[dict]:
    """The frame rows (dicts of ``COLUMNS``) of one validated result JSON object (``read_result``)."""
    from benchmark.data.identity import data_heading, data_key
    from benchmark.judges import judge_name_of

    dataset, data, split = data_key(result)
    gen, judge, ds = result["generator"], result.get("judge", {}), result["dataset"]
    info = result.get("info", {}) or {}
    lower = set(info.get("lower_is_better", []) or []) | set(LOWER_IS_BETTER)
    chance = info.get("chance")
    chance = chance if isinstance(chance, dict) else dict.fromkeys(result["scores"], chance)
    ident = {
        "dataset": dataset, "data": data, "split": split, "data_heading": data_heading(result),
        "fingerprint": ds.get("manifest_sha256", ""), "partial": bool(ds.get("partial")),
        "synthetic": bool(ds.get("synthetic")), "population": population_of(result),
        "protocol": result["protocol"]["name"], "protocol_version": result["protocol"]["version"],
        "judge": judge_name_of(judge), "judge_id": judge.get("id", ""),
        "judge_sha256": judge.get("weights_sha256") or "",
        "generator": gen["name"], "seed": result.get("seed"), "reference": gen.get("reference") or None,
        "trained_against_judge": bool(gen.get("trained_against_judge")), "trials_sha256": result["trials"]["sha256"],
        "created": result.get("created", ""),
    }
    prov = {"citation": gen.get("citation", ""), "source": source_label(gen), "result_path": rel, "file": file}
    groups = [("all", result["scores"])] + list((result.get("strata") or {}).items())
    rows = []
    for stratum, scores in groups:
        for metric, s in scores.items():
            c = chance.get(metric)
            rows.append({**ident, "metric": metric, "stratum": stratum, "value": float(s["value"]),
                         "ci_low": float(s["ci95"][0]), "ci_high": float(s["ci95"][1]),
                         "n": s.get("n", s.get("n_real")), "n_identities": s.get("n_identities"),
                         "flag": s.get("flag") or None, "not_applicable": s.get("not_applicable") or None,
                         "lower_is_better": metric in lower,
                         "chance": float(c) if isinstance(c, (int, float)) and not isinstance(c, bool) else math.nan,
                         "replicates": s["replicates"] if isinstance(s.get("replicates"), dict) else None, **prov})
    return rows


def frame_of(results: Iterable[tuple[str, dict]], root: str | os.PathLike[str] | None = None) -> "pandas.DataFrame":
    """The frame (``COLUMNS``) of already-read results ``[(path relative to root, result JSON object)]``.

    Args:
        results: validated result objects (``benchmark.results.io.read_result``), e.g. from
            ``benchmark.reports.tables.collect``.
        root: the folder the relative paths are under (fills ``file``); None: ``file`` = the relative path.

    Returns:
        ``pandas.DataFrame`` with exactly ``COLUMNS`` (empty, with those columns, when there are no results).
    """
    import pandas as pd

    rows = []
    for rel, result in results:
        file = str(Path(root) / rel) if root is not None else rel
        rows += result_rows(rel, file, result)
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    for col in ("value", "ci_low", "ci_high", "chance"):
        frame[col] = frame[col].astype("float64")
    for col in ("protocol_version", "seed", "n", "n_identities"):
        frame[col] = frame[col].astype("Int64")
    for col in ("partial", "synthetic", "trained_against_judge", "lower_is_better"):
        frame[col] = frame[col].astype("bool")
    return frame


def load(path_or_dir: str | os.PathLike[str]) -> "pandas.DataFrame":
    """Load result files into one ``pandas.DataFrame``: one row per result × metric × stratum (module docstring).

    Args:
        path_or_dir: a result JSON file, or a folder searched recursively for them (e.g. ``leaderboards/results``;
            both the ``<dataset>/<split>/<model>/`` layout and the older ``<dataset>/<model>/`` one).

    Returns:
        The frame, columns ``COLUMNS`` (dtypes in the module docstring); rows in file-path order, each file's
        overall scores first, then its strata. An empty folder gives an empty frame with those columns.

    Raises:
        BenchError: ``path_or_dir`` does not exist; ``ResultSchemaError`` (a ``BenchError``): a file does not follow
            the result schema (the message names the file and the field). Files are parsed as JSON data only.

    Example:
        >>> from benchmark.results import load
        >>> df = load("leaderboards/results")
        >>> df[(df.stratum == "all") & (df.protocol == "stratified")].pivot_table(
        ...     index="generator", columns="judge", values="value")
    """
    from benchmark.results.io import read_result

    files = result_files(path_or_dir)
    root = Path(path_or_dir) if Path(path_or_dir).is_dir() else Path(path_or_dir).parent
    return frame_of([(rel, read_result(p)) for rel, p in files], root)
