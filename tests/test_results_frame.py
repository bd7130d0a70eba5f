"""`benchmark.results.load` (issue 23 §4): result files as one pandas frame, one row per result × metric × stratum,
read through the result schema (data, never code)."""

import json
import math
import subprocess
import sys

import pytest

from benchmark.errors import BenchError
from benchmark.results.frame import COLUMNS
from test_leaderboard import fake_result, write


def _two_results(root):
    a = fake_result("a", 0.7, ci=(0.6, 0.8), info={"chance": 0.5})
    a["strata"] = {"gender=f": {"accuracy": {"value": 0.65, "ci95": [0.5, 0.8], "n": 270, "n_identities": 3,
                                              "flag": "only 3 identities"}},
                   "gender=m": {"accuracy": {"value": 0.75, "ci95": [0.6, 0.9], "n": 270, "n_identities": 2}}}
    b = fake_result("oracle", 0.99, reference="ceiling", protocol="retrieval",
                    metrics={"R@1": {"value": 0.9, "ci95": [0.8, 1.0], "n": 40, "n_identities": 20},
                             "R@5": {"value": 1.0, "ci95": [1.0, 1.0], "n": 40, "n_identities": 20}},
                    info={"chance": {"R@1": 0.05, "R@5": 0.25}})
    return write(root, a), write(root, b)


def test_one_row_per_result_metric_and_stratum_with_the_files_numbers(tmp_path):
    from benchmark.results import load

    pa, pb = _two_results(tmp_path)
    df = load(tmp_path)
    assert list(df.columns) == list(COLUMNS)
    assert len(df) == 3 + 2  # a: all + 2 strata (one metric); oracle: 2 metrics, no strata
    a = df[df.generator == "a"].set_index("stratum")
    assert a.loc["all", "value"] == 0.7 and (a.loc["all", "ci_low"], a.loc["all", "ci_high"]) == (0.6, 0.8)
    assert a.loc["gender=f", "value"] == 0.65 and a.loc["gender=f", "flag"] == "only 3 identities"
    assert a.loc["gender=m", "n"] == 270 and a.loc["gender=m", "n_identities"] == 2
    assert (a["chance"] == 0.5).all() and a["reference"].isna().all()
    o = df[df.generator == "oracle"].set_index("metric")
    assert o.loc["R@5", "chance"] == 0.25 and o.loc["R@1", "value"] == 0.9 and (o["reference"] == "ceiling").all()
    assert set(df["dataset"]) == {"vox1-mini"} and set(df["data"]) == {"registered"} and set(df["split"]) == {"test"}
    assert set(df["judge"]) == {"dlib-torch"} and set(df["protocol_version"]) == {2}
    assert df["result_path"].iloc[0] == pa.relative_to(tmp_path).as_posix()
    assert df.loc[df.generator == "oracle", "file"].iloc[0] == str(pb)
    one = load(pb)  # a single file
    assert len(one) == 2 and set(one["result_path"]) == {pb.name} and set(one["file"]) == {str(pb)}


def test_partial_copies_and_manifests_are_other_data(tmp_path):
    from benchmark.results import load

    full = fake_result("a", 0.7)
    part = fake_result("a", 0.8)
    part["dataset"]["partial"] = {"note": "partial copy: 5 of 189 test identities"}
    part["dataset"]["manifest_sha256"] = "p" * 64
    write(tmp_path / "full", full)
    write(tmp_path / "part", part)
    df = load(tmp_path)
    assert sorted(df["data"]) == ["p" * 64, "registered"]
    assert "partial copy pppppppppppp" in df.loc[df.data != "registered", "data_heading"].iloc[0]


def test_bad_input_is_named_before_any_work(tmp_path):
    from benchmark.results import load
    from benchmark.results.schema import ResultSchemaError

    with pytest.raises(BenchError, match="no result file or folder at .*nowhere"):
        load(tmp_path / "nowhere")
    bad = fake_result("a", 0.7)
    bad["scores"]["accuracy"]["value"] = "high"
    path = write(tmp_path, bad)
    with pytest.raises(ResultSchemaError, match=f"{path}.*scores.accuracy.value"):
        load(tmp_path)
    (tmp_path / "empty").mkdir()
    frame = load(tmp_path / "empty")
    assert frame.empty and list(frame.columns) == list(COLUMNS)


def test_importing_benchmark_results_imports_no_pandas():
    code = "import sys, benchmark.results; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_stored_results_load_with_their_numbers():
    """Every stored toy result is in the frame, each overall value equal to its file's."""
    from pathlib import Path

    from benchmark.results import load

    root = Path(__file__).resolve().parents[1] / "leaderboards" / "results" / "toy"
    if not root.is_dir():
        pytest.skip("no stored toy results")
    df = load(root)
    files = sorted(root.rglob("*.json"))
    expected = 0
    for p in files[::10]:
        data = json.loads(p.read_text())
        rel = p.relative_to(root).as_posix()
        for metric, s in data["scores"].items():
            row = df[(df.result_path == rel) & (df.metric == metric) & (df.stratum == "all")]
            assert len(row) == 1 and (row["value"].iloc[0] == s["value"] or math.isnan(s["value"]))
    for p in files:
        data = json.loads(p.read_text())
        expected += len(data["scores"]) + sum(len(v) for v in (data.get("strata") or {}).values())
    assert len(df) == expected and df["result_path"].nunique() == len(files)
