"""The leaderboard summary (issue 23 §1): one table per data (dataset, data identity, split), one row per generator,
the headline metric of each protocol as a column, from the results frame (``benchmark.results.load``).

* **Which data.** A summary holds the results of one ``(dataset, data, split)`` — ``benchmark.data.identity.data_key``:
  another dataset, a partial copy, another manifest fingerprint or another split is another summary, never ranked
  together (issue 19 §4). Its ``heading`` says which data it is (``data_heading``).
* **One judge.** Only results of ``judge`` (default ``benchmark.judges.DEFAULT_JUDGE``) are used; other judges' are
  in the detail tables.
* **Headline metrics** (``HEADLINES``): 1:2 matching unstratified and gender-stratified (accuracy), 1:10 matching
  (``match-1ofN`` acc@N=10, or its largest N when the split has too few identities for 10), retrieval R@5, gender
  consistency, age-band accuracy, feature cosine, consistency ratio, KID — each value with its 95 % CI.
* **Bands.** Each column ranks the methods in bands of paired differences (``benchmark.reports.bands.rank_in_bands``
  on that column's metric, Holm across neighbours); where the results store no replicates for the column's metric
  (they store them for their protocol's ranked metric only), neighbours are separated only by non-overlapping
  intervals, and ``Column.paired`` is False.
* **References apart.** Rows of ``reference`` "ceiling" (the oracle) or "chance" are in ``SummaryTable.references``,
  never ranked. A reference scored only on another population (the oracle leaves out single-face speakers) is still
  shown, with its ``Cell.population`` saying so. Methods scored only on such a subset are left to the detail tables.
* **One result per generator and column**: the protocol's registered version (else the highest present), the lowest
  seed, the latest run — as the detail tables choose (``benchmark.reports.tables.build_tables``).

Names here (``summary_tables``, ``SummaryTable``, ``Column``, ``SummaryRow``, ``Cell``) are stable: the Markdown
summary and the web page read them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from benchmark.reports.bands import rank_in_bands
from benchmark.reports.rows import (HOME_DATASET, MEASURED, Row, Table, _registered_version, _safe, data_folder,
                                    is_percent)

if TYPE_CHECKING:  # pragma: no cover
    import pandas


@dataclass(frozen=True)
class Headline:
    """A protocol's headline metric: ``protocol``, the column ``label``, the ``metric`` key in its results, and
    ``fallback_prefix``: when ``metric`` is absent, the metric with this prefix and the largest number is used."""

    protocol: str
    label: str
    metric: str
    fallback_prefix: str = ""


HEADLINES = (
    Headline("unstratified", "1:2", "accuracy"),
    Headline("stratified", "1:2 stratified", "accuracy"),
    Headline("match-1ofN", "1:10", "acc@N=10", "acc@N="),
    Headline("retrieval", "R@5", "R@5"),
    Headline("gender", "gender", "gender_consistency"),
    Headline("age", "age band", "band_accuracy"),
    Headline("feature", "feature cos", "cosine"),
    Headline("consistency", "consistency ratio", "ratio"),
    Headline("realism", "KID", "kid"),
)
"""The summary's columns, in order: 1:2 matching (Nagrani et al. 2018; Wen et al. 2019, Table 2), gender-stratified
1:2, 1:N matching at N = 10 (Nagrani et al. 2018), retrieval Recall@5 (SF2F, Bai et al. 2022), gender consistency
and age-band accuracy (attribute model), feature cosine similarity (SF2F, Table 1), within/between consistency ratio,
Kernel Inception Distance (Bińkowski et al. 2018) — metric keys as the tasks write them (``benchmark.tasks``)."""

ORDER_BY = ("stratified", "unstratified", "match-1ofN", "retrieval")
"""Methods are listed in the band order of the first of these columns a summary has, then by name."""


@dataclass
class Cell:
    """One generator's headline number for one column: ``value`` [``ci_low``, ``ci_high``] in the metric's own unit
    (proportions as fractions), ``rank`` and ``band`` (None for references and unranked rows, with ``unranked`` saying
    why), ``flag`` (why the interval is not to be trusted, or ""), the ``result_path`` it comes from (relative to the
    results folder) and its ``population`` ("" or the subset it was scored on)."""

    value: float
    ci_low: float
    ci_high: float
    n: int | None = None
    n_identities: int | None = None
    rank: int | None = None
    band: int | None = None
    unranked: str = ""
    flag: str = ""
    result_path: str = ""
    population: str = ""
    seed: int | None = None


@dataclass
class Column:
    """One summary column: a protocol's headline ``metric`` (``label`` as shown, e.g. "1:10"), the protocol
    ``version`` used, ``lower_is_better``, ``percent`` (a proportion, shown in %), ``chance`` (the results'
    ``info.chance`` for the metric, None where they give none), ``ceiling`` and ``ceiling_generator`` (the best
    ceiling reference's value and name, None without one), ``paired`` (every neighbour comparison used stored
    replicates), ``comparisons`` (the neighbour comparisons behind the bands, ``benchmark.reports.bands``) and
    ``detail`` (the detail table's file under the leaderboard folder, e.g. "tables/vox1-s2f/stratified.md") and
    ``anchor`` (the id of the detail table's section in the leaderboard README, ``Table.anchor``)."""

    protocol: str
    label: str
    metric: str
    version: int | None
    lower_is_better: bool = False
    percent: bool = False
    chance: float | None = None
    ceiling: float | None = None
    ceiling_generator: str = ""
    paired: bool = True
    comparisons: list = field(default_factory=list)
    detail: str = ""
    anchor: str = ""


@dataclass
class SummaryRow:
    """One generator: ``cells`` (protocol -> ``Cell``; columns without its result are absent), its ``reference``
    ("ceiling", "chance" or ""), ``source`` (citation, or how it was trained here) and ``trained_against_judge``."""

    generator: str
    reference: str = ""
    source: str = ""
    trained_against_judge: bool = False
    cells: dict = field(default_factory=dict)


@dataclass
class SummaryTable:
    """The summary of one data: ``dataset``, ``data`` ("registered" or the manifest fingerprint), ``split``,
    ``heading`` (which data, in words), ``judge``, ``synthetic``, ``columns`` (``Column``, in ``HEADLINES`` order,
    only those with results), ``rows`` (methods, ranked order) and ``references`` (shown apart, not ranked)."""

    dataset: str
    data: str
    split: str
    heading: str
    judge: str
    synthetic: bool = False
    columns: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    references: list = field(default_factory=list)

    @property
    def slug(self) -> str:
        """A file-name-safe id of the data, e.g. "vox1-s2f--test", "mydata-1a2b3c4d--test"."""
        return f"{_safe(data_folder(self.dataset, self.data))}--{_safe(self.split)}"


def _one_per_generator(rows: "pandas.DataFrame") -> "pandas.DataFrame":
    """Lowest seed, then latest ``created``, per generator (``build_tables``' choice)."""
    ordered = rows.assign(_seed=rows["seed"].fillna(0)).sort_values(["generator", "_seed", "created"],
                                                                     ascending=[True, True, False], kind="stable")
    return ordered.drop_duplicates("generator").drop(columns="_seed")


def _metric_of(head: Headline, metrics: set) -> str | None:
    if head.metric in metrics:
        return head.metric
    if head.fallback_prefix:
        found = [m for m in metrics if m.startswith(head.fallback_prefix) and m[len(head.fallback_prefix):].isdigit()]
        if found:
            return max(found, key=lambda m: int(m[len(head.fallback_prefix):]))
    return None


def _label(head: Headline, metric: str) -> str:
    if metric == head.metric or not head.fallback_prefix:
        return head.label
    return f"1:{metric[len(head.fallback_prefix):]}"


def _cell(r) -> Cell:
    return Cell(value=float(r.value), ci_low=float(r.ci_low), ci_high=float(r.ci_high),
                n=None if _na(r.n) else int(r.n), n_identities=None if _na(r.n_identities) else int(r.n_identities),
                flag="" if _na(r.flag) else str(r.flag), result_path=r.result_path, population=r.population or "",
                seed=None if _na(r.seed) else int(r.seed))


def _na(x) -> bool:
    import pandas as pd

    return x is None or bool(pd.isna(x))


def _column(head: Headline, group: "pandas.DataFrame", key: tuple, judge: str) -> tuple[Column, dict] | None:
    """The column of ``head`` in one data's frame rows, and its cells by generator (None: no result)."""
    rows = group[group["protocol"] == head.protocol]
    if rows.empty:
        return None
    registered = _registered_version(head.protocol)
    versions = set(rows["protocol_version"].dropna().astype(int))
    version = registered if registered in versions else max(versions) if versions else None
    rows = rows[rows["protocol_version"] == version] if version is not None else rows
    metric = _metric_of(head, set(rows["metric"]))
    if metric is None:
        return None
    rows = rows[rows["metric"] == metric]
    import pandas as pd

    is_ref = rows["reference"].notna() & (rows["reference"] != "")
    whole = rows["population"] == ""
    methods = _one_per_generator(rows[~is_ref & whole])
    refs = _one_per_generator(rows[is_ref & whole])
    subset = rows[is_ref & ~whole & ~rows["generator"].isin(set(refs["generator"]))]  # e.g. the oracle's speakers
    chosen = pd.concat([methods, refs, _one_per_generator(subset)])
    if chosen.empty:
        return None
    lower = bool(chosen["lower_is_better"].any())
    table = Table(dataset=key[0], protocol=head.protocol, version=version, split=key[2],
                  own_split=_own_split(head.protocol, key[2]), judge=judge, rank_by=metric, metrics=[metric],
                  lower_is_better={metric} if lower else set())
    by_row, cells = {}, {}
    for r in chosen.itertuples(index=False):
        row = Row(generator=r.generator, kind=MEASURED, scores={metric: (r.value, r.ci_low, r.ci_high)},
                  reference="" if _na(r.reference) else str(r.reference), trials_sha256=r.trials_sha256,
                  replicates={metric: r.replicates} if isinstance(r.replicates, dict) else {},
                  flags={metric: r.flag} if not _na(r.flag) else {},
                  not_applicable={metric: r.not_applicable} if not _na(r.not_applicable) else {})
        table.rows.append(row)
        by_row[r.generator] = row
        cells[r.generator] = (_cell(r), row.reference, r.source, bool(r.trained_against_judge))
    rank_in_bands(table)
    for name, row in by_row.items():
        cell = cells[name][0]
        cell.rank, cell.band, cell.unranked = row.rank, row.band, row.unranked
    whole_rows = chosen[chosen["population"] == ""]  # chance of the split's own trials, not a subset's
    chance = [c for c in (whole_rows if len(whole_rows) else chosen)["chance"] if c == c]
    ceilings = [(cells[g][0].value, g) for g in by_row if by_row[g].reference == "ceiling"]
    best = (min if lower else max)(ceilings) if ceilings else (None, "")
    detail_table = Table(dataset=key[0], protocol=head.protocol, version=version, split=key[2],
                         own_split=table.own_split, judge=judge, data=key[1])
    column = Column(protocol=head.protocol, label=_label(head, metric), metric=metric, version=version,
                    lower_is_better=lower, percent=is_percent(metric),
                    chance=float(sum(chance) / len(chance)) if chance else None, ceiling=best[0],
                    ceiling_generator=best[1], paired=all(c["paired"] for c in table.comparisons),
                    comparisons=table.comparisons,
                    detail=f"tables/{detail_table.folder}/{detail_table.slug}.md", anchor=detail_table.anchor)
    return column, cells


def _own_split(protocol: str, split: str) -> str:
    from protocols import PROTOCOLS, get_protocol

    return get_protocol(protocol).probe_split if protocol in PROTOCOLS else split


def summary_tables(frame: "pandas.DataFrame", judge: str | None = None) -> list[SummaryTable]:
    """One ``SummaryTable`` per data (module docstring), from ``benchmark.results.load``'s frame.

    Args:
        frame: the results frame (``benchmark.results.frame.COLUMNS``); only overall scores (stratum "all") are used.
        judge: the judge whose results are summarised (registry name); default ``benchmark.judges.DEFAULT_JUDGE``.

    Returns:
        Summaries ordered as the detail tables are (``HOME_DATASET`` first, other real data by name, synthetic data
        last; then by split); data without any headline result under ``judge`` gives no summary.
    """
    from benchmark.judges import DEFAULT_JUDGE

    judge = judge or DEFAULT_JUDGE
    overall = frame[(frame["stratum"] == "all") & (frame["judge"] == judge)]
    out = []
    for key, group in overall.groupby(["dataset", "data", "split"], sort=True):
        table = SummaryTable(dataset=key[0], data=key[1], split=key[2], heading=str(group["data_heading"].iloc[0]),
                             judge=judge, synthetic=bool(group["synthetic"].any()))
        rows: dict[str, SummaryRow] = {}
        for head in HEADLINES:
            found = _column(head, group, key, judge)
            if found is None:
                continue
            column, cells = found
            table.columns.append(column)
            for name, (cell, reference, source, vs_judge) in cells.items():
                row = rows.setdefault(name, SummaryRow(generator=name, reference=reference, source=source,
                                                       trained_against_judge=vs_judge))
                row.cells[head.protocol] = cell
        if not table.columns:
            continue
        order = next((p for p in ORDER_BY if any(c.protocol == p for c in table.columns)), None)

        def place(row: SummaryRow):
            cell = row.cells.get(order)
            ranked = cell is not None and cell.rank is not None
            return (not ranked, cell.rank if ranked else math.inf, row.generator)

        table.rows = sorted((r for r in rows.values() if not r.reference), key=place)
        table.references = sorted((r for r in rows.values() if r.reference), key=lambda r: (r.reference, r.generator))
        out.append(table)

    def table_key(t: SummaryTable):
        return (0 if t.dataset == HOME_DATASET else 2 if t.synthetic else 1, t.dataset, t.data, t.split)

    return sorted(out, key=table_key)
