"""Judge agreement: Kendall's τ between two judges' rankings of the same generators (``judge_agreement``).

Issue 20 §4: two judges that run one network with the same weights (dlib and its PyTorch port dlib-torch: equal
weights sha256) measure *parity* (does the port reproduce the original?), not agreement: such a pair is reported as
parity (the largest absolute difference of the ranked metric) and gets no τ. References (ceiling, chance) are left
out of τ: they bound the protocol and would inflate agreement. τ gets a 95 % bootstrap interval from the stored
replicates (replicate b of every row is one identity resample, ``benchmark.metrics.paired``), and a pair of
generators is listed as discordant only where both judges' paired differences are significant (bootstrap p < 0.05)
with opposite signs.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np

from benchmark.reports.tables import LOWER_IS_BETTER, MEASURED, Row, Table

ALPHA = 0.05
"""Significance level of each judge's paired difference for a discordant pair."""


@dataclass
class Agreement:
    """Kendall's τ (or parity) between two judges' rankings of the same generators in one dataset × split ×
    protocol."""

    dataset: str
    """The data: the dataset name, or ``<dataset>-<fingerprint[:8]>`` for a partial copy or a manifest
    (``benchmark.reports.rows.Table.folder``)."""
    protocol: str
    split: str
    metric: str
    judge_a: str
    judge_b: str
    n: int
    tau: float | None
    """τ-b (ties counted, scipy.stats.kendalltau); None with fewer than 3 common generators, or for parity."""
    p_value: float | None
    generators: tuple[str, ...]
    disagree: tuple[str, ...] = ()
    """Pairs both judges order significantly and oppositely, as "a > b (judge_a) / b > a (judge_b)"."""
    tau_ci: tuple[float, float] | None = None
    """95 % bootstrap percentile interval of τ; None without stored replicates for every generator."""
    parity: float | None = None
    """For judges with the same weights: the largest |value_a − value_b| over the common generators (τ is None)."""


def _values(table: Table, metric: str) -> dict[str, Row]:
    return {r.generator: r for r in table.rows if r.kind == MEASURED and not r.reference and metric in r.scores
            and r.scores[metric][0] is not None and r.scores[metric][0] == r.scores[metric][0]}


def _weights(table: Table) -> set[str]:
    return {r.judge_sha256 for r in table.rows if r.kind == MEASURED and r.judge_sha256}


def _tau_interval(rows_a: dict, rows_b: dict, common: list[str], metric: str) -> tuple[float, float] | None:
    from scipy.stats import kendalltau

    from benchmark.metrics.paired import decode_replicates, pairable

    recs = [rows_a[g].replicates.get(metric) for g in common] + [rows_b[g].replicates.get(metric) for g in common]
    if not all(recs) or any(pairable(recs[0], r) for r in recs[1:]):
        return None
    ra = np.stack([decode_replicates(r) for r in recs[:len(common)]], 1)  # [B, G]
    rb = np.stack([decode_replicates(r) for r in recs[len(common):]], 1)  # [B, G]
    taus = [kendalltau(x, y).statistic for x, y in zip(ra, rb) if not (np.isnan(x).any() or np.isnan(y).any())]
    taus = np.asarray([t for t in taus if t == t])
    if not taus.size:
        return None
    lo, hi = np.quantile(taus, [0.025, 0.975])
    return float(lo), float(hi)


def _significant_sign(a: Row, b: Row, metric: str) -> int:
    """+1 / −1 when the paired difference a − b is significant (p < ``ALPHA``) and positive / negative, else 0."""
    from benchmark.reports.bands import compare_rows

    c = compare_rows(a, b, metric)
    if not c["paired"] or not (c["p_value"] < ALPHA):
        return 0
    return 1 if c["difference"] > 0 else -1


def judge_agreement(tables: list[Table]) -> list[Agreement]:
    """Kendall's τ of the generator ranking between every two judges, per dataset × split × protocol (issue 10 §4,
    issue 20 §4: module docstring).

    For each pair of judges that scored the same protocol (same version) on the same dataset, split and population,
    the measured non-reference rows of the generators both scored are compared on the ranked metric: τ-b from
    ``scipy.stats.kendalltau``, its p-value under independence, its bootstrap interval, and the significantly
    discordant pairs. Judges with the same weights get ``parity`` instead of τ.

    Returns:
        ``Agreement`` rows, sorted by dataset, protocol, split and judge pair.
    """
    from itertools import combinations

    from scipy.stats import kendalltau

    groups: dict[tuple, list[Table]] = {}
    for t in tables:
        if t.judge and any(r.kind == MEASURED for r in t.rows):
            # one data (issue 19 §4: ``Table.folder`` is the dataset, or ``<dataset>-<fingerprint>`` for other data)
            groups.setdefault((t.folder, t.protocol, t.version, t.split, t.population), []).append(t)
    out: list[Agreement] = []
    for (dataset, protocol, _version, split, _pop), group in sorted(groups.items(), key=lambda kv: str(kv[0])):
        for a, b in combinations(sorted(group, key=lambda t: t.judge), 2):
            metric = a.rank_metric
            if metric is None or metric != b.rank_metric:
                continue
            va, vb = _values(a, metric), _values(b, metric)
            common = sorted(set(va) & set(vb))
            if _weights(a) and _weights(a) == _weights(b):  # one network, same weights: parity
                gap = max((abs(va[g].scores[metric][0] - vb[g].scores[metric][0]) for g in common), default=None)
                out.append(Agreement(dataset, protocol, split, metric, a.judge, b.judge, len(common), None, None,
                                     tuple(common), parity=gap))
                continue
            tau = pv = ci = None
            if len(common) >= 3:
                res = kendalltau([va[g].scores[metric][0] for g in common], [vb[g].scores[metric][0] for g in common])
                tau = None if res.statistic != res.statistic else float(res.statistic)
                pv = None if res.pvalue != res.pvalue else float(res.pvalue)
                ci = _tau_interval(va, vb, common, metric)
            sign = -1 if (metric in a.lower_is_better or metric in LOWER_IS_BETTER) else 1
            disagree = []
            for g, h in combinations(common, 2):
                sa, sb = _significant_sign(va[g], va[h], metric), _significant_sign(vb[g], vb[h], metric)
                if sa and sb and sa != sb:
                    hi, lo = (g, h) if sa * sign > 0 else (h, g)
                    disagree.append(f"{hi} > {lo} ({a.judge}) / {lo} > {hi} ({b.judge})")
            out.append(Agreement(dataset, protocol, split, metric, a.judge, b.judge, len(common), tau, pv,
                                 tuple(common), tuple(disagree), tau_ci=ci))
    return out


def _tau_text(r: Agreement) -> str:
    if r.parity is not None:
        return f"parity (same weights): max abs. difference {r.parity:.3g}"
    if r.tau is None:
        return ""
    return f"{r.tau:.3f}" + (f" [{r.tau_ci[0]:.2f}, {r.tau_ci[1]:.2f}]" if r.tau_ci else " (no CI: no replicates)")


def agreement_markdown(rows: list[Agreement]) -> str:
    """The judge-agreement table as GitHub Markdown; strings from result files escaped (``benchmark.escape``)."""
    from tabulate import tabulate

    from benchmark.escape import md_text

    body = [[md_text(r.dataset), md_text(r.protocol), md_text(r.split), md_text(r.metric),
             md_text(f"{r.judge_a} vs {r.judge_b}"), r.n, _tau_text(r),
             "" if r.p_value is None else f"{r.p_value:.3g}", "; ".join(md_text(d) for d in r.disagree) or "—"]
            for r in rows]
    return tabulate(body, headers=["dataset", "protocol", "split", "ranked by", "judges", "generators (no references)",
                                   "Kendall τ-b [95% CI]", "p (τ = 0)",
                                   "pairs both judges order oppositely (p < 0.05)"],
                    tablefmt="github", disable_numparse=True)


def agreement_csv(rows: list[Agreement]) -> str:
    """The judge-agreement table as CSV; strings from result files through ``benchmark.escape.csv_text``."""
    from benchmark.escape import csv_text

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["dataset", "protocol", "split", "metric", "judge_a", "judge_b", "n_generators", "kendall_tau_b",
                     "tau_ci_low", "tau_ci_high", "p_value", "parity_max_abs_diff", "generators", "discordant_pairs"])
    for r in rows:
        ci = r.tau_ci or ("", "")
        writer.writerow([csv_text(r.dataset), csv_text(r.protocol), csv_text(r.split), csv_text(r.metric),
                         csv_text(r.judge_a), csv_text(r.judge_b), r.n,
                         "" if r.tau is None else repr(r.tau), *(repr(x) if x != "" else "" for x in ci),
                         "" if r.p_value is None else repr(r.p_value), "" if r.parity is None else repr(r.parity),
                         csv_text(" ".join(r.generators)), csv_text(" | ".join(r.disagree))])
    return buf.getvalue()
