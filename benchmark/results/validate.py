"""Minimal validation of a result file read from disk: the fields ``bench check`` and ``bench leaderboard`` use.

A result file is data from outside (a leaderboard pull request): before any field is used, this checks that each
one the readers index has the type they expect, that every score is a finite number (a NaN would be ranked as
"nan"), and that each name that becomes a path (``protocol.name``, ``dataset.id``, ``evaluated_split``,
``protocol.spec.probe_split``, ``judge.name``) passes ``benchmark.safety.check_name``. One error names the file
and the field. (The typed result schema, ``benchmark.results.schema``, is the natural long-term home of these
rules; this is the minimal check at load time until reading goes through it.)
"""

from __future__ import annotations

import math
import os

from benchmark.errors import BenchError


def _fail(path, field: str, why: str) -> BenchError:
    return BenchError(f"result file {path}: field {field} {why}. Fix or remove that file (a result file is "
                      "written by bench run / bench score, never edited by hand).")


def _need(obj: dict, key: str, kind: type | tuple, path, field: str):
    if key not in obj:
        raise _fail(path, field, "is missing")
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise _fail(path, field, f"is {type(value).__name__} {value!r:.60}, expected {names}")
    return value


def _finite(value, path, field: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(path, field, f"is {type(value).__name__} {value!r:.60}, expected a number")
    if not math.isfinite(value):
        raise _fail(path, field, f"is {value!r}, not a finite number")


def _scores(block, path, field: str) -> None:
    if not isinstance(block, dict):
        raise _fail(path, field, f"is {type(block).__name__}, expected an object {{metric: {{value, ci95, n}}}}")
    for metric, score in block.items():
        where = f"{field}.{metric}"
        if not isinstance(score, dict):
            raise _fail(path, where, f"is {type(score).__name__} {score!r:.60}, expected an object {{value, ci95, n}}")
        _finite(_need(score, "value", (int, float), path, f"{where}.value"), path, f"{where}.value")
        ci = _need(score, "ci95", list, path, f"{where}.ci95")
        if len(ci) != 2:
            raise _fail(path, f"{where}.ci95", f"has {len(ci)} entries, expected [low, high]")
        for i, end in enumerate(ci):
            _finite(end, path, f"{where}.ci95[{i}]")
        for count in ("n", "n_identities"):
            if score.get(count) is not None:
                _need(score, count, int, path, f"{where}.{count}")


def validate_result(result: object, path: str | os.PathLike[str]) -> dict:
    """Check the fields of a parsed result file that the readers use; return it unchanged.

    Args:
        result: what ``json.loads`` returned for the file.
        path: the file, for messages.

    Returns:
        ``result`` (a dict).

    Raises:
        BenchError: the top level is not an object; ``protocol``, ``dataset``, ``generator``, ``trials`` or
            ``scores`` is missing or of the wrong type; a score's ``value`` or a ``ci95`` end is not a finite number
            (NaN, infinity, a string); a name that becomes a path is unsafe (``benchmark.safety.check_name``). The
            message names the file and the field (e.g. ``scores.accuracy.value``).
    """
    from benchmark.safety import check_name

    if not isinstance(result, dict):
        raise BenchError(f"result file {path}: the top level is a JSON {type(result).__name__}, expected an object "
                         "(a result written by bench run / bench score). Fix or remove that file.")
    protocol = _need(result, "protocol", dict, path, "protocol")
    check_name(_need(protocol, "name", str, path, "protocol.name"), "protocol.name", path)
    _need(protocol, "version", int, path, "protocol.version")
    spec = protocol.get("spec", {})
    if not isinstance(spec, dict):
        raise _fail(path, "protocol.spec", f"is {type(spec).__name__}, expected an object")
    if "probe_split" in spec:
        check_name(spec["probe_split"], "protocol.spec.probe_split", path)
    dataset = _need(result, "dataset", dict, path, "dataset")
    check_name(_need(dataset, "id", str, path, "dataset.id"), "dataset.id", path)
    _need(dataset, "manifest_sha256", str, path, "dataset.manifest_sha256")
    generator = _need(result, "generator", dict, path, "generator")
    if not _need(generator, "name", str, path, "generator.name").strip():
        raise _fail(path, "generator.name", "is empty")
    if generator.get("spec") is not None:
        _need(generator, "spec", str, path, "generator.spec")
    judge = _need(result, "judge", dict, path, "judge")
    if judge.get("name") is not None:
        check_name(judge["name"], "judge.name", path)
    _need(_need(result, "trials", dict, path, "trials"), "sha256", str, path, "trials.sha256")
    if result.get("evaluated_split") is not None:
        check_name(result["evaluated_split"], "evaluated_split", path)
    _need(result, "seed", int, path, "seed")
    _scores(_need(result, "scores", dict, path, "scores"), path, "scores")
    strata = result.get("strata", {})
    if not isinstance(strata, dict):
        raise _fail(path, "strata", f"is {type(strata).__name__}, expected an object {{stratum: scores}}")
    for stratum, block in strata.items():
        _scores(block, path, f"strata.{stratum}")
    return result
