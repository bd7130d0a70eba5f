"""``bench compare A B``: the paired difference of two results scored on the same trials (issue 20 §3).

Both results must be of one dataset, split, protocol (and version), judge and trial set, and store bootstrap
replicates of the metric (``benchmark.metrics.paired``; results written since issue 20 store them for the ranked
metric): replicate b of each was drawn from the same identity resample, so their difference is the bootstrap
distribution of the paired difference. The output gives ``A − B`` with its 95 % percentile interval and the
two-sided bootstrap p-value; several pairs at once get Holm-adjusted p-values as well.
"""

from __future__ import annotations

import os

from benchmark.errors import BenchError
from benchmark.results.io import read_result

SAME = (("dataset", "id"), ("protocol", "name"), ("protocol", "version"), ("trials", "sha256"), ("judge", "id"),
        ("judge", "weights_sha256"))
"""Fields two results must share to be paired."""


def _field(result: dict, path: tuple[str, str]):
    return result.get(path[0], {}).get(path[1])


def compare_results(path_a: str | os.PathLike[str], path_b: str | os.PathLike[str], metric: str | None = None,
                    level: float = 0.95) -> dict:
    """Paired difference of two stored results on ``metric`` (default: the protocol's ``rank_by``, else the metric
    whose replicates both store).

    Args:
        path_a, path_b: result JSON files.
        metric: the metric compared.
        level: confidence level in (0, 1).

    Returns:
        ``{"metric", "a", "b", "value_a", "value_b", "difference", "ci95", "p_value", "replicates"}``
        (generator names in ``a``/``b``).

    Raises:
        BenchError: unreadable files, results that differ in dataset, protocol, trials or judge (named), or a
            metric without stored replicates in either file (the message says to re-run them).
    """
    from benchmark.metrics.paired import decode_replicates, pairable, paired_difference

    a, b = read_result(path_a), read_result(path_b)
    for path in SAME:
        if _field(a, path) != _field(b, path):
            raise BenchError(f"{path_a} and {path_b} differ in {'.'.join(path)} ({_field(a, path)!r} vs "
                             f"{_field(b, path)!r}): a paired comparison needs the same trials scored the same way.")
    if metric is None:
        metric = a["protocol"].get("spec", {}).get("rank_by") or next(
            (m for m, s in a["scores"].items() if "replicates" in s), None)
    for path, res in ((path_a, a), (path_b, b)):
        if metric not in res["scores"]:
            raise BenchError(f"{path} has no metric {metric!r}; it has {sorted(res['scores'])}.")
        if "replicates" not in res["scores"][metric]:
            raise BenchError(f"{path} stores no bootstrap replicates for {metric!r} (written before issue 20, or not "
                             "the ranked metric): re-run it with `bench run` to compare it paired.")
    sa, sb = a["scores"][metric], b["scores"][metric]
    why = pairable(sa["replicates"], sb["replicates"])
    if why:
        raise BenchError(f"{path_a} and {path_b}: {why}.")
    out = paired_difference(sa["value"], decode_replicates(sa["replicates"]), sb["value"],
                            decode_replicates(sb["replicates"]), level)
    return {"metric": metric, "a": a["generator"]["name"], "b": b["generator"]["name"], "value_a": sa["value"],
            "value_b": sb["value"], **out}


def compare_many(paths: list[str | os.PathLike[str]], metric: str | None = None, level: float = 0.95) -> list[dict]:
    """``compare_results`` of every pair of ``paths`` (in order), with Holm-adjusted p-values (``p_holm``)."""
    from itertools import combinations

    from benchmark.metrics.paired import holm

    rows = [compare_results(p, q, metric, level) for p, q in combinations(paths, 2)]
    for row, adj in zip(rows, holm([r["p_value"] for r in rows])):
        row["p_holm"] = adj
    return rows


def format_comparisons(rows: list[dict]) -> str:
    """One line per pair: ``A − B on metric: d [lo, hi], p = …, Holm …``."""
    return "\n".join(f"{r['a']} − {r['b']} on {r['metric']}: {r['difference']:+.6g} [{r['ci95'][0]:.6g}, "
                     f"{r['ci95'][1]:.6g}] (95 % paired bootstrap, {r['replicates']} replicates), "
                     f"p = {r['p_value']:.3g}"
                     + (f", Holm {r['p_holm']:.3g}" if len(rows) > 1 else "") for r in rows)
