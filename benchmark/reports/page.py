"""The leaderboard as a static web page (issue 23 §3; ``bench leaderboard --html DIR``).

One folder that opens from disk (``DIR/index.html``; no server, nothing fetched from outside):

* **the summaries** (``benchmark.reports.summary.summary_tables``, built on ``benchmark.results.load``'s frame): one
  table per data (dataset, data identity, split) and judge — every judge the results were scored by, each its own
  table, never ranked together — a row per generator, the headline metric of each protocol as value [95 % CI] and
  its band ("b1" is the best band of that column), references (ceiling, chance) in their own part of the table,
  never ranked;
* **sortable columns**: a click on a column header sorts that table's rows by the exact value (best first, then
  reversed on the next click); **filters** by dataset, split and judge (default: the default judge,
  ``benchmark.judges.DEFAULT_JUDGE``) hide the other summaries;
* **the plots** of the summaries (``benchmark.reports.plots``: ``<leaderboard folder>/plots/<summary slug>.png``,
  drawn by ``bench leaderboard``), copied into ``DIR/plots/``;
* **contact sheets** (``benchmark.reports.sheet``: for K speakers, what the generator drew from the voice beside the
  speaker's true faces), one per generator and data, in ``DIR/sheets/<summary slug>/`` — made by ``--sheets``
  (``benchmark.reports.page_sheets``: it re-runs each registered generator on data that is present, so it takes
  the time ``bench sheet`` takes); without ``--sheets`` the page shows the sheets a previous ``--sheets`` left in
  ``DIR/sheets/``, or ``bench sheet`` left in the results folder, and names the generators that have none.

Every string from a result file (generator names, sources, dataset and judge names, paths) goes through
``benchmark.escape.html_text`` and appears only as element text or in a quoted attribute; the script and style
are constants (``benchmark.reports.page_assets``) allowed by hash in the page's Content-Security-Policy. Each value
cell carries the exact number (``data-value``, Python ``repr``) and the result file it comes from (``data-file``,
relative to the results folder) so that a reader — or the browser test — can check it against that file. The page
is deterministic (no date), so ``bench leaderboard --check --html DIR`` can tell whether ``DIR/index.html`` is current.
"""

from __future__ import annotations

import os
from pathlib import Path

from benchmark.escape import html_text as h
from benchmark.reports.summary import Cell, Column, SummaryRow, SummaryTable

PAGE = "index.html"
"""The page's file name inside ``DIR``."""


def judges_of(frame) -> list[str]:
    """The judges of a results frame, the default judge (``benchmark.judges.DEFAULT_JUDGE``) first, then by name."""
    from benchmark.judges import DEFAULT_JUDGE

    names = sorted({str(j) for j in frame["judge"].dropna().unique()})
    return sorted(names, key=lambda j: (j != DEFAULT_JUDGE, j))


def all_summaries(frame) -> list[SummaryTable]:
    """``summary_tables`` of every judge in ``frame`` (``judges_of`` order), concatenated."""
    from benchmark.reports.summary import summary_tables

    return [t for judge in judges_of(frame) for t in summary_tables(frame, judge)]


def cell_text(column: Column, cell: Cell) -> str:
    """"72.3 [60.1, 83.0]" (proportions in %, one decimal; other units 4 significant digits)."""
    if column.percent:
        return f"{cell.value * 100:.1f} [{cell.ci_low * 100:.1f}, {cell.ci_high * 100:.1f}]"
    return f"{cell.value:.4g} [{cell.ci_low:.4g}, {cell.ci_high:.4g}]"


def _value_cell(column: Column, cell: Cell | None, reference: bool = False) -> str:
    if cell is None:
        return '<td data-sort="">—</td>'
    notes = []
    if cell.band is not None:
        notes.append(f' <span class="band" title="band {cell.band} of this column">b{cell.band}</span>')
    if cell.flag:
        notes.append(f' <span class="warn" title="{h(cell.flag)}">⚠</span>')
    if cell.population:
        notes.append(f' <span class="warn" title="scored on {h(cell.population)} only">*</span>')
    if cell.unranked and cell.band is None and not reference:  # references are never ranked: said once, above
        notes.append(f' <span class="missing" title="{h(cell.unranked)}">(not ranked)</span>')
    return (f'<td data-sort="{cell.value!r}" data-value="{cell.value!r}" data-ci-low="{cell.ci_low!r}" '
            f'data-ci-high="{cell.ci_high!r}" data-metric="{h(column.metric)}" data-protocol="{h(column.protocol)}" '
            f'data-file="{h(cell.result_path)}"><span class="num">{h(cell_text(column, cell))}</span>'
            + "".join(notes) + "</td>")


def _row(table: SummaryTable, row: SummaryRow) -> str:
    name = h(row.generator)
    warn = (' <span class="warn" title="trained against the judge\'s embedding space: may overfit the scorer">'
            '⚠ trained vs judge</span>') if row.trained_against_judge else ""
    ref = f' <span class="missing">({h(row.reference)})</span>' if row.reference else ""
    cells = "".join(_value_cell(c, row.cells.get(c.protocol), bool(row.reference)) for c in table.columns)
    return (f'<tr class="row" data-generator="{name}"><th scope="row" data-sort="{name}">{name}{ref}{warn}</th>'
            f'{cells}<td class="source text" data-sort="{h(row.source)}">{h(row.source)}</td></tr>')


def _header(column: Column) -> str:
    unit = " %" if column.percent else ""
    arrow = " ↓" if column.lower_is_better else ""
    title = f"{column.protocol} v{column.version} · {column.metric}" if column.version is not None else column.protocol
    if column.chance is not None:
        title += f" · chance {column.chance * 100:.1f} %" if column.percent else f" · chance {column.chance:.4g}"
    if not column.paired:
        title += " · bands from non-overlapping intervals (no stored replicates)"
    lower = ' data-lower="1"' if column.lower_is_better else ""
    return (f'<th data-type="num"{lower} title="{h(title)}"><button type="button">{h(column.label)}{unit}{arrow}'
            "</button></th>")


def section_html(table: SummaryTable, plot: str | None, sheets: dict[str, str]) -> str:
    """One summary as an HTML ``<section>``: heading, sortable table, its plot and contact sheets.

    Args:
        table: the summary (``benchmark.reports.summary.SummaryTable``).
        plot: the plot image's path relative to the page (None: no plot for this summary).
        sheets: generator name -> its contact sheet's path relative to the page (generators without one absent).
    """
    from benchmark.judges import DEFAULT_JUDGE

    judge = table.judge + (" (default)" if table.judge == DEFAULT_JUDGE else "")
    ncols = len(table.columns) + 2
    head = ('<tr><th data-type="text" class="text"><button type="button">generator</button></th>'
            + "".join(_header(c) for c in table.columns)
            + '<th data-type="text" class="text"><button type="button">source</button></th></tr>')
    lines = [f'<section class="summary" id="{h(table.slug)}--judge-{h(table.judge)}" data-dataset="{h(table.dataset)}" '
             f'data-split="{h(table.split)}" data-judge="{h(table.judge)}">',
             f"<h2>{h(table.heading)} — judge {h(judge)}</h2>"]
    if table.synthetic:
        lines.append('<p class="missing">Synthetic known-answer world: these numbers test the pipeline and say '
                     "nothing about real voices.</p>")
    lines += ['<div class="scroll"><table class="board">', f"<thead>{head}</thead>", '<tbody class="methods">']
    lines += [_row(table, r) for r in table.rows]
    lines += ["</tbody>", '<tbody class="references">']
    if table.references:
        lines.append(f'<tr class="group"><th colspan="{ncols}">references — shown, not ranked</th></tr>')
        lines += [_row(table, r) for r in table.references]
    lines += ["</tbody>", "</table></div>"]
    if plot:
        lines.append(f'<figure class="plot"><img src="{h(plot)}" alt="headline metrics of {h(table.heading)} with '
                     f'95 % CIs"><figcaption>Headline metrics with their 95 % CIs; chance dashed, ceiling dotted '
                     "(judge " f"{h(table.judge)}).</figcaption></figure>")
    names = [r.generator for r in table.rows + table.references]
    shown = [n for n in names if n in sheets]
    missing = [n for n in names if n not in sheets]
    lines.append('<details class="sheets"><summary>contact sheets: what each generator drew from the voice, '
                 f"beside the speaker's true faces ({len(shown)} of {len(names)})</summary>")
    for name in shown:
        lines.append(f'<figure><img src="{h(sheets[name])}" alt="contact sheet of {h(name)}" loading="lazy">'
                     f"<figcaption>{h(name)}</figcaption></figure>")
    if missing:
        lines.append('<p class="missing">No contact sheet for: ' + ", ".join(h(n) for n in missing)
                     + " (<code>bench leaderboard --html DIR --sheets</code> makes them where the data and the "
                     "generator are present).</p>")
    lines += ["</details>", "</section>"]
    return "\n".join(lines)


def _select(key: str, label: str, values: list[str], selected: str = "") -> str:
    options = [f'<option value=""{" selected" if not selected else ""}>all</option>']
    options += [f'<option value="{h(v)}"{" selected" if v == selected else ""}>{h(v)}</option>' for v in values]
    return f'<label>{label}<select data-filter="{key}">{"".join(options)}</select></label>'


def render_page(tables: list[SummaryTable], plots: dict[str, str], sheets: dict[tuple[str, str], str],
                results_label: str, n_files: int) -> str:
    """The whole page (module docstring) as HTML5 text.

    Args:
        tables: the summaries, every judge (``all_summaries``).
        plots: summary slug -> plot path relative to the page (plots are drawn for the default judge's summaries).
        sheets: (summary slug, generator) -> contact sheet path relative to the page.
        results_label: the results folder as the page names it; n_files: how many result files were read.
    """
    from benchmark.judges import DEFAULT_JUDGE
    from benchmark.reports.page_assets import SCRIPT, STYLE, csp

    judges = sorted({t.judge for t in tables}, key=lambda j: (j != DEFAULT_JUDGE, j))
    default = DEFAULT_JUDGE if DEFAULT_JUDGE in judges else ""
    sections = [section_html(t, plots.get(t.slug) if t.judge == DEFAULT_JUDGE else None,
                             {g: p for (slug, g), p in sheets.items() if slug == t.slug}) for t in tables]
    body = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{csp()}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>voice2face-bench leaderboard</title>", f"<style>{STYLE}</style>", "</head>", "<body>",
        "<header><h1>voice2face-bench leaderboard</h1>",
        f'<p class="intro">Generated by <code>bench leaderboard --html</code> from {n_files} result file(s) in '
        f"<code>{h(results_label)}</code>; do not edit. One table per data (dataset, data identity, split) and judge: "
        "rows of other data or another judge are never ranked together. Each cell is a protocol's headline metric, "
        "value [95 % CI] (bootstrap over identities), and its band in that column: b1 is the best band; neighbours "
        "whose paired difference is not significant (same identity resamples, Holm-adjusted) share a band. "
        "References (ceiling: a real face of the speaker; chance) are shown apart, never ranked. ↓: lower is "
        "better. ⚠: the interval is not to be trusted, or the generator was trained against the judge. "
        "Proportions are in %. Click a column header to sort; hover it for the protocol, version and chance "
        "level.</p></header>",
        '<form id="filters">',
        _select("dataset", "dataset", sorted({t.dataset for t in tables})),
        _select("split", "split", sorted({t.split for t in tables})),
        _select("judge", "judge", judges, default),
        '<span id="shown"></span></form>',
        '<p id="none" hidden>No summary matches these filters.</p>',
        "<main>", *sections, "</main>",
        f"<script>{SCRIPT}</script>", "</body>", "</html>",
    ]
    if not tables:
        body.insert(body.index("<main>") + 1, "<p>No results yet: <code>bench run --model oracle --protocol "
                                              "stratified</code> writes one.</p>")
    return "\n".join(body) + "\n"


def page_files(results_dir: str | os.PathLike[str], html_dir: str | os.PathLike[str], *,
               plots_dir: str | os.PathLike[str] | None = None, make_sheets: bool = False,
               sheet_options: dict | None = None, frame=None) -> dict[str, str | bytes]:
    """Everything the page folder holds, relative path -> content (``index.html`` text, images as bytes).

    Args:
        results_dir: the results folder (``benchmark.results.load``).
        html_dir: the page's folder (``DIR``); its ``sheets/`` are reused where ``make_sheets`` is False.
        plots_dir: where ``bench leaderboard`` drew the summary plots (``<slug>.png``); None or absent: no plots.
        make_sheets: make the contact sheets (``benchmark.reports.page_sheets.make_sheets``; slow: runs generators).
        sheet_options: keyword arguments for ``make_sheets`` (data_root, data_dir, device, progress, ...).
        frame: the results frame, when the caller already loaded it.

    Returns:
        ``{"index.html": str, "plots/<slug>.png": bytes, "sheets/<slug>/<name>.png": bytes, ...}``.

    Raises:
        BenchError: a result file cannot be read (the message names it).
    """
    from benchmark.reports.page_sheets import find_sheets, make_sheets as make
    from benchmark.results import load
    from benchmark.results.frame import result_files

    frame = load(results_dir) if frame is None else frame
    tables = all_summaries(frame)
    files: dict[str, str | bytes] = {}
    plots: dict[str, str] = {}
    for slug in sorted({t.slug for t in tables}):
        src = Path(plots_dir) / f"{slug}.png" if plots_dir else None
        if src is not None and src.is_file():
            plots[slug] = f"plots/{slug}.png"
            files[plots[slug]] = src.read_bytes()
    if make_sheets:
        found = make(tables, results_dir, **(sheet_options or {}))
    else:
        found = find_sheets(tables, html_dir, results_dir)
    sheets = {key: rel for key, (rel, _) in found.items()}
    files.update({rel: data for rel, data in found.values()})
    files[PAGE] = render_page(tables, plots, sheets, Path(results_dir).as_posix(), len(result_files(results_dir)))
    return files


def write_page(html_dir: str | os.PathLike[str], files: dict[str, str | bytes]) -> Path:
    """Write ``page_files``' output under ``html_dir`` (each file atomically; names checked to stay inside it);
    returns the page's path. Files already there that the page does not name are left alone."""
    from benchmark.results.io import write_atomic
    from benchmark.safety import inside

    out = Path(html_dir)
    for rel in files:
        inside(out, out / rel, "web page file")
    for rel, data in files.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        write_atomic(out / rel, data.encode("utf-8") if isinstance(data, str) else data)
    return out / PAGE


def stale_page(html_dir: str | os.PathLike[str], files: dict[str, str | bytes]) -> list[str]:
    """The page files that are missing under ``html_dir`` or differ from ``files`` (``--check``), relative paths."""
    out = Path(html_dir)
    stale = []
    for rel, data in files.items():
        want = data.encode("utf-8") if isinstance(data, str) else data
        if not (out / rel).is_file() or (out / rel).read_bytes() != want:
            stale.append(rel)
    return sorted(stale)
