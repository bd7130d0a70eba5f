"""The typed result schema (benchmark.results.schema.Result, benchmark.results.io): every stored result reads back
and writes the same bytes, unknown keys survive, and a malformed file gets one error naming the file and field."""

import json
from pathlib import Path

import pytest

from benchmark.errors import BenchError
from benchmark.results.io import load_result, read_result, result_bytes, save_result, write_result
from benchmark.results.schema import ABSENT, Result, ResultSchemaError, Summary

STORED = Path(__file__).resolve().parents[1] / "leaderboards" / "results"
STORED_FILES = sorted(p for p in STORED.rglob("*.json") if not any(part.startswith(".") for part in p.parts))
EXAMPLE = next(p for p in (STORED / "vox1-mini" / "validation+test" / "oracle" / "stratified-seed0.json",
                          STORED / "vox1-mini" / "oracle" / "stratified-seed0.json") if p.is_file())


def test_every_stored_result_reads_back_and_writes_the_same_bytes(tmp_path):
    """Read -> write of every committed result file is the identity on bytes (keys, order, floats, escapes)."""
    assert len(STORED_FILES) > 100  # the committed leaderboard, not an empty folder
    for path in STORED_FILES:
        result = load_result(path)
        assert result_bytes(result) == path.read_bytes(), path
    out = write_result(tmp_path / "copy.json", read_result(EXAMPLE))  # the dict path too
    assert out.read_bytes() == EXAMPLE.read_bytes()
    save_result(tmp_path / "typed.json", load_result(EXAMPLE))
    assert (tmp_path / "typed.json").read_bytes() == EXAMPLE.read_bytes()


def test_typed_access_matches_the_json():
    result, data = load_result(EXAMPLE), json.loads(EXAMPLE.read_text())
    assert result.protocol.name == data["protocol"]["name"] == "stratified"
    assert result.trials.sha256 == data["trials"]["sha256"] and result.trials.count == data["trials"]["count"]
    accuracy = result.scores["accuracy"]
    assert isinstance(accuracy, Summary) and accuracy.value == data["scores"]["accuracy"]["value"]
    assert accuracy.ci95 == data["scores"]["accuracy"]["ci95"] and accuracy.n == data["scores"]["accuracy"]["n"]
    assert result.strata["gender=f"]["accuracy"].n == data["strata"]["gender=f"]["accuracy"]["n"]
    assert result.inputs.generated_faces == data["inputs"]["generated_faces"]
    assert result.protocol.dataset_overrides is ABSENT  # not in this file: absent, not null
    assert [(s, m) for s, m, _ in result.all_summaries()] == [("all", "accuracy"), ("gender=f", "accuracy"),
                                                              ("gender=m", "accuracy")]


def test_unknown_keys_from_newer_code_are_kept_in_place(tmp_path):
    data = json.loads(EXAMPLE.read_text())
    edited = {}
    for key, value in data.items():  # a new top-level key in the middle, and new keys inside sections
        edited[key] = value
        if key == "device":
            edited["added_by_newer_code"] = {"x": [1, 2]}
    edited["scores"]["accuracy"]["kid_band"] = "A"
    edited["judge"]["threshold"] = 0.6
    path = tmp_path / "newer.json"
    path.write_text(json.dumps(edited, indent=2) + "\n")
    result = load_result(path)
    assert result.extra == {"added_by_newer_code": {"x": [1, 2]}} and result.judge.extra == {"threshold": 0.6}
    assert result.scores["accuracy"].extra == {"kid_band": "A"}
    assert result_bytes(result) == path.read_bytes()


def _edit(path: Path, change) -> Path:
    data = json.loads(EXAMPLE.read_text())
    data = change(data) or data
    path.write_text(json.dumps(data, indent=2))
    return path


MALFORMED = [
    ("no scores", lambda d: d.pop("scores") and None, "'scores' is missing"),
    ("no trials", lambda d: d.pop("trials") and None, "'trials' is missing"),
    ("no trials sha256", lambda d: d["trials"].pop("sha256") and None, "'trials.sha256' is missing"),
    ("a list, not an object", lambda d: [d], "'(top level)' must be an object, got list"),
    ("scores a list", lambda d: d.update(scores=[d["scores"]]), "'scores' must be an object, got list"),
    ("a string score", lambda d: d["scores"].update(accuracy="0.99"), "'scores.accuracy' must be an object, got str"),
    ("a string value", lambda d: d["scores"]["accuracy"].update(value="high"),
     "'scores.accuracy.value' must be a number, got str 'high'"),
    ("a bool count", lambda d: d["scores"]["accuracy"].update(n=True), "'scores.accuracy.n' must be a whole number"),
    ("one CI end", lambda d: d["scores"]["accuracy"].update(ci95=[0.5]), "'scores.accuracy.ci95' must be two numbers"),
    ("a bad stratum", lambda d: d["strata"]["gender=f"]["accuracy"].pop("value") and None,
     "'strata.gender=f.accuracy.value' is missing"),
    ("protocol version a string", lambda d: d["protocol"].update(version="2"), "'protocol.version' must be a whole"),
    ("generator null", lambda d: d.update(generator=None), "'generator' must be an object, got NoneType"),
    ("timing text", lambda d: d["timing"].update(total_s="slow"), "'timing.total_s' must be a number of seconds"),
]


@pytest.mark.parametrize("what, change, message", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_a_malformed_file_gets_one_error_naming_file_and_field(tmp_path, what, change, message):
    path = _edit(tmp_path / "bad.json", change)
    with pytest.raises(ResultSchemaError) as err:
        load_result(path)
    assert message in str(err.value) and str(path) in str(err.value)
    with pytest.raises(ResultSchemaError, match="bad.json"):  # the dict reader, what check and leaderboard use
        read_result(path)


def test_readers_give_the_named_error_not_a_key_error(tmp_path):
    """``bench check`` and ``bench leaderboard`` load through the schema: the bad file and field are named."""
    from benchmark.reports.check import check
    from benchmark.reports.leaderboard import collect

    folder = tmp_path / "results" / "vox1-mini" / "oracle"
    folder.mkdir(parents=True)
    _edit(folder / "stratified-seed0.json", lambda d: d.pop("scores") and None)
    for read in (lambda: check(tmp_path / "results", log=lambda line: None), lambda: collect(tmp_path / "results")):
        with pytest.raises(BenchError, match=r"stratified-seed0\.json: field 'scores' is missing"):
            read()


def test_unknown_schema_version_and_unreadable_json(tmp_path):
    with pytest.raises(BenchError, match="schema_version 99"):
        load_result(_edit(tmp_path / "v99.json", lambda d: d.update(schema_version=99)))
    (tmp_path / "cut.json").write_text(EXAMPLE.read_text()[:200])
    with pytest.raises(BenchError, match="cannot read result file .*cut.json"):
        load_result(tmp_path / "cut.json")


def test_a_result_being_built_is_validated_before_it_is_written(tmp_path):
    data = json.loads(EXAMPLE.read_text())
    data["scores"]["accuracy"]["value"] = "0.9"  # a task bug: a string score
    with pytest.raises(ResultSchemaError, match="scores.accuracy.value"):
        write_result(tmp_path / "r.json", data)
    assert not (tmp_path / "r.json").exists()
    result = Result.from_dict(json.loads(EXAMPLE.read_text()))
    result.scores["accuracy"].n = "540"  # edited in code after it was built
    with pytest.raises(ResultSchemaError, match="scores.accuracy.n"):
        save_result(tmp_path / "r.json", result)
    assert not (tmp_path / "r.json").exists()
