"""Leaderboards (``bench leaderboard``): tables rendered from the stored result JSON, never edited by hand.

One table per dataset, evaluated split, protocol (and protocol version) and judge, one row per generator: rows of
different splits (``bench run --split``; the default is each protocol's own, "test") or of different judges
(``bench run --judge``; ``benchmark.judges``) are never ranked together. Every table's heading names its judge; a
table of another split than the protocol's own says so in its title and file name (``<protocol>@<split>``), and
a table of a judge other than the default (``benchmark.judges.DEFAULT_JUDGE``) in its file name too
(``<protocol>[@<split>]--judge-<judge>``).

* measured rows come from the result files under the results folder (``leaderboards/results``): every metric
  of the protocol as value [95 % CI], the trial and identity counts, the judge, whether the generator was trained
  against the judge's embedding space (``GeneratorMeta.trained_against_judge``: such a model can overfit the
  scorer), its reference role (ceiling / chance), seed, date, citation and result file. When a generator has
  several results for one table (several seeds or runs), the row shows the lowest seed's latest run and says
  how many others exist. Rows are ranked by the protocol's ``rank_by`` metric (``ProtocolSpec.rank_by``; e.g.
  consistency's ``ratio``), else the table's first metric (higher is better, except for metrics a result lists in
  ``info.lower_is_better`` or in ``LOWER_IS_BETTER``); the ranked column's header says "(ranked)". A submission scored with missing faces is
  marked "incomplete".
* reported rows come from ``leaderboards/published.json``: numbers from papers, each with its exact source,
  marked "reported, different scorer" and never ranked — they were measured with another scorer. They appear only
  in the tables of the data they were measured on (``benchmark.data.identity.published_key``: VoxCeleb1 + VGGFace
  rows in the ``vox1-vggface`` tables, AVSpeech rows in tables of their own), never beside other data.

Proportions (accuracy, top-k, R@K, consistency, detection rates: ``is_percent``) are shown in %, other metrics
in their own units (degrees, distances, years). Outputs, all deterministic (no timestamps, so ``--check`` can
tell whether the committed files are current): ``<out>/README.md`` (first the summary — one table per data under the
default judge, ``benchmark.reports.summary`` / ``summary_md``, built from the results frame
``benchmark.results.frame`` — then every table, each with an ``<a id>`` anchor the summary links to),
``<out>/tables/<data>/<protocol>.md`` and ``.csv`` (wide CSV: raw values, proportions as fractions; ``<data>`` is the
dataset, or ``<dataset>-<fingerprint[:8]>`` for a partial copy or a manifest), and ``<out>/plots/<data>--<split>``
``.png``, ``.svg`` and ``.json`` (``benchmark.reports.plots``; the images are checked by the numbers in the JSON).

Tables are keyed by the data's identity (``benchmark.data.identity.data_key``: dataset, "registered" or the manifest
fingerprint, split — issue 19 §4), so other data never shares a table or a rank; each heading says which data it is.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.reports.agreement import Agreement, agreement_csv, agreement_markdown, judge_agreement  # noqa: F401
from benchmark.reports.tables import (HOME_DATASET, LOWER_IS_BETTER, MEASURED, PERCENT_METRICS,  # noqa: F401
                                      PERCENT_PREFIXES, PUBLISHED_FILE, README_MARK, REPORTED, Row, Table,
                                      build_tables, collect, dataset_label, is_percent, load_published)


def _fmt_value(metric: str, value, lo=None, hi=None) -> str:
    if value is None:
        return ""
    if is_percent(metric):
        text = f"{value * 100:.2f}"
        return text if lo is None else f"{text} [{lo * 100:.1f}, {hi * 100:.1f}]"
    text = f"{value:.4g}"
    return text if lo is None else f"{text} [{lo:.4g}, {hi:.4g}]"


def _header(metric: str) -> str:
    return f"{metric} % [95% CI]" if is_percent(metric) else f"{metric} [95% CI]"


def markdown_table(table: Table) -> str:
    """The table as GitHub Markdown (tabulate); every string from a result file escaped (``benchmark.escape``)."""
    from tabulate import tabulate

    from benchmark.escape import md_code, md_text

    headers = (["#", "generator", "kind"]
               + [_header(m) + (" (ranked)" if m == table.rank_metric and len(table.metrics) > 1 else "")
                  for m in table.metrics]
               + ["trials / ids", "judge", "trained vs judge", "reference", "seed", "date", "source", "notes"])
    body = []
    for r in table.rows:
        vs_judge = "" if r.trained_against_judge is None else ("**yes** ⚠" if r.trained_against_judge else "no")
        counts = "" if r.n_trials is None else f"{r.n_trials} / {r.n_identities}"
        judge = md_text(f"{r.judge} ({r.judge_sha256[:8]})") if r.judge else "paper's own"
        notes = "; ".join(filter(None, [md_text(r.unranked), md_text(r.notes),
                                        md_code(r.result_file) if r.result_file else ""]))
        body.append([_rank_cell(r), md_text(r.generator), r.kind]
                    + [_cell(r, m) for m in table.metrics]
                    + [counts, judge, vs_judge, md_text(r.reference), "" if r.seed is None else r.seed,
                       md_text(r.date), md_text(r.source), notes])
    return tabulate(body, headers=headers, tablefmt="github", disable_numparse=True)


def _rank_cell(row: Row) -> str:
    """"3 (band 2)" for a ranked row, "—" otherwise (``benchmark.reports.bands``)."""
    if row.rank is None:
        return "—"
    return str(row.rank) if row.band is None else f"{row.rank} (band {row.band})"


def _cell(row: Row, metric: str) -> str:
    """A value cell: "n/a" where the result marks the metric not applicable."""
    if metric not in row.scores:
        return ""
    return "n/a" if metric in row.not_applicable else _fmt_value(metric, *row.scores[metric])


def comparisons_markdown(table: Table) -> str:
    """The neighbour comparisons behind a table's bands, one line each ("" when there are none)."""
    from benchmark.escape import md_text

    metric = table.rank_metric
    if not table.comparisons or metric is None:
        return ""
    scale, unit = (100.0, " points") if is_percent(metric) else (1.0, "")
    lines = [f"Bands: neighbours compared on {metric} by their paired difference (same identity resamples), "
             "Holm-adjusted across these pairs; a new band starts where it is significant at 5 %."]
    for c in table.comparisons:
        d = c["difference"] * scale
        if c["paired"]:
            lo, hi = (x * scale for x in c["ci95"])
            lines.append(f"- {md_text(c['a'])} − {md_text(c['b'])}: {d:+.4g}{unit} [{lo:.4g}, {hi:.4g}], p = {c['p_value']:.3g}, "
                         f"Holm {c['p_holm']:.3g}" + (" — **different**" if c["significant"] else ""))
        else:
            lines.append(f"- {md_text(c['a'])} − {md_text(c['b'])}: {d:+.4g}{unit}, not paired ({md_text(c['reason'])}): 95 % intervals "
                         + ("do not overlap — **different**" if c["significant"] else "overlap"))
    return "\n".join(lines)


def csv_table(table: Table) -> str:
    """The table as CSV (raw values; proportions as fractions; empty cells where a row has no value); text cells
    from result files through ``benchmark.escape.csv_text``."""
    from benchmark.escape import csv_text

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    metric_cols = [c for m in table.metrics for c in (m, f"{m}_ci_low", f"{m}_ci_high", f"{m}_identity_weighted",
                                                      f"{m}_identity_weighted_ci_low",
                                                      f"{m}_identity_weighted_ci_high")]
    writer.writerow(["dataset", "protocol", "protocol_version", "rank", "band", "generator", "kind"] + metric_cols
                    + ["n_trials", "n_identities", "judge", "judge_weights_sha256", "trained_against_judge",
                       "reference", "seed", "trials_sha256", "date", "source", "notes", "result_file"])
    for r in table.rows:
        values = []
        for m in table.metrics:
            v, lo, hi = r.scores.get(m, (None, None, None))
            values += ["" if x is None else repr(float(x)) for x in (v, lo, hi) + r.identity_weighted.get(m, (None,) * 3)]
        writer.writerow([table.dataset, table.protocol, "" if table.version is None else table.version,
                         r.rank or "", r.band or "", csv_text(r.generator), r.kind] + values
                        + ["" if r.n_trials is None else r.n_trials, "" if r.n_identities is None else r.n_identities,
                           csv_text(r.judge), csv_text(r.judge_sha256),
                           "" if r.trained_against_judge is None else r.trained_against_judge,
                           csv_text(r.reference), "" if r.seed is None else r.seed, csv_text(r.trials_sha256),
                           csv_text(r.date), csv_text(r.source), csv_text("; ".join(filter(None, [r.unranked, r.notes]))),
                           csv_text(r.result_file)])
    return buf.getvalue()


TABLE_NOTES = {
    "id-topk-seen": ("Closed set: every probe's speaker is in the gallery and was seen in training, so a voice-only "
                     "lookup solves much of it (nearest-voice, the face of the nearest training speaker by speaker "
                     "embedding, reached 81.6 % top-1 on vox1-s2f, above Wen et al.'s reported 61.7 %): it measures "
                     "recall of seen identities, not faces pictured from an unseen voice (issue 20 §5)."),
}
"""A note shown under the heading of every table of these protocols."""


def section_markdown(table: Table) -> str:
    """One table's README section: heading (protocol, version, split, judge, description), provenance lines, table."""
    from benchmark.escape import md_text

    data = table.heading or f"{table.dataset} · split {table.split}"
    if table.split != table.own_split:
        data += f" (not the protocol's own split, {table.own_split})"
    lines = [f'### <a id="{table.anchor}"></a>{table.protocol}' + (f" (v{table.version})" if table.version is not None else "")
             + f" — data: {md_text(data)} — judge: {md_text(_judge_label(table))}"
             + (f" — {md_text(table.description)}" if table.description else ""), ""]
    if table.population:
        lines.append(f"Population: {md_text(table.population)} only — the rows of a generator that shows the probe "
                     "clip's own crop (the oracle) leave out single-face speakers (`dataset.excluded_identities` of "
                     "each result), so they are tabled apart from the whole split; generators scored on this same "
                     "subset are ranked with it.")
    if table.protocol in TABLE_NOTES:
        lines.append(TABLE_NOTES[table.protocol])
    if table.protocol_source:
        lines.append(f"Protocol source: {md_text(table.protocol_source)}.")
    shas = sorted({(r.trials_sha256, r.n_trials, r.seed) for r in table.rows if r.kind == MEASURED})
    if len(shas) == 1:
        sha, n, seed = shas[0]
        lines.append(f"Trials: sha256 `{sha[:16]}…` ({n} trials, seed {seed}); every measured row scored the same trials.")
    elif shas:
        sets = "; ".join(f"`{sha[:8]}…` {n} trials, seed {seed}: "
                         + ", ".join(r.generator for r in table.rows if r.kind == MEASURED and r.trials_sha256 == sha)
                         for sha, n, seed in shas)
        lines.append(f"Measured rows used {len(shas)} different trial sets ({sets}); rows on different trials are "
                     "compared by their intervals only, not paired.")
    if not any(r.kind == MEASURED for r in table.rows):
        lines.append("No measured result on this dataset yet: run `bench run` (or `bench score`) and `bench leaderboard`.")
    lines += ["", markdown_table(table), ""]
    from benchmark.reports.tiers import tiers_markdown

    aside = tiers_markdown(table, _fmt_value)
    if aside:
        lines += [aside, ""]
    bands = comparisons_markdown(table)
    if bands:
        lines += [bands, ""]
    return "\n".join(lines)


def _judge_label(table: Table) -> str:
    """The judge a table's measured rows were scored by, e.g. "dlib (dlib-resnet-v1)"; "none" for reported rows."""
    if not table.judge:
        return "none (reported rows only)"
    return table.judge if table.judge == table.judge_id else f"{table.judge} ({table.judge_id})"


def render(tables: list[Table], sources: dict, results_dir: str, n_files: int, summary_md: str = "") -> dict[str, str]:
    """All text files, relative path -> content: ``README.md`` (``summary_md`` first: ``benchmark.reports.summary_md``,
    then every table) and ``tables/<data folder>/<slug>.md|.csv``."""
    from benchmark.escape import md_text

    files: dict[str, str] = {}
    readme = [
        "# Leaderboards",
        "",
        README_MARK,
        f"Generated by `bench leaderboard` from {n_files} result file(s) in `{results_dir}` and "
        "`leaderboards/published.json` — do not edit; re-run `bench leaderboard` instead.",
        "",
        "How to read the tables: **measured** rows were scored by this suite (each table by one judge, named in its "
        "heading — rows of different judges are never ranked together — on the same seeded trials, "
        "95 % CI from a bootstrap over identities); **reported, different scorer** rows are numbers from papers, "
        "with their exact source — measured with another scorer, so they show where the field stands on that data "
        "but do not compare with the measured rows; they appear only beside the data they were measured on. "
        "*trained vs judge* **yes** ⚠: the generator was trained against the judge's embedding space and may "
        "overfit the scorer. *reference*: `ceiling` (a real face of the speaker) and `chance` rows bound what the protocol allows: they are shown, not ranked, as are "
        "rows whose ranked metric is flagged or not applicable. *#* is \"rank (band b)\": equal values share a rank, "
        "and rows whose paired difference to their neighbour (same trials, same identity resamples; Holm-adjusted) "
        "is not significant share a band (`benchmark.reports.bands`). Rows scored on another population (e.g. "
        "the oracle's speakers with two or more faces) are in their own table. Proportions are in %.",
        "",
    ]
    readme.append(summary_md)
    readme += ["## Detail tables", "", "Every protocol's full table, one per data, protocol, judge and population "
               "(the summary's column headers link here).", ""]
    current = None
    for table in tables:
        if (table.dataset, table.data) != current:
            current = (table.dataset, table.data)
            readme.append(f"## {md_text(table.dataset)}" + ("" if table.data == "registered" else
                                                           f" — data {md_text(table.data[:12])}"))
            readme.append("")
            if current == "vox1-s2f":  # issue 20 §5: what the dataset is
                from benchmark.data.datasets import DATASETS

                readme += [f"Dataset: {DATASETS['vox1-s2f']}.", ""]
            if table.synthetic:
                readme += ["Synthetic known-answer world: these numbers test the pipeline and say nothing about "
                           "real voices.", ""]
        section = section_markdown(table)
        base = f"tables/{table.folder}/{table.slug}"
        judged = f"judge {md_text(table.judge)}" if table.judge else "reported rows only"
        files[f"{base}.md"] = (f"# {md_text(table.heading or table.dataset)} · {table.protocol} · {judged}\n\n"
                               f"{README_MARK}\n\n{section}")
        files[f"{base}.csv"] = csv_table(table)
        readme += [section, f"Files: [`{base}.md`]({base}.md), [`{base}.csv`]({base}.csv)", ""]
    if not tables:
        readme += ["No results yet: `bench run --model oracle --protocol stratified` writes one.", ""]
    agreement = judge_agreement(tables)
    if agreement:
        readme += ["## Judge agreement", "",
                   "Does a ranking depend on the judge? Kendall's τ-b between two judges' orderings of the generators "
                   "both scored (references left out), on each table's ranked metric, with a 95 % bootstrap interval "
                   "(`benchmark.reports.agreement`; 1 = same order). Two judges with the same weights (dlib and its "
                   "port dlib-torch) are reported as parity, without τ. A pair is listed only where both judges' "
                   "paired differences are significant with opposite signs.",
                   "", agreement_markdown(agreement), "",
                   "Files: [`tables/judge-agreement.md`](tables/judge-agreement.md), "
                   "[`tables/judge-agreement.csv`](tables/judge-agreement.csv)", ""]
        files["tables/judge-agreement.md"] = (f"# Judge agreement\n\n{README_MARK}\n\n"
                                              f"{agreement_markdown(agreement)}\n")
        files["tables/judge-agreement.csv"] = agreement_csv(agreement)
    readme += ["## Sources of the reported rows", ""]
    readme += [f"- [{key}] {text}" for key, text in sorted(sources.items())]
    files["README.md"] = "\n".join(readme).rstrip() + "\n"
    return files


@dataclass
class LeaderboardOutput:
    """What ``leaderboard`` produced: the files (relative path -> text, or bytes for an image), the tables, the
    summaries (``benchmark.reports.summary``), the summary's Markdown, and (``check``) the files that differ from
    those on disk."""

    files: dict[str, str | bytes]
    tables: list[Table]
    summaries: list = field(default_factory=list)
    summary: str = ""
    stale: list[str] = field(default_factory=list)

    @property
    def readme(self) -> str:
        return self.files["README.md"]


def leaderboard(results_dir: str | os.PathLike[str] = "leaderboards/results",
                out_dir: str | os.PathLike[str] = "leaderboards", *,
                published: str | os.PathLike[str] | None = None, write: bool = True,
                check: bool = False, allow_empty: bool = False) -> LeaderboardOutput:
    """Render the leaderboards (module docstring): the summary first (``benchmark.reports.summary_md``, from the
    results frame ``benchmark.results.frame``, under ``benchmark.judges.DEFAULT_JUDGE``), its plots
    (``benchmark.reports.plots``), then every table.

    Args:
        results_dir: folder searched recursively for result JSON files.
        out_dir: where ``README.md``, ``tables/`` and ``plots/`` are written.
        published: the published-numbers JSON (default ``leaderboards/published.json`` of the checkout).
        write: write the files (tables and plots under ``tables/`` and ``plots/`` that no longer have results are
            removed).
        check: write nothing, draw nothing; list in ``stale`` every file whose content on disk differs (or is
            missing or left over). Images are checked by the sha256 of their plotted numbers they carry
            (``benchmark.reports.plots.image_digest``), not byte for byte.
        allow_empty: render the reported rows alone when ``results_dir`` holds no result (else refuse).

    Returns:
        ``LeaderboardOutput``.

    Raises:
        BenchError: ``results_dir`` holds no result file (the message names where it looked), a result or the
            published file cannot be read.
    """
    from benchmark.errors import BenchError
    from benchmark.judges import DEFAULT_JUDGE
    from benchmark.reports.plots import plot_files
    from benchmark.reports.summary import summary_tables
    from benchmark.reports.summary_md import summary_markdown
    from benchmark.results.frame import frame_of

    results = collect(results_dir)
    if not results and not allow_empty:
        where = Path(results_dir).resolve()
        raise BenchError(f"no result files under {where} ({'empty' if where.is_dir() else 'no such folder'}; "
                         "looked for **/*.json): nothing to tabulate, nothing written. Run from the repository root "
                         "(the default --results-dir is leaderboards/results), or pass --results-dir DIR.")
    pub_rows, sources = load_published(published)
    tables = build_tables(results, pub_rows)
    summaries = summary_tables(frame_of(results, results_dir), DEFAULT_JUDGE)
    summary = summary_markdown(summaries, DEFAULT_JUDGE)
    files: dict[str, str | bytes] = dict(render(tables, sources, Path(results_dir).as_posix(), len(results), summary))
    files.update(plot_files(summaries, draw=not check))
    out = Path(out_dir)
    output = LeaderboardOutput(files=files, tables=tables, summaries=summaries, summary=summary)
    on_disk = sorted(p.relative_to(out).as_posix() for sub in ("tables", "plots") if (out / sub).is_dir()
                     for p in (out / sub).rglob("*") if p.is_file())
    if check:
        output.stale = _stale(out, files, on_disk)
        return output
    if write:
        from benchmark.results.io import write_atomic
        from benchmark.safety import inside

        for rel in files:  # names from result files never climb out of --out-dir (checked before any write)
            inside(out, out / rel, "leaderboard file")
        for rel in on_disk:
            if rel not in files:
                (out / rel).unlink()
        for rel, content in files.items():
            write_atomic(out / rel, content if isinstance(content, bytes) else content.encode("utf-8"))
    return output


def _stale(out: Path, files: dict, on_disk: list[str]) -> list[str]:
    """Files on disk that differ from ``files`` (text exactly; each plot's PNG and SVG by the digest they carry),
    are missing, or are left over."""
    from benchmark.reports.plots import digest, image_digest

    stale, expected = set(), set(files)
    for rel, text in files.items():
        if not (out / rel).is_file() or (out / rel).read_text(encoding="utf-8") != text:
            stale.add(rel)
        if rel.startswith("plots/") and rel.endswith(".json"):
            for ext in (".png", ".svg"):
                image = rel[:-5] + ext
                expected.add(image)
                if image_digest(out / image) != digest(text):
                    stale.add(image)
    return sorted(stale | {rel for rel in on_disk if rel not in expected})
