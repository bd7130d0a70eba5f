"""Issue 19, item 3: the age protocol's truth from the manifest (ages with their source), and the model-label rule —
a truth that is the attribute model's own label says so, and its real-face agreement is not shown as a ceiling.

Known answers on a manifest of the toy world whose ages ``bench label`` wrote: the oracle's band accuracy is the same
under the model's labels and under the same values marked human (the truth's values are equal); only the human-marked
truth shows the ceiling, and that ceiling equals a naive loop over the predictor's bands on the real gallery faces."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.data.datasets import MANIFEST_AGE_REFERENCE, dataset_spec
from benchmark.data.manifest_io import read_manifest
from benchmark.tasks.age_labels import label_band
from protocols import get_protocol


def _set_ages(manifest: Path, ages: dict[str, tuple[str, str]] | None = None, source: str | None = None) -> None:
    """Rewrite identities.csv: ``ages`` {id: (age, source)} for those ids, or every labelled row's source."""
    path = manifest / "identities.csv"
    rows = list(csv.DictReader(open(path, encoding="utf-8")))
    for r in rows:
        if ages is not None:
            r["age"], r["age_source"] = ages.get(r["id"], ("", ""))
        elif r["age"]:
            r["age_source"] = source
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_label_band_reads_years_and_bands():
    assert [label_band(a, (35.0, 65.0)) for a in ("34", "35", "65", "66", "66.5", "40-60", ">=70")] == [0, 1, 1, 2, 2,
                                                                                                       1, 2]
    assert label_band("20-39", (35.0, 65.0)) is None and label_band(">=60", (35.0, 65.0)) is None  # across an edge
    assert [label_band(a, (40.0, 59.0)) for a in ("20-39", "40-59", ">=60")] == [0, 1, 2]
    assert label_band("", (35.0, 65.0)) is None


def test_spec_takes_the_manifest_truth_only_where_it_has_ages(tmp_path):
    from benchmark.data.datasets import dataset_root, load_dataset

    age = get_protocol("age")
    assert dataset_spec(age, load_dataset("toy")) == age  # registered: unchanged (stored numbers stay)
    m = tmp_path / "m"
    assert main(["dataset", "convert", "vox1", str(dataset_root("toy")), "--out", str(m), "--name", "toy-ages"]) == 0
    assert dataset_spec(age, read_manifest(m)) == age  # a manifest without ages: unchanged too
    ids = [i.id for i in read_manifest(m).identities]
    _set_ages(m, {i: ("20-39" if n % 2 else ">=60", "human") for n, i in enumerate(ids)})
    spec = dataset_spec(age, read_manifest(m))
    assert spec.age_reference == MANIFEST_AGE_REFERENCE and spec.age_bands == (40.0, 59.0)  # Speech2Face's bands
    _set_ages(m, {i: (str(30 + n), "human") for n, i in enumerate(ids)})
    spec = dataset_spec(age, read_manifest(m))
    assert spec.age_reference == MANIFEST_AGE_REFERENCE and spec.age_bands == age.age_bands


@pytest.fixture(scope="module")
def labelled_toy(tmp_path_factory):
    """The toy world as a manifest, its ages written by ``bench label`` (the attribute model's own labels)."""
    from benchmark.data.datasets import dataset_root

    m = tmp_path_factory.mktemp("age-truth") / "m"
    assert main(["dataset", "convert", "vox1", str(dataset_root("toy")), "--out", str(m), "--name", "toy-ages"]) == 0
    assert main(["label", str(m), "--fields", "age"]) == 0
    return m


def _oracle_age(manifest: Path, out: Path) -> dict:
    assert main(["run", "--model", "oracle", "--protocol", "age", "--dataset", str(manifest), "--out", str(out),
                 "--quiet"]) == 0
    return json.loads(out.read_text())


def test_oracle_age_under_model_and_human_truth(labelled_toy, tmp_path):
    from benchmark.data.identity import data_heading
    from benchmark.judges.labels import model_source

    own = model_source()
    model = _oracle_age(labelled_toy, tmp_path / "model.json")
    assert model["protocol"]["spec"]["age_reference"] == MANIFEST_AGE_REFERENCE
    assert model["info"]["truth"] == {"age_sources": [own], "model_labels": True}
    assert "real_face_band_accuracy" not in model["scores"] and model["info"]["ceiling"].startswith("none")
    assert "age: model labels" in data_heading(model)
    assert set(model["scores"]) == {"band_accuracy", "abs_age_gap", "majority_band_accuracy"}

    human_copy = tmp_path / "human"
    human_copy.mkdir()
    for f in labelled_toy.iterdir():
        (human_copy / f.name).write_bytes(f.read_bytes())
    head = json.loads((human_copy / "manifest.json").read_text())
    head["root"] = str(Path(head.get("root", ".")) if Path(head.get("root", ".")).is_absolute()
                       else (labelled_toy / head.get("root", ".")).resolve())
    (human_copy / "manifest.json").write_text(json.dumps(head))
    _set_ages(human_copy, source="human")
    human = _oracle_age(human_copy, tmp_path / "human.json")
    assert human["info"]["truth"] == {"age_sources": ["human"], "model_labels": False}
    assert "age: model labels" not in data_heading(human)
    # the same truth values: the same trials but for the sources line, so the same oracle numbers
    assert human["trials"]["count"] == model["trials"]["count"]
    assert human["trials"]["sha256"] != model["trials"]["sha256"]  # whose truth it is, is part of the trials
    for metric in ("band_accuracy", "abs_age_gap", "majority_band_accuracy"):
        assert human["scores"][metric]["value"] == model["scores"][metric]["value"], metric
    # the ceiling, shown only under human truth, is the predictor's band on each real gallery face vs the label
    ceiling = human["scores"]["real_face_band_accuracy"]
    assert _naive_ceiling(human_copy, human) == pytest.approx(ceiling["value"], abs=1e-12)


def _naive_ceiling(manifest_path: Path, result: dict) -> float:
    import torch

    from benchmark.judges.attributes import COLUMNS, predict_faces
    from benchmark.metrics.pairwise import age_band

    manifest = read_manifest(manifest_path)
    edges = tuple(result["protocol"]["spec"]["age_bands"])
    tests = [i for i in manifest.split(result["evaluated_split"])]
    faces = [f for i in tests for f in manifest.faces_of(i.id, result["protocol"]["spec"]["gallery_source"])]
    ids, preds, _ = predict_faces(faces)
    owner = {f.id: f.identity for f in faces}
    hits = []
    for face_id, pred in zip(ids, preds):
        ident = manifest.identity(owner[face_id])
        truth = label_band(ident.age, edges)
        band = int(age_band(torch.tensor([float(pred[COLUMNS.index("age_years")])], dtype=torch.float64), edges)[0])
        hits.append(float(band == truth))
    assert len(hits) == result["scores"]["real_face_band_accuracy"]["n"]
    return sum(hits) / len(hits)


def test_band_across_an_edge_is_excluded_with_its_reason(labelled_toy, tmp_path):
    copy = tmp_path / "bands"
    copy.mkdir()
    for f in labelled_toy.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    head = json.loads((copy / "manifest.json").read_text())
    head["root"] = str((labelled_toy / head.get("root", ".")).resolve())
    (copy / "manifest.json").write_text(json.dumps(head))
    test_ids = [i.id for i in read_manifest(copy).split("test")]
    _set_ages(copy, {i: ("20-39" if n == 0 else "40-60", "human") for n, i in enumerate(test_ids)})
    result = _oracle_age(copy, tmp_path / "r.json")
    excluded = {e["identity"]: e["reason"] for e in result["trials"]["excluded_identities"]}
    assert "straddles" in excluded[test_ids[0]] and test_ids[1] not in excluded
    assert result["scores"]["band_accuracy"]["n_identities"] == len(test_ids) - 1
    assert "abs_age_gap" not in result["scores"]  # bands have no years to take a gap from
