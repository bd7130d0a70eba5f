"""Ranking in bands (issue 20 §3): ranks that respect the intervals.

* Only measured rows of generators are ranked. References (``ceiling``, ``chance``), rows whose ranked metric is
  flagged (``"flag"`` in the result: an interval not to be trusted, failed faces, …) or not applicable, and rows
  without a value are shown below, not ranked, with the reason (``Row.unranked``).
* Equal values share a rank (rank = 1 + the rows strictly better); ties are not broken by name.
* Neighbours in the ranked order are compared by their paired difference (``benchmark.metrics.paired``: the
  replicates both results store, drawn from the same identity resamples), two-sided bootstrap p-values, Holm's
  correction across the neighbour pairs the table shows. A new band starts only where the adjusted p-value is below
  ``1 − level`` (0.05); rows whose difference to their neighbour is not significant share a band. Where a pair has
  no stored replicates (results written before they were stored) or cannot be paired (other identities or seed),
  the pair is separated only when the two 95 % intervals do not overlap, and the comparison says so.
"""

from __future__ import annotations

import math

from benchmark.reports.rows import LOWER_IS_BETTER, MEASURED, Row, Table

LEVEL = 0.95
"""Confidence level of the bands' tests (family-wise, Holm)."""


def lower_is_better(table: Table, metric: str) -> bool:
    """True for metrics ranked ascending (``Table.lower_is_better`` or ``LOWER_IS_BETTER``)."""
    return metric in table.lower_is_better or metric in LOWER_IS_BETTER


def _unranked(row: Row, metric: str | None) -> str:
    if row.reference:
        return f"reference ({row.reference}): shown, not ranked"
    if metric is None:
        return ""
    if metric in row.not_applicable:
        return f"{metric} not applicable: {row.not_applicable[metric]}"
    value = row.scores.get(metric, (None,))[0]
    if value is None or value != value:
        return f"no {metric} value"
    if metric in row.flags:
        return f"{metric} flagged, not ranked: {row.flags[metric]}"
    return ""


def compare_rows(a: Row, b: Row, metric: str, level: float = LEVEL) -> dict:
    """Paired difference ``a − b`` on ``metric`` (``benchmark.metrics.paired.paired_difference``), or, without
    pairable replicates, ``{"paired": False, "reason"}`` with the difference and whether the intervals overlap."""
    from benchmark.metrics.paired import decode_replicates, pairable, paired_difference

    va, vb = a.scores[metric][0], b.scores[metric][0]
    ra, rb = a.replicates.get(metric), b.replicates.get(metric)
    why = "no stored replicates (result written before issue 20)" if not (ra and rb) else pairable(ra, rb)
    if why is None and a.trials_sha256 != b.trials_sha256:
        why = "different trials"
    if why is None:
        out = paired_difference(va, decode_replicates(ra), vb, decode_replicates(rb), level)
        return {"a": a.generator, "b": b.generator, "paired": True, **out}
    lo_a, hi_a = a.scores[metric][1:]
    lo_b, hi_b = b.scores[metric][1:]
    overlap = None if None in (lo_a, hi_a, lo_b, hi_b) else not (hi_a < lo_b or hi_b < lo_a)
    return {"a": a.generator, "b": b.generator, "paired": False, "reason": why, "difference": va - vb,
            "ci95": [math.nan, math.nan], "p_value": math.nan, "intervals_overlap": overlap}


def rank_in_bands(table: Table, level: float = LEVEL) -> None:
    """Order the table's rows, set ``rank``, ``band`` and ``unranked`` and fill ``table.comparisons`` (module
    docstring). Rows: ranked measured rows (best first), then the unranked measured rows, then reported rows."""
    from benchmark.metrics.paired import holm

    metric = table.rank_metric
    measured = [r for r in table.rows if r.kind == MEASURED]
    reported = [r for r in table.rows if r.kind != MEASURED]
    for r in measured:
        r.unranked, r.rank, r.band = _unranked(r, metric), None, None
    ranked = [r for r in measured if not r.unranked]
    rest = sorted((r for r in measured if r.unranked), key=lambda r: (not r.reference, r.reference, r.generator))
    table.comparisons = []
    if metric is None:
        table.rows = sorted(measured, key=lambda r: r.generator) + reported
        return
    sign = 1.0 if lower_is_better(table, metric) else -1.0
    ranked.sort(key=lambda r: (sign * r.scores[metric][0], r.generator))
    for r in ranked:
        r.rank = 1 + sum(1 for o in ranked if sign * o.scores[metric][0] < sign * r.scores[metric][0])
    comps = [compare_rows(a, b, metric, level) for a, b in zip(ranked, ranked[1:])]
    adjusted = holm([c["p_value"] for c in comps])
    band = 1
    if ranked:
        ranked[0].band = 1
    for c, p_adj, nxt, prev in zip(comps, adjusted, ranked[1:], ranked):
        c["p_holm"] = p_adj
        if c["paired"]:
            c["significant"] = bool(p_adj == p_adj and p_adj < 1.0 - level)
        else:
            c["significant"] = c["intervals_overlap"] is False
        if nxt.rank == prev.rank:
            c["significant"] = False  # equal values
        band += int(c["significant"])
        nxt.band = band
    table.comparisons = comps
    table.rows = ranked + rest + reported
