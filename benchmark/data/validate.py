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


def validate_dataset(name: str, data_root=None, data_dir=None) -> dict:
    """``validate_manifest``'s report for a manifest path, or for a registered dataset or plug-in by loading it (its
    loader raises on what a manifest lists as problems, so "problems" is empty when it loads).

    Raises:
        DataError: the data is missing or malformed (the loader's message); BenchError: an unknown name.
    """
    from benchmark.data.datasets import load_dataset
    from benchmark.data.identity import label_sources
    from benchmark.data.manifest_io import looks_like_manifest

    if looks_like_manifest(name) and not data_root and not data_dir:
        return validate_manifest(name)
    manifest = load_dataset(name, data_root=data_root, data_dir_override=data_dir, progress=False)
    summary = manifest.summary()
    counts = {s: {**summary[s], **label_sources(manifest, s)} for s in SPLITS}
    for c in counts.values():
        c.setdefault("gender", {})
        c.setdefault("age", {})
    from benchmark.data.identity import REGISTERED_RULES

    return {"manifest": manifest.root, "name": manifest.dataset_id,
            "split_rule": manifest.split_rule or REGISTERED_RULES.get(manifest.dataset_id, ""), "problems": [],
            "counts": counts, "excluded": manifest.excluded}
