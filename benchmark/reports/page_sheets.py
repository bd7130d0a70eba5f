"""Contact sheets for the web page (``bench leaderboard --html DIR --sheets``; ``benchmark.reports.page``).

A contact sheet (``benchmark.reports.sheet.contact_sheet``, as ``bench sheet`` draws it) shows, for K speakers,
the faces a generator drew from their voices beside the speakers' true faces. It cannot be drawn from a result
file alone: it needs the data and the generator. So the page makes one per generator and data only when asked
(``make_sheets``), re-running each summary row's generator the way its result records it — its ``generator.spec``
and ``args``, seed, split and judge — on the summary's dataset, where:

* the result's spec is a registered generator or an installed entry point (``benchmark.safety.trusted_model_spec``:
  a spec read from a result file is never imported on its own), or a ``bench score`` submission folder
  (``benchmark.generators.folder``) that is present on this machine;
* the dataset is registered and present (a summary of a manifest file or partial copy is its own data, and is
  skipped).

Anything else is skipped with the reason (returned, printed by the CLI; the page names generators without a sheet).
Without ``--sheets`` the page reuses what an earlier ``--sheets`` left in ``DIR/sheets/``, else the sheet ``bench sheet
--model <generator> --results-dir <results folder>`` wrote there by default (``find_sheets``, ``bench_sheet_file``).
Files: ``sheets/<summary slug>/<sheet_name(generator)>``, names from ``sheet_name`` only.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from benchmark.errors import BenchError
from benchmark.reports.summary import SummaryTable

SHEET_PROTOCOLS = ("stratified", "unstratified", "match-1ofN", "retrieval")
"""The protocol whose probes and per-speaker score a sheet shows: the first of these a summary has (1:2 matching
gives each speaker's share of trials won, ``benchmark.reports.sheet``), else the summary's first column."""


def sheet_name(generator: str) -> str:
    """A generator's sheet file name: its name made file-safe (letters, digits, ``- _ .``; at most 60 characters)
    plus the first 8 hex digits of the sha256 of the name itself, so two names never share a file."""
    from benchmark.reports.rows import _safe

    digest = hashlib.sha256(generator.encode("utf-8")).hexdigest()[:8]
    return f"{_safe(generator)[:60].lstrip('.') or 'generator'}-{digest}.png"


def sheet_path(table: SummaryTable, generator: str) -> str:
    """``sheets/<summary slug>/<sheet_name>``, relative to the page."""
    return f"sheets/{table.slug}/{sheet_name(generator)}"


def _pairs(tables: list[SummaryTable]):
    """(table, row) of each generator of each data, once (the first judge's summary of that data)."""
    seen = set()
    for table in tables:
        for row in table.rows + table.references:
            if (table.slug, row.generator) not in seen:
                seen.add((table.slug, row.generator))
                yield table, row


def bench_sheet_file(table: SummaryTable, generator: str, results_dir: str | os.PathLike[str]) -> Path | None:
    """Where ``bench sheet --model <generator> --results-dir <results_dir>`` leaves its sheet by default
    (``<results dir>/<dataset>/sheets/<model>-<protocol>-seed<seed>.png``) for a summary row: its data must be the
    registered dataset and its split the sheet protocol's own (that path names no split), the generator a plain
    file-safe name; None otherwise."""
    from benchmark.reports.rows import _safe
    from protocols import PROTOCOLS, get_protocol

    protocol = sheet_protocol(table)
    row = next((r for r in table.rows + table.references if r.generator == generator), None)
    cell = row.cells.get(protocol) if row else None
    if (cell is None or table.data != "registered" or protocol not in PROTOCOLS or _safe(generator) != generator
            or generator.startswith(".") or get_protocol(protocol).probe_split != table.split
            or _safe(table.dataset) != table.dataset):
        return None
    return Path(results_dir) / table.dataset / "sheets" / f"{generator}-{protocol}-seed{cell.seed or 0}.png"


def find_sheets(tables: list[SummaryTable], html_dir: str | os.PathLike[str],
                results_dir: str | os.PathLike[str] | None = None) -> dict[tuple[str, str], tuple[str, bytes]]:
    """The sheets already made for the summaries' generators: ``{(slug, generator): (path, png bytes)}``, from
    ``html_dir/sheets/`` (an earlier ``--sheets``), else where ``bench sheet`` writes them under ``results_dir``
    (``bench_sheet_file``)."""
    found = {}
    for table, row in _pairs(tables):
        rel = sheet_path(table, row.generator)
        made = Path(html_dir) / rel
        if not made.is_file() and results_dir is not None:
            made = bench_sheet_file(table, row.generator, results_dir) or made
        if made.is_file():
            found[(table.slug, row.generator)] = (rel, made.read_bytes())
    return found


def sheet_protocol(table: SummaryTable) -> str:
    """The protocol a summary's sheets show (``SHEET_PROTOCOLS``)."""
    have = [c.protocol for c in table.columns]
    return next((p for p in SHEET_PROTOCOLS if p in have), have[0])


def _model(result: dict, dataset: str, data_root, data_dir, allow_spec) -> tuple[str, dict]:
    """The model spec and arguments that re-make a result's generator, or ``BenchError`` saying why not."""
    from benchmark.generators.folder import FOLDER_SPEC
    from benchmark.generators.registry import MODEL_ALIASES
    from benchmark.safety import trusted_model_spec

    gen = result["generator"]
    spec, args = gen.get("spec"), dict(gen.get("args") or {})
    if not spec:
        raise BenchError("the result records no model spec (generator.spec)")
    if spec == FOLDER_SPEC:
        from benchmark.data.datasets import dataset_root
        from benchmark.generators.folder_names import resolve_faces_dir

        folder = resolve_faces_dir(args.get("faces_dir", ""), dataset_root(dataset, data_root, data_dir))
        if not folder.is_dir():
            raise BenchError(f"its submission folder {folder} is not on this machine")
        args["faces_dir"] = str(folder)
        return MODEL_ALIASES.get(spec, spec), args
    return trusted_model_spec(spec, allow_spec), args


def make_sheets(tables: list[SummaryTable], results_dir: str | os.PathLike[str], *, data_root=None, data_dir=None,
                device: str = "cpu", k: int = 4, voices: int = 2, real: int = 2, tile: int = 96,
                use_cache: bool = True, progress: bool = False, allow_spec=(), log=print,
                skipped: dict | None = None) -> dict[tuple[str, str], tuple[str, bytes]]:
    """Draw a contact sheet for every generator of every summary that can be re-run here (module docstring).

    Args:
        tables: the summaries (``benchmark.reports.page.all_summaries``); each data's generators are drawn once,
            with the judge of the first summary of that data (the default judge comes first).
        results_dir: the results folder the summaries' ``result_path`` are relative to.
        data_root, data_dir, device, use_cache, progress: as ``bench sheet``.
        k, voices, real, tile: speakers (rows), generated and real faces per row, tile side in px
            (``benchmark.reports.sheet.contact_sheet``).
        allow_spec: model specs the user trusts (``bench check --allow-spec``).
        log: called with one line per sheet made or skipped.
        skipped: filled with ``{(slug, generator): reason}`` for each generator without a sheet.

    Returns:
        ``{(slug, generator): (path relative to the page, png bytes)}``.
    """
    from benchmark.reports.sheet import contact_sheet
    from benchmark.results.io import read_result

    made = {}
    skipped = {} if skipped is None else skipped
    for table, row in _pairs(tables):
        key, protocol = (table.slug, row.generator), sheet_protocol(table)
        cell = row.cells.get(protocol) or next(iter(row.cells.values()))
        try:
            if table.data != "registered":
                raise BenchError("its data is a manifest file or partial copy, not a registered dataset")
            result = read_result(Path(results_dir) / cell.result_path)
            if protocol not in row.cells:
                protocol = result["protocol"]["name"]
            spec, args = _model(result, table.dataset, data_root, data_dir, allow_spec)
            with tempfile.TemporaryDirectory() as tmp:
                info = contact_sheet(spec, table.dataset, Path(tmp) / "sheet.png", protocol=protocol, k=k,
                                     voices=voices, real=real, seed=result.get("seed") or 0, model_args=args,
                                     data_root=data_root, data_dir=data_dir, device=device, use_cache=use_cache,
                                     progress=progress, tile=tile, split=result.get("evaluated_split"),
                                     judge=table.judge)
                made[key] = (sheet_path(table, row.generator), Path(info["path"]).read_bytes())
            log(f"contact sheet of {row.generator} on {table.heading}: {made[key][0]}")
        except (BenchError, OSError, KeyError, ValueError) as exc:
            skipped[key] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            log(f"no contact sheet of {row.generator} on {table.heading}: {skipped[key]}")
    return made
