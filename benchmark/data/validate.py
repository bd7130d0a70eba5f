"""``bench dataset validate``: every problem of a manifest, and its counts per split, before any work."""

from __future__ import annotations

import os

from benchmark.data.manifest import SPLITS


def validate_manifest(path: str | os.PathLike[str]) -> dict:
    """Check a manifest folder without raising for its problems (``benchmark.data.manifest_io.check_tables``).

    Args:
        path: ``manifest.json`` or the folder holding it.

    Returns:
        ``{"manifest": file, "name", "split_rule", "problems": [lines], "counts": {split: {"identities",
        "utterances", "faces", "gender": {label source: n}, "age": {label source: n}}}, "excluded": [{"identity",
        "reason"}]}`` — counts over identities with a voice and a face; the others are in "excluded".

    Raises:
        DataError: the header or a table cannot be read at all (``benchmark.data.manifest_io.read_header``).
    """
    from benchmark.data.manifest_io import check_tables, read_header

    file, head = read_header(path)
    rows, problems, _ = check_tables(head, file)
    voiced = {r["identity"] for r in rows["utterances"]}
    pictured = {r["identity"] for r in rows["faces"]}
    counts = {s: {"identities": 0, "utterances": 0, "faces": 0, "gender": {}, "age": {}} for s in SPLITS}
    split_of, excluded = {}, []
    for r in rows["identities"]:
        if r["id"] not in voiced or r["id"] not in pictured:
            excluded.append({"identity": r["id"], "reason": "no voice" if r["id"] not in voiced else "no face"})
            continue
        if r["split"] not in counts:
            continue
        split_of[r["id"]] = r["split"]
        c = counts[r["split"]]
        c["identities"] += 1
        for label in ("gender", "age"):
            key = (r[f"{label}_source"] or "?") if r[label] else "unlabelled"
            c[label][key] = c[label].get(key, 0) + 1
    for table in ("utterances", "faces"):
        for r in rows[table]:
            if r["identity"] in split_of:
                counts[split_of[r["identity"]]][table] += 1
    return {"manifest": str(file), "name": head["name"], "split_rule": head.get("split_rule", ""),
            "problems": problems, "counts": counts, "excluded": excluded}


def format_report(report: dict) -> str:
    """The text ``bench dataset validate`` prints for ``validate_manifest``'s report."""
    lines = [f"dataset {report['name']} ({report['manifest']})", f"split rule: {report['split_rule'] or '-'}"]
    for split, c in report["counts"].items():
        labels = "; ".join(f"{k}: " + ", ".join(f"{s} {n}" for s, n in sorted(v.items())) for k, v in
                           (("gender", c["gender"]), ("age", c["age"])) if v)
        lines.append(f"  {split:<10} {c['identities']:>6} identities {c['utterances']:>7} utterances "
                     f"{c['faces']:>7} faces" + (f"  ({labels})" if labels else ""))
    if report["excluded"]:
        lines.append(f"  left out: {len(report['excluded'])} identities without a voice or a face "
                     f"(e.g. {report['excluded'][0]['identity']}: {report['excluded'][0]['reason']})")
    if report["problems"]:
        lines.append(f"{len(report['problems'])} problem(s):")
        lines += [f"  {p}" for p in report["problems"]]
    else:
        lines.append("no problems found")
    return "\n".join(lines)
