"""`bench leaderboard` (benchmark.reports.leaderboard) on hand-made result files, and the published numbers."""

import csv
import io
import json

import pytest

from benchmark.cli import main
from benchmark.reports.leaderboard import (MEASURED, REPORTED, README_MARK, build_tables, is_percent, leaderboard,
                                   load_published)
from benchmark.results.io import SCHEMA_VERSION


def _registered_version(protocol):
    from protocols import PROTOCOLS, get_protocol

    return get_protocol(protocol).version if protocol in PROTOCOLS else 1


def fake_result(generator, value, *, dataset="vox1-mini", protocol="stratified", seed=0, ci=(0.4, 0.6),
                created="2026-01-02T03:04:05+00:00", reference="", trained=False, synthetic=False, failed=0,
                metrics=None, info=None):
    scores = metrics or {"accuracy": {"value": value, "ci95": list(ci), "n": 540, "n_identities": 5}}
    result = {
        "schema_version": SCHEMA_VERSION, "created": created, "seed": seed, "device": "cpu",
        "protocol": {"name": protocol, "version": _registered_version(protocol),
                     "spec": {"task": "match-1to2", "description": f"{protocol} description", "source": "a paper"}},
        "trials": {"sha256": f"{protocol}-{seed}".ljust(64, "0"), "count": 540},
        "dataset": {"id": dataset, "synthetic": synthetic, "manifest_sha256": "m" * 64},
        "judge": {"id": "dlib-torch-resnet-v1", "name": "dlib-torch", "weights_sha256": "e31262d7" + "0" * 56},
        "generator": {"name": generator, "reference": reference, "trained_against_judge": trained,
                      "citation": f"{generator} et al."},
        "scores": scores, "strata": {}, "info": dict(info or {}),
    }
    if failed:
        result["info"]["submission"] = {"failed_count": failed, "images_used": 54 - failed}
    return result


def write(root, result, name=None):
    path = root / result["dataset"]["id"] / result["generator"]["name"] / (
        name or f"{result['protocol']['name']}-seed{result['seed']}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result))
    return path


@pytest.fixture
def results(tmp_path):
    root = tmp_path / "results"
    write(root, fake_result("oracle", 0.99, reference="ceiling", ci=(0.97, 1.0)))
    write(root, fake_result("mean-face", 0.51, reference="chance"))
    write(root, fake_result("learned", 0.70, trained=True, ci=(0.6, 0.8)))
    write(root, fake_result("learned", 0.10, seed=1, trained=True))  # a second seed: not shown, counted
    write(root, fake_result("partial", 0.60, failed=3))
    write(root, fake_result("oracle", 0.98, dataset="toy", synthetic=True, reference="ceiling"))
    return root


def table_rows(text):
    return [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| #")]


def test_tables_rows_marks_and_files(results, tmp_path):
    out = tmp_path / "boards"
    output = leaderboard(results, out)
    readme = (out / "README.md").read_text()
    assert README_MARK in readme and "do not edit" in readme
    mini = (out / "tables" / "vox1-mini" / "stratified.md").read_text()
    rows = table_rows(mini)
    measured = [r for r in rows if MEASURED in r]
    # references are shown below the ranked rows, not ranked (issue 20 §3)
    assert [r.split("|")[2].strip() for r in measured] == ["learned", "partial", "oracle", "mean-face"]
    assert "99.00 [97.0, 100.0]" in measured[2] and "ceiling" in measured[2] and measured[2].startswith("| —")
    assert "**yes** ⚠" in measured[0] and "1 other run(s) not shown" in measured[0]
    assert "incomplete: 3 of 54 faces" in measured[1]
    # reported rows only beside the data they were measured on (issue 19 §4): VoxCeleb1 + VGGFace, not vox1-mini
    assert not [r for r in rows if REPORTED in r]
    reported = [r for r in table_rows((out / "tables" / "vox1-vggface" / "stratified.md").read_text()) if REPORTED in r]
    assert {r.split("|")[2].strip() for r in reported} == {"SVHF", "DIMNets-I", "DIMNets-G", "Wen et al. GAN"}
    assert any("65.20" in r and "\\[wen2019\\] Table 3, SVHF row" in r for r in reported)
    # the synthetic world gets no reported rows, and is flagged
    toy = (out / "tables" / "toy" / "stratified.md").read_text()
    assert REPORTED not in toy and "Synthetic known-answer world" in readme
    # the benchmark's own dataset always shows where the field stands
    assert (out / "tables" / "vox1-vggface" / "gender.md").is_file()
    with open(out / "tables" / "vox1-mini" / "stratified.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    oracle = next(r for r in rows if r["generator"] == "oracle")
    assert float(oracle["accuracy"]) == 0.99 and oracle["reference"] == "ceiling" and oracle["rank"] == ""
    assert "SVHF" not in {r["generator"] for r in rows}
    with open(out / "tables" / "vox1-vggface" / "stratified.csv", newline="") as fh:
        svhf = next(r for r in csv.DictReader(fh) if r["generator"] == "SVHF")
    assert float(svhf["accuracy"]) == pytest.approx(0.652) and svhf["kind"] == REPORTED and svhf["rank"] == ""
    assert output.readme == readme


def test_check_mode_and_stale_tables(results, tmp_path, capsys):
    out = tmp_path / "boards"
    args = ["leaderboard", "--results-dir", str(results), "--out-dir", str(out), "--quiet"]
    assert main(args + ["--check"]) == 1
    assert main(args) == 0
    assert main(args + ["--check"]) == 0
    write(results, fake_result("newcomer", 0.8))
    assert main(args + ["--check"]) == 1
    assert "out of date" in capsys.readouterr().err
    (out / "tables" / "vox1-mini" / "gone.md").write_text("old")
    assert main(args) == 0
    assert not (out / "tables" / "vox1-mini" / "gone.md").exists()


def test_lower_is_better_and_units():
    metrics = lambda v: {"angle_deg": {"value": v, "ci95": [v - 1, v + 1], "n": 10, "n_identities": 2},  # noqa: E731
                         "cosine": {"value": 0.5, "ci95": [0.4, 0.6], "n": 10, "n_identities": 2}}
    results = [("a.json", fake_result("far", 0, protocol="feature", metrics=metrics(80.0))),
               ("b.json", fake_result("near", 0, protocol="feature", metrics=metrics(40.0)))]
    pub, _ = load_published()
    table = next(t for t in build_tables(results, pub) if t.dataset == "vox1-mini" and t.protocol == "feature")
    assert [r.generator for r in table.rows if r.kind == MEASURED] == ["near", "far"]
    assert is_percent("accuracy") and is_percent("top-5") and is_percent("acc@N=3") and not is_percent("angle_deg")


def test_published_numbers_are_the_reported_ones_with_sources():
    rows, sources = load_published()
    got = {(r["generator"], r["protocol"]): r for r in rows}
    table3 = {"SVHF": (81.00, 65.20), "DIMNets-I": (83.45, 70.91), "DIMNets-G": (72.90, 50.32),
              "Wen et al. GAN": (76.07, 59.69)}
    for name, (unstratified, stratified) in table3.items():
        assert got[(name, "unstratified")]["metrics"] == {"accuracy": unstratified}
        assert got[(name, "stratified")]["metrics"] == {"accuracy": stratified}
        assert "Table 3" in got[(name, "stratified")]["where"] and got[(name, "stratified")]["source"] == "wen2019"
    assert got[("Wen et al. GAN", "gender")]["metrics"] == {"gender_consistency": 96.45}
    assert got[("Wen et al. GAN", "id-topk-seen")]["metrics"] == {"top-1": 61.7, "top-5": 82.3}
    assert got[("AR-SPM (best model)", "feature")]["metrics"] == {"angle_deg": 15.20}
    assert got[("AR-SPM (best model)", "gender")]["metrics"] == {"gender_consistency": 94.7}
    assert got[("AR-SPM (best model)", "age")]["metrics"] == {"band_accuracy": 65.2}
    assert "NeurIPS 2019" in sources["wen2019"] and "2007.04536" in sources["arspm2020"]
    from protocols import PROTOCOLS

    assert {r["protocol"] for r in rows} <= set(PROTOCOLS)


def test_empty_results_folder_is_refused_unless_asked_then_shows_the_reported_numbers(tmp_path, capsys):
    from benchmark.errors import BenchError

    with pytest.raises(BenchError, match=f"no result files under {tmp_path / 'none'} .no such folder"):
        leaderboard(tmp_path / "none", tmp_path / "boards")
    assert not (tmp_path / "boards").exists()
    assert main(["leaderboard", "--results-dir", str(tmp_path), "--out-dir", str(tmp_path / "boards")]) != 0
    assert f"no result files under {tmp_path} (empty" in capsys.readouterr().err
    assert not (tmp_path / "boards").exists()
    output = leaderboard(tmp_path / "none", tmp_path / "boards", allow_empty=True)
    assert "## vox1-vggface" in output.readme and "No measured result on this dataset yet" in output.readme
    rows = list(csv.DictReader(io.StringIO(output.files["tables/vox1-vggface/stratified.csv"])))
    assert {r["kind"] for r in rows} == {REPORTED} and len(rows) == 4


def test_judge_agreement_is_kendall_tau_of_the_two_judges_rankings():
    from benchmark.reports.leaderboard import MEASURED, Row, Table, judge_agreement

    def table(judge, values, metric="accuracy", protocol="stratified"):
        return Table(dataset="d", protocol=protocol, version=2, judge=judge, judge_id=judge, metrics=[metric],
                     rows=[Row(generator=g, kind=MEASURED, scores={metric: (v, None, None)}) for g, v in values.items()])

    a = {"g1": 0.9, "g2": 0.7, "g3": 0.6, "g4": 0.5}
    same = table("x", a), table("y", {g: v / 2 for g, v in a.items()})  # same order, other scale
    [r] = judge_agreement(list(same))
    assert (r.tau, r.n, r.disagree) == (1.0, 4, ())
    [r] = judge_agreement([table("x", a), table("y", {g: -v for g, v in a.items()})])
    # without stored replicates no pair can be shown significant, so none is listed (issue 20 §4; test_bands.py)
    assert r.tau == -1.0 and r.disagree == () and r.tau_ci is None
    swapped = dict(a, g1=0.65)  # judge y puts g1 between g2 and g3
    [r] = judge_agreement([table("x", a), table("y", swapped)])
    assert abs(r.tau - 4 / 6) < 1e-12
    low = [table("x", {"g1": 1.0, "g2": 2.0, "g3": 3.0}, "l2"), table("y", {"g1": 2.5, "g2": 2.0, "g3": 3.0, "g9": 0}, "l2")]
    [r] = judge_agreement(low)
    assert r.n == 3  # only common generators count
    # different protocols or a single judge: nothing to compare
    assert judge_agreement([table("x", a), table("y", a, protocol="unstratified")]) == []
