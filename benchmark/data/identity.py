"""The data's identity: which data a result was measured on, so that rows of different data never share a table.

A result records ``dataset.identity`` (``dataset_identity``): the dataset name, the manifest's fingerprint
(``Manifest.sha256``, taken before any generator-specific exclusion), whether it is a registered dataset or a manifest
file, the split rule, the identity counts per split and the sources of its labels. ``data_key`` turns a result into the
key a leaderboard groups by: two results share a table (and a rank) only when their keys are equal. ``data_heading``
says in words which data a table is. ``published_key`` places a number reported in a paper beside the data it was
measured on, and nowhere else.

Results written before ``dataset.identity`` existed (the stored ones until they are regenerated) are keyed from what
they have: the dataset id, whether the copy was partial (then its manifest sha256), and the evaluated split.
"""

from __future__ import annotations

from benchmark.data.manifest import SPLITS, Manifest

REGISTERED_RULES = {
    "vox1-vggface": "Wen et al. 2019 (NeurIPS, §4, Table 1): VGGFace1 name initial A-B validation, C-E test, other train",
    "vox1-mini": "Wen et al. 2019 (NeurIPS, §4, Table 1): VGGFace1 name initial A-B validation, C-E test, other train",
    "vox1-s2f": "Wen et al. 2019 (NeurIPS, §4, Table 1): VGGFace1 name initial A-B validation, C-E test, other train",
    "toy": "the toy world's own split (benchmark.data.toy)",
}
"""The split rule of each registered dataset (``benchmark.data.datasets``)."""

PUBLISHED_DATA = {
    "VoxCeleb1 + VGGFace test identities (names A-E)": ("vox1-vggface", "test"),
    "VoxCeleb1 + VGGFace training identities (names F-Z)": ("vox1-vggface", "train"),
    "AVSpeech test": ("avspeech", "test"),
}
"""The data of ``leaderboards/published.json`` rows, by their ``data`` text: (registered dataset, split). A row may
instead name ``"dataset"`` and ``"split"`` itself. "avspeech" is no registered dataset: its rows are shown beside no
measured data."""


def label_sources(manifest: Manifest, split: str = "all") -> dict:
    """``{"gender": {source: n identities}, "age": {...}}`` over the identities of ``split``; an unlabelled identity
    counts under "unlabelled" (sources: ``benchmark.data.manifest_io``, "Labels and their source")."""
    out: dict[str, dict[str, int]] = {"gender": {}, "age": {}}
    for ident in manifest.split(split):
        for label in out:
            value, source = getattr(ident, label), getattr(ident, f"{label}_source")
            key = (source or "?") if value else "unlabelled"
            out[label][key] = out[label].get(key, 0) + 1
    return {k: v for k, v in out.items() if v}


def dataset_identity(manifest: Manifest, partial: dict | None = None) -> dict:
    """The data's identity as a result records it (``dataset.identity``; module docstring).

    Args:
        manifest: the dataset as loaded, before any generator-specific exclusion (the oracle's).
        partial: ``benchmark.data.datasets.completeness``'s verdict (None: full or no expected counts).

    Returns:
        ``{"name", "fingerprint": manifest sha256, "origin": "registered" | "manifest", "partial": bool,
        "split_rule", "counts": {split: identities}, "labels": label_sources(manifest)}``.
    """
    return {
        "name": manifest.dataset_id,
        "fingerprint": manifest.sha256(),
        "origin": "manifest" if manifest.origin == "manifest" else "registered",
        "partial": bool(partial),
        "split_rule": manifest.split_rule or REGISTERED_RULES.get(manifest.dataset_id, ""),
        "counts": {s: len(manifest.split(s)) for s in SPLITS},
        "labels": label_sources(manifest),
    }


def data_key(result: dict) -> tuple[str, str, str]:
    """The key a leaderboard groups results by: ``(dataset name, data, evaluated split)``.

    ``data`` is "registered" for a full registered dataset (its content is fixed by its loader and pinned by
    ``bench check``), else the manifest fingerprint — a partial copy, or a manifest file, is its own data. The
    comparisons engineer's leaderboard must put two results in one table (and one ranking) only when their keys are
    equal, and show ``data_heading`` in the table heading.

    Args:
        result: a result JSON object (``benchmark.results.io``), new or stored before ``dataset.identity`` existed.
    """
    data = result["dataset"]
    split = result.get("evaluated_split") or result.get("protocol", {}).get("spec", {}).get("probe_split", "test")
    ident = data.get("identity")
    if ident:
        full = ident["origin"] == "registered" and not ident["partial"]
        return ident["name"], "registered" if full else ident["fingerprint"], split
    return data["id"], data["manifest_sha256"] if data.get("partial") else "registered", split


def model_labelled(result: dict, label: str = "gender") -> list[str]:
    """The model sources (``model:<name>@<sha>``) of ``label`` among the result's data, [] when all are human."""
    labels = (result["dataset"].get("identity") or {}).get("labels", {}).get(label, {})
    return sorted(s for s in labels if s.startswith("model:"))


def data_heading(result: dict) -> str:
    """The words a table heading shows for the data of ``result``: name, split, and — where they apply — "partial copy",
    the fingerprint of a manifest, and "gender/age: model labels (<model>)" when a label is model-made."""
    name, data, split = data_key(result)
    parts = [name, f"split {split}"]
    ident = result["dataset"].get("identity") or {}
    if data != "registered":
        parts.append(("partial copy " if result["dataset"].get("partial") else "manifest ") + data[:12])
    for label in ("gender", "age"):
        models = model_labelled(result, label)
        if models:
            parts.append(f"{label}: model labels ({', '.join(m.split('@')[0][6:] for m in models)})")
    if ident.get("split_rule") and data != "registered":
        parts.append(f"split rule: {ident['split_rule']}")
    return " · ".join(parts)


def published_key(row: dict) -> tuple[str, str, str] | None:
    """The data key (as ``data_key``) of a ``leaderboards/published.json`` row, or None when its data is unknown: the
    row's own ``dataset``/``split`` fields, else ``PUBLISHED_DATA`` by its ``data`` text. A reported row is shown only
    in the table whose key equals this."""
    if row.get("dataset"):
        return row["dataset"], "registered", row.get("split", "test")
    found = PUBLISHED_DATA.get(row.get("data", ""))
    return (found[0], "registered", found[1]) if found else None


def result_folder(identity: dict) -> str:
    """The dataset folder of a result path (``benchmark.engine.run.default_result_path``): the name for a full
    registered dataset, ``<name>-<fingerprint[:8]>`` for a manifest or a partial copy — so a run on another copy never
    overwrites the first."""
    if identity["origin"] == "registered" and not identity["partial"]:
        return identity["name"]
    return f"{identity['name']}-{identity['fingerprint'][:8]}"


def dataset_folder_hint(dataset: str) -> str:
    """The folder name a ``--dataset`` value gives before the data is loaded (a manifest's ``name``; a registered
    name itself), for checks made before any work; ``result_folder`` is the exact one."""
    from benchmark.data.manifest_io import looks_like_manifest, read_header

    return read_header(dataset)[1]["name"] if looks_like_manifest(dataset) else dataset
