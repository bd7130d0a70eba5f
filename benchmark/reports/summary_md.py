"""The summary at the top of the leaderboard README (issue 23 §1): ``benchmark.reports.summary``'s tables as GitHub
Markdown, sources and notes as numbered footnotes, column headers linked to the detail tables, each summary's plot
(``benchmark.reports.plots``) shown under its heading.

Every string from a result file goes through ``benchmark.escape`` (``md_text``); anchors and file names are made
only of ``benchmark.reports.rows._safe`` names.
"""

from __future__ import annotations

from benchmark.reports.rows import TWO_FACE
from benchmark.reports.summary import Cell, Column, SummaryRow, SummaryTable

PLOTS_DIR = "plots"
"""Where the summary plots are written, under the leaderboard folder: ``plots/<summary slug>.png|.svg|.json``."""

INTRO = (
    "One table per data (dataset, data identity, split) — rows of other data (another dataset, a partial copy, "
    "another manifest, another split) are never ranked together — scored by judge `{judge}` (the default; other "
    "judges' results are in the detail tables). Each cell: the protocol's headline metric, value [95 % CI] (bootstrap "
    "over identities), and its band in that column: `b1` is the best band; rows whose paired difference to their "
    "neighbour is not significant (same identity resamples, Holm-adjusted; `benchmark.reports.bands`) share a band. "
    "*#* orders the rows by the first of {order} the table has. A column header links to its detail table. "
    "References (ceiling: a real face of the speaker; chance) are shown apart and never ranked. ↓: lower is "
    "better. ⚠: the interval is not to be trusted (too few identities, zero width, …: see the detail table), and "
    "the row is not ranked in that column. Proportions are in %. Sources and notes: numbered footnotes under each "
    "table."
)


def fmt_cell(column: Column, cell: Cell | None, show_band: bool = True) -> str:
    """"72.3 [60.1, 83.0] b1" (proportions in %, one decimal; other units 4 significant digits), "⚠" after a
    flagged value, "—" without a value."""
    if cell is None:
        return "—"
    if column.percent:
        text = f"{cell.value * 100:.1f} [{cell.ci_low * 100:.1f}, {cell.ci_high * 100:.1f}]"
    else:
        text = f"{cell.value:.4g} [{cell.ci_low:.4g}, {cell.ci_high:.4g}]"
    if cell.flag:
        text += " ⚠"
    if show_band and cell.band is not None:
        text += f" b{cell.band}"
    return text


def column_header(column: Column) -> str:
    """The header cell: the label, its unit, ↓ for lower-is-better (links to the detail tables follow the table:
    no link inside a table row)."""
    unit = " %" if column.percent else ""
    arrow = " ↓" if column.lower_is_better else ""
    return f"{column.label}{unit}{arrow}"


def detail_links(table: SummaryTable) -> str:
    """"Detail tables: [1:2](#…) · …": each column's detail table (its README section and its file)."""
    return "Detail tables: " + " · ".join(f"[{c.label}](#{c.anchor}) ([file]({c.detail}))" for c in table.columns)


class _Notes:
    """Numbered footnotes of one summary table (the same text gets the same number)."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def ref(self, text: str) -> str:
        if not text:
            return ""
        if text not in self.texts:
            self.texts.append(text)
        return f" [{self.texts.index(text) + 1}]"


def _row_notes(row: SummaryRow, table: SummaryTable, notes: _Notes) -> str:
    from benchmark.escape import md_text

    marks = notes.ref(md_text(row.source))
    if row.trained_against_judge:
        marks += notes.ref("trained against the judge's embedding space: it may overfit the scorer.")
    subsets = sorted({c.population for c in row.cells.values() if c.population})
    for population in subsets:
        why = (" (the oracle shows the probe clip's own crop, so speakers with one face are left out)"
               if population == TWO_FACE else "")
        marks += notes.ref(f"scored on {md_text(population)} only{why}: not the same speakers as the ranked rows.")
    return marks


def _body(rows: list[SummaryRow], table: SummaryTable, notes: _Notes, first: list) -> list[list[str]]:
    from benchmark.escape import md_text

    return [first[i] + [md_text(r.generator) + _row_notes(r, table, notes)]
            + [fmt_cell(c, r.cells.get(c.protocol), show_band=not r.reference) for c in table.columns]
            for i, r in enumerate(rows)]


def order_column(table: SummaryTable) -> Column | None:
    """The column the methods are ordered by (``benchmark.reports.summary.ORDER_BY``), None if none."""
    from benchmark.reports.summary import ORDER_BY

    return next((c for p in ORDER_BY for c in table.columns if c.protocol == p), None)


def summary_section(table: SummaryTable) -> str:
    """One summary: anchor, heading (which data, which judge), the plot, the methods, the references, footnotes."""
    from tabulate import tabulate

    from benchmark.escape import md_text

    notes = _Notes()
    plot = f"{PLOTS_DIR}/{table.slug}"
    lines = [f'### <a id="summary-{table.slug}"></a>Summary: {md_text(table.heading)} — judge {md_text(table.judge)}',
             ""]
    if table.synthetic:
        lines += ["Synthetic known-answer world: these numbers test the pipeline and say nothing about real "
                  "voices.", ""]
    lines += [f"![{md_text(table.heading)}: headline metrics with 95 % CIs]({plot}.png)", "",
              f"Plot: [`{plot}.png`]({plot}.png), [`{plot}.svg`]({plot}.svg) (numbers: [`{plot}.json`]({plot}.json))",
              ""]
    headers = [column_header(c) for c in table.columns]
    by = order_column(table)
    if table.rows:
        ranks = [[str(r.cells[by.protocol].rank) if by and by.protocol in r.cells
                  and r.cells[by.protocol].rank is not None else "—"] for r in table.rows]
        lines += [tabulate(_body(table.rows, table, notes, ranks), headers=["#", "generator"] + headers,
                           tablefmt="github", disable_numparse=True), ""]
    else:
        lines += ["No method scored on this data yet (references only).", ""]
    if table.references:
        kinds = [[md_text(r.reference)] for r in table.references]
        lines += ["References (shown, not ranked):", "",
                  tabulate(_body(table.references, table, notes, kinds), headers=["reference", "generator"] + headers,
                           tablefmt="github", disable_numparse=True), ""]
    lines += [detail_links(table), ""]
    facts = []
    for c in table.columns:
        chance = "" if c.chance is None else (f", chance {c.chance * 100:.1f} %" if c.percent
                                              else f", chance {c.chance:.4g}")
        facts.append(f"{md_text(c.label)} = `{md_text(c.metric)}` of {md_text(c.protocol)} v{c.version}{chance}")
    notes.ref("Columns: " + "; ".join(facts) + ".")
    unpaired = [md_text(c.label) for c in table.columns if not c.paired]
    if unpaired:
        notes.ref(f"Bands of {', '.join(unpaired)}: some neighbours are compared by their 95 % intervals only (no "
                  "stored bootstrap replicates for that metric, or other trials): a band starts there only where the "
                  "intervals do not overlap.")
    if by is not None:
        notes.ref(f"# is the rank in {md_text(by.label)}.")
    lines += [f"{i}. {text}" for i, text in enumerate(notes.texts, 1)] + [""]
    return "\n".join(lines)


def summary_markdown(tables: list[SummaryTable], judge: str) -> str:
    """The README's "Summary" section: the intro and one ``summary_section`` per summary (a line saying there is
    none when no result of ``judge`` has a headline metric)."""
    from benchmark.escape import md_text
    from benchmark.reports.summary import HEADLINES, ORDER_BY

    labels = {h.protocol: h.label for h in HEADLINES}
    lines = ["## Summary", "", INTRO.format(judge=judge, order=", ".join(labels[p] for p in ORDER_BY)), ""]
    if tables:
        lines += ["Data: " + " · ".join(f"[{md_text(t.dataset)}{'' if t.data == 'registered' else ' ' + t.data[:8]} "
                                        f"({md_text(t.split)})](#summary-{t.slug})" for t in tables), ""]
    else:
        lines += [f"No result of judge `{judge}` has a headline metric yet; the detail tables follow.", ""]
    for table in tables:
        lines.append(summary_section(table))
    return "\n".join(lines).rstrip() + "\n"
