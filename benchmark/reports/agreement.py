"""Judge agreement: Kendall's τ between two judges' rankings of the same generators (``judge_agreement``)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from benchmark.reports.tables import LOWER_IS_BETTER, MEASURED, Table

@dataclass
class Agreement:
    """Kendall's τ between two judges' rankings of the same generators in one dataset × split × protocol."""

    dataset: str
    protocol: str
    split: str
    metric: str
    judge_a: str
    judge_b: str
    n: int
    tau: float | None
    """τ-b (ties counted, scipy.stats.kendalltau); None with fewer than 3 common generators."""
    p_value: float | None
    generators: tuple[str, ...]
    disagree: tuple[str, ...] = ()
    """The pairs of generators the two judges order oppositely, as "a > b (judge_a) / b > a (judge_b)"."""


def judge_agreement(tables: list[Table]) -> list[Agreement]:
    """Kendall's τ of the generator ranking between every two judges, per dataset × split × protocol (issue 10 §4).

    For each pair of judges that scored the same protocol (same version) on the same dataset and split, the
    measured rows of the generators both scored are compared on the table's ranked metric (``Table.rank_metric``):
    τ-b from ``scipy.stats.kendalltau`` (1: the same order; −1: reversed; ties count as neither), its two-sided
    p-value under independence, and the discordant pairs. With N generators τ moves in steps of about 2/(N(N−1)/2):
    at N = 4, one swapped pair is τ = 0.67, and no τ is significant at 5 % — read the discordant pairs.

    Returns:
        ``Agreement`` rows, sorted by dataset, protocol, split and judge pair.
    """
    from itertools import combinations

    from scipy.stats import kendalltau

    groups: dict[tuple, list[Table]] = {}
    for t in tables:
        if t.judge and any(r.kind == MEASURED for r in t.rows):
            groups.setdefault((t.dataset, t.protocol, t.version, t.split), []).append(t)
    out: list[Agreement] = []
    for (dataset, protocol, _version, split), group in sorted(groups.items(), key=lambda kv: str(kv[0])):
        for a, b in combinations(sorted(group, key=lambda t: t.judge), 2):
            metric = a.rank_metric
            if metric is None or metric != b.rank_metric:
                continue
            va = {r.generator: r.scores[metric][0] for r in a.rows if r.kind == MEASURED and metric in r.scores
                  and r.scores[metric][0] is not None}
            vb = {r.generator: r.scores[metric][0] for r in b.rows if r.kind == MEASURED and metric in r.scores
                  and r.scores[metric][0] is not None}
            common = sorted(set(va) & set(vb))
            tau = pv = None
            if len(common) >= 3:
                res = kendalltau([va[g] for g in common], [vb[g] for g in common])
                tau = None if res.statistic != res.statistic else float(res.statistic)
                pv = None if res.pvalue != res.pvalue else float(res.pvalue)
            lower = metric in a.lower_is_better or metric in LOWER_IS_BETTER
            better = (lambda x, y: x < y) if lower else (lambda x, y: x > y)
            disagree = tuple(f"{g} > {h} ({a.judge}) / {h} > {g} ({b.judge})" if better(va[g], va[h])
                             else f"{h} > {g} ({a.judge}) / {g} > {h} ({b.judge})"
                             for g, h in combinations(common, 2)
                             if (va[g] - va[h]) * (vb[g] - vb[h]) < 0)
            out.append(Agreement(dataset, protocol, split, metric, a.judge, b.judge, len(common), tau, pv,
                                 tuple(common), disagree))
    return out


def agreement_markdown(rows: list[Agreement]) -> str:
    """The judge-agreement table as GitHub Markdown."""
    from tabulate import tabulate

    body = [[r.dataset, r.protocol, r.split, r.metric, f"{r.judge_a} vs {r.judge_b}", r.n,
             "" if r.tau is None else f"{r.tau:.3f}", "" if r.p_value is None else f"{r.p_value:.3g}",
             "; ".join(r.disagree) or "—"] for r in rows]
    return tabulate(body, headers=["dataset", "protocol", "split", "ranked by", "judges", "generators",
                                   "Kendall τ-b", "p (τ = 0)", "pairs ordered oppositely"],
                    tablefmt="github", disable_numparse=True)


def agreement_csv(rows: list[Agreement]) -> str:
    """The judge-agreement table as CSV."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["dataset", "protocol", "split", "metric", "judge_a", "judge_b", "n_generators", "kendall_tau_b",
                     "p_value", "generators", "discordant_pairs"])
    for r in rows:
        writer.writerow([r.dataset, r.protocol, r.split, r.metric, r.judge_a, r.judge_b, r.n,
                         "" if r.tau is None else repr(r.tau), "" if r.p_value is None else repr(r.p_value),
                         " ".join(r.generators), " | ".join(r.disagree)])
    return buf.getvalue()


