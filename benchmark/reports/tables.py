"""Leaderboard tables as data: the rows and tables built from the stored result JSON and the published numbers
(``build_tables``); ranking in bands is ``benchmark.reports.bands``, rendering ``benchmark.reports.leaderboard``."""

from __future__ import annotations

import json
import os
from pathlib import Path

from benchmark.errors import BenchError
from benchmark.reports.bands import rank_in_bands
from benchmark.reports.rows import (HOME_DATASET, LOWER_IS_BETTER, MEASURED, PERCENT_METRICS,  # noqa: F401 (re-exported)
                                    PERCENT_PREFIXES, POPULATION_SLUGS, PUBLISHED_FILE, README_MARK, REPORTED, TWO_FACE,
                                    Row, Table, _registered_version, _safe, data_folder, is_percent)
from benchmark.results.frame import population_of, source_label  # noqa: F401 (re-exported)
from benchmark.results.io import read_result


def load_published(path: str | os.PathLike[str] | None = None) -> tuple[list[dict], dict]:
    """Read the published numbers: ``(rows, sources)``; each row's values converted to fractions where the unit is %.

    Raises:
        BenchError: the file cannot be read or a row lacks a field or names an unknown source.
    """
    from benchmark.data.identity import published_key

    path = Path(path) if path else PUBLISHED_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BenchError(f"cannot read published numbers {path}: {exc}") from exc
    sources = data.get("sources", {})
    rows = []
    for i, row in enumerate(data.get("rows", [])):
        missing = {"generator", "protocol", "metrics", "unit", "source", "where", "data"} - set(row)
        if missing or row["source"] not in sources:
            raise BenchError(f"{path}: row {i} lacks {sorted(missing)} or names an unknown source {row.get('source')!r}.")
        if published_key(row) is None:
            raise BenchError(f"{path}: row {i} ({row['generator']}) was measured on data this suite does not know "
                             f"({row['data']!r}): give the row \"dataset\" and \"split\" fields, or add its data text "
                             "to benchmark.data.identity.PUBLISHED_DATA, so that it is shown only beside that data.")
        scale = 0.01 if row["unit"] == "%" else 1.0
        rows.append({**row, "values": {m: v * scale for m, v in row["metrics"].items()}})
    return rows, sources


def collect(results_dir: str | os.PathLike[str]) -> list[tuple[str, dict]]:
    """Every result file under ``results_dir`` as ``(path relative to it, result)``, sorted by path.

    Raises:
        BenchError: a file is not a readable result (the message names it).
    """
    root = Path(results_dir)
    if not root.is_dir():
        return []
    files = sorted(p for p in root.rglob("*.json") if not any(part.startswith(".") for part in p.parts))
    return [(p.relative_to(root).as_posix(), read_result(p)) for p in files]


def _measured_row(rel: str, result: dict) -> Row:
    gen, judge = result["generator"], result["judge"]
    first = next(iter(result["scores"].values()), {})
    notes = []
    sub = result.get("info", {}).get("submission") or {}
    if sub.get("failed_count"):
        notes.append(f"incomplete: {sub['failed_count']} of {sub['failed_count'] + sub['images_used']} faces "
                     "missing or unreadable, their trials counted wrong")
    flagged = [m for m, s in result["scores"].items() if s.get("flag")]  # benchmark.metrics.aggregate.interval_flag
    if flagged:
        notes.append(f"CI not to be trusted for {', '.join(flagged)} (reason: \"flag\" in the result file)")
    scores = result["scores"]
    return Row(
        replicates={m: sc["replicates"] for m, sc in scores.items() if isinstance(sc.get("replicates"), dict)},
        flags={m: sc["flag"] for m, sc in scores.items() if sc.get("flag")},
        not_applicable={m: sc["not_applicable"] for m, sc in scores.items() if sc.get("not_applicable")},
        generator=gen["name"], kind=MEASURED,
        scores={m: (s["value"], s["ci95"][0], s["ci95"][1]) for m, s in result["scores"].items()},
        n_trials=first.get("n"), n_identities=first.get("n_identities"), judge=judge.get("id", ""),
        judge_sha256=judge.get("weights_sha256", ""), trained_against_judge=bool(gen.get("trained_against_judge")),
        reference=gen.get("reference", ""), seed=result.get("seed"), date=result.get("created", "")[:10],
        source=source_label(gen), notes="; ".join(notes), trials_sha256=result["trials"]["sha256"],
        result_file=rel,
        identity_weighted={m: (s["value_identity_weighted"], *s["ci95_identity_weighted"]) for m, s in scores.items()
                           if "value_identity_weighted" in s},
        tiers={name.split("=", 1)[1]: {m: (s["value"], s["ci95"][0], s["ci95"][1], s.get("n"), s.get("n_identities"))
                                       for m, s in block.items()}
               for name, block in (result.get("strata") or {}).items() if name.startswith("true_face=")},
    )


def dataset_label(result: dict) -> str:
    """The folder a result's tables are under: the dataset for a full registered one, ``<dataset>-<fingerprint[:8]>``
    for a partial copy or a manifest (``benchmark.reports.rows.data_folder`` of ``benchmark.data.identity.data_key``),
    so that other data gets its own tables and is never ranked beside the full runs or in the papers' table."""
    from benchmark.data.identity import data_key

    name, data, _ = data_key(result)
    return data_folder(name, data)


def build_tables(results: list[tuple[str, dict]], published: list[dict] | None = None) -> list[Table]:
    """Group results into tables (module docstring), add reported rows, rank, order tables.

    A table holds the results of one data (``benchmark.data.identity.data_key``: dataset, "registered" or the
    manifest fingerprint of a partial copy or manifest, evaluated split), protocol and version, judge and population
    (issue 19 §4: rows of other data never share a table or a rank); ``Table.heading`` says which data it is. A
    reported row (``leaderboards/published.json``) is added only to the tables of the data it was measured on
    (``benchmark.data.identity.published_key``), in a table of reported rows only where that data has no measured
    result.

    Tables are ordered: ``vox1-vggface``, other real datasets (by name), synthetic ones last; within a dataset, by
    data, then protocols in registry order (``protocols.PROTOCOLS``), then others by name.
    """
    from benchmark.data.identity import data_heading, data_key, published_key
    from benchmark.judges import DEFAULT_JUDGE, judge_name_of
    from protocols import PROTOCOLS, get_protocol

    tables: dict[tuple, Table] = {}
    chosen: dict[tuple, tuple[str, dict]] = {}
    extra_runs: dict[tuple, int] = {}
    for rel, result in results:
        spec = result["protocol"].get("spec", {})
        judge = result.get("judge", {})
        name, data, split = data_key(result)
        key = (name, result["protocol"]["name"], result["protocol"]["version"], split, judge_name_of(judge),
               judge.get("id", ""), population_of(result), data)
        gkey = key + (result["generator"]["name"],)
        if gkey in chosen:
            extra_runs[gkey] = extra_runs.get(gkey, 0) + 1
            old = chosen[gkey][1]
            if (result["seed"], _neg(result.get("created", ""))) >= (old["seed"], _neg(old.get("created", ""))):
                continue
        chosen[gkey] = (rel, result)
    for gkey, (rel, result) in sorted(chosen.items(), key=lambda kv: kv[1][0]):
        key = gkey[:8]
        table = tables.get(key)
        if table is None:
            spec = result["protocol"].get("spec", {})
            registered = get_protocol(key[1]) if key[1] in PROTOCOLS else None
            table = tables[key] = Table(dataset=key[0], protocol=key[1], version=key[2], split=key[3],
                                        own_split=registered.probe_split if registered else key[3],
                                        judge=key[4], judge_id=key[5], population=key[6],
                                        rank_by=spec.get("rank_by", ""),
                                        synthetic=bool(result["dataset"].get("synthetic")),
                                        description=spec.get("description", ""), protocol_source=spec.get("source", ""),
                                        data=key[7], heading=data_heading(result))
        row = _measured_row(rel, result)
        if extra_runs.get(gkey):
            row.notes = "; ".join(filter(None, [row.notes, f"{extra_runs[gkey]} other run(s) not shown"]))
        table.rows.append(row)
        table.lower_is_better |= set(result.get("info", {}).get("lower_is_better", []))
        for metric in result["scores"]:
            if metric not in table.metrics:
                table.metrics.append(metric)

    for pub in published or []:
        where = published_key(pub)  # load_published refuses a row whose data is unknown
        targets = [t for t in tables.values() if t.protocol == pub["protocol"] and not t.population
                   and (t.dataset, t.data, t.split) == where]
        if not targets:
            version = _registered_version(pub["protocol"])
            spec = get_protocol(pub["protocol"]) if pub["protocol"] in PROTOCOLS else None
            key = (where[0], pub["protocol"], version, where[2], "", "", "", where[1])
            home = tables.get(key)
            if home is None:
                home = tables[key] = Table(dataset=where[0], protocol=pub["protocol"], version=version,
                                           split=where[2], own_split=spec.probe_split if spec else where[2],
                                           rank_by=spec.rank_by if spec else "",
                                           description=spec.description if spec else "",
                                           protocol_source=spec.source if spec else "", data=where[1],
                                           heading=f"{where[0]} · split {where[2]}")
            targets.append(home)
        for table in targets:
            table.rows.append(Row(generator=pub["generator"], kind=REPORTED,
                                  scores={m: (v, None, None) for m, v in pub["values"].items()},
                                  source=f"[{pub['source']}] {pub['where']}",
                                  notes=f"{pub.get('what', '')}; data: {pub['data']}".strip("; ")))
            for metric in pub["values"]:
                if metric not in table.metrics:
                    table.metrics.append(metric)

    for table in tables.values():
        _rank(table)
    order = {name: i for i, name in enumerate(PROTOCOLS)}

    def table_key(t: Table):
        group = 0 if t.dataset == HOME_DATASET else 2 if t.synthetic else 1
        return (group, t.dataset, t.data != "registered", t.data, order.get(t.protocol, len(order)), t.protocol,
                t.version or 0, t.split,
                t.judge not in ("", DEFAULT_JUDGE), t.judge, t.judge_id, t.population)

    return sorted(tables.values(), key=table_key)


def _neg(created: str) -> tuple:
    """Sort key that puts the latest ``created`` first."""
    return tuple(-ord(c) for c in created)


def _rank(table: Table) -> None:
    """Rank the table's rows in bands (``benchmark.reports.bands.rank_in_bands``)."""
    rank_in_bands(table)
