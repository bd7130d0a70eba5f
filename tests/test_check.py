"""`bench check` (benchmark.reports.check): stored results re-run and compared, on vox1-mini."""

import json
import shutil

import pytest

from benchmark.reports.check import check, compare
from benchmark.cli import main
from benchmark.engine.run import run_many
from conftest import MINI_SPLIT

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def stored(vox1_mini, tmp_path_factory):
    """Fresh results of two references on two protocols, written as `bench run` writes them."""
    root = tmp_path_factory.mktemp("results")
    for model in ("mean-face", "random-face"):
        run_many(model, ["stratified", "unstratified"], "vox1-mini", data_root=vox1_mini, split=MINI_SPLIT, seed=0,
                 progress=False, results_dir=root)
    return root


@pytest.fixture
def results(stored, tmp_path):
    dst = tmp_path / "results"
    shutil.copytree(stored, dst)
    return dst


def edit(path, change):
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2))


@pytest.mark.slow  # re-runs 4 stored vox1-mini results (fixture: 171 s cold); runs in CI
def test_unedited_fresh_results_pass(results, vox1_mini, capsys):
    report = check(results, data_root=vox1_mini, log=lambda line: None)
    assert report.ok and len(report.files) == 4
    assert {r.rule for r in report.rows if r.metric == "accuracy"} == {"rel 0.0001"}
    assert main(["check", "--results-dir", str(results), "--data-root", str(vox1_mini), "--quiet"]) == 0
    assert "4 of 4 result file(s) reproduced" in capsys.readouterr().out


@pytest.mark.slow  # re-runs 4 stored vox1-mini results (fixture: 171 s cold); runs in CI
def test_a_value_edited_beyond_its_ci_fails_with_a_diff_table(results, vox1_mini, capsys):
    path = results / "vox1-mini" / MINI_SPLIT / "mean-face" / "stratified-seed0.json"
    edit(path, lambda r: r["scores"]["accuracy"].update(value=r["scores"]["accuracy"]["ci95"][1] + 0.05))
    for tolerance in ("auto", "ci"):
        report = check(results, ["mean-face"], data_root=vox1_mini, tolerance=tolerance, log=lambda line: None)
        assert not report.ok
        assert [(f.path, f.metric, f.stratum) for f in report.failures] == [
            (f"vox1-mini/{MINI_SPLIT}/mean-face/stratified-seed0.json", "accuracy", "all")]
    assert main(["check", "mean-face", "--results-dir", str(results), "--data-root", str(vox1_mini), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "mean-face/stratified-seed0.json" in out and "stored 95% CI" in out


@pytest.mark.slow  # re-runs 4 stored vox1-mini results (fixture: 171 s cold); runs in CI
def test_numeric_on_the_cpu_whatever_the_file_records(results, vox1_mini):
    path = results / "vox1-mini" / MINI_SPLIT / "random-face" / "unstratified-seed0.json"
    value = json.loads(path.read_text())["scores"]["accuracy"]["value"]
    # float drift of another CPU (a relative 2e-5, as ATEN_CPU_CAPABILITY=default gives) is not a change ...
    edit(path, lambda r: r["scores"]["accuracy"].update(value=value * (1 + 2e-5)))
    assert check(results, ["random-face"], data_root=vox1_mini, log=lambda line: None).ok
    assert not check(results, ["random-face"], data_root=vox1_mini, tolerance="exact", log=lambda line: None).ok
    # ... but one flipped trial (1/540 of the accuracy; far inside the CI) is a real change and fails
    edit(path, lambda r: r["scores"]["accuracy"].update(value=value + 1 / 540))
    report = check(results, ["random-face"], data_root=vox1_mini, log=lambda line: None)
    assert [(f.metric, f.stratum) for f in report.failures] == [("accuracy", "all")]
    edit(path, lambda r: r["scores"]["accuracy"].update(value=value))
    edit(path, lambda r: r.update(device="cuda"))  # the file's device chooses nothing: re-run on the CPU, numeric
    report = check(results, [str(path)], data_root=vox1_mini, device="cpu", log=lambda line: None)
    assert report.ok and {r.rule for r in report.rows if r.metric == "accuracy"} == {"rel 0.0001"}
    report = check(results, [str(path)], data_root=vox1_mini, tolerance="ci", device="cpu", log=lambda line: None)
    assert report.ok and {r.rule for r in report.rows if r.metric == "accuracy"} == {"within CIs"}


@pytest.mark.parametrize("provenance", [
    lambda r: r["environment"].update(torch="0.0"),
    lambda r: r["environment"].update(numpy="0.0", dlib="0.0"),
    lambda r: r["judge"].update(library="dlib 0.0"),
    lambda r: r.update(device="cuda"),
    lambda r: r.update(git_commit="0" * 40),
], ids=["environment.torch", "environment.numpy+dlib", "judge.library", "device", "git_commit"])
@pytest.mark.slow  # re-runs a stored vox1-mini result (the results fixture: 171 s cold); runs in CI
def test_a_tampered_score_with_a_provenance_edit_fails(results, vox1_mini, provenance):
    """Issue 21: editing a provenance field switched the tolerance to "within the CIs", so a tampered score passed."""
    path = results / "vox1-mini" / MINI_SPLIT / "random-face" / "unstratified-seed0.json"
    stored = json.loads(path.read_text())["scores"]["accuracy"]

    def tamper(r):
        provenance(r)
        r["scores"]["accuracy"].update(value=stored["value"] + 1 / 540)  # one trial, far inside the CI

    edit(path, tamper)
    report = check(results, [str(path)], data_root=vox1_mini, device="cpu", log=lambda line: None)
    assert [(f.metric, f.stratum) for f in report.failures] == [("accuracy", "all")]
    widened = [stored["ci95"][0] - 0.05, stored["ci95"][1] + 0.05]  # a widened CI with the edit fails as well
    edit(path, lambda r: r["scores"]["accuracy"].update(value=stored["value"], ci95=widened))
    report = check(results, [str(path)], data_root=vox1_mini, device="cpu", log=lambda line: None)
    assert [(f.metric, f.stratum) for f in report.failures] == [("accuracy", "all")]


@pytest.mark.slow  # re-runs 4 stored vox1-mini results (fixture: 171 s cold); runs in CI
def test_changed_trials_fail_whatever_the_tolerance(results, vox1_mini):
    path = results / "vox1-mini" / MINI_SPLIT / "random-face" / "stratified-seed0.json"
    edit(path, lambda r: r["trials"].update(sha256="0" * 64))
    report = check(results, ["random-face"], data_root=vox1_mini, tolerance="ci", log=lambda line: None)
    assert [f.metric for f in report.failures] == ["trials sha256"]


@pytest.mark.slow  # re-runs 4 stored vox1-mini results (fixture: 171 s cold); runs in CI
def test_names_select_and_unknown_names_fail(results, vox1_mini):
    from benchmark.errors import BenchError

    report = check(results, ["mean-face"], data_root=vox1_mini, log=lambda line: None)
    assert set(report.files) == {f"vox1-mini/{MINI_SPLIT}/mean-face/stratified-seed0.json", f"vox1-mini/{MINI_SPLIT}/mean-face/unstratified-seed0.json"}
    with pytest.raises(BenchError, match="matches"):
        check(results, ["no-such-model"], log=lambda line: None)


@pytest.mark.slow  # re-runs 4 stored vox1-mini results (fixture: 171 s cold); runs in CI
def test_a_result_that_cannot_be_rerun_fails(results, vox1_mini):
    path = results / "vox1-mini" / MINI_SPLIT / "mean-face" / "stratified-seed0.json"
    edit(path, lambda r: r["generator"].update(spec="gone.py:Factory"))
    report = check(results, [str(path)], data_root=vox1_mini, log=lambda line: None)
    assert not report.ok and "cannot re-run" not in report.failures[0].note  # the reason itself is shown
    assert "gone.py" in report.failures[0].note


def test_compare_reports_missing_metrics():
    base = {"protocol": {"name": "p", "version": 1}, "trials": {"sha256": "a"}, "dataset": {"manifest_sha256": "m"},
            "scores": {"accuracy": {"value": 0.5, "ci95": [0.4, 0.6], "n": 10, "n_identities": 2}}, "strata": {}}
    new = json.loads(json.dumps(base))
    new["scores"]["top-1"] = new["scores"].pop("accuracy")
    rows = compare("r.json", base, new, "exact")
    assert sorted((r.metric, r.ok) for r in rows) == [("accuracy", False), ("top-1", False)]


@pytest.mark.slow  # re-runs 4 stored vox1-mini results (fixture: 171 s cold); runs in CI
def test_an_edited_dataset_file_fails_whatever_the_tolerance(results, vox1_mini, tmp_path):
    """The manifest hash covers ids only; the files fingerprint catches an edited image (same name, new bytes)."""
    import numpy as np
    from PIL import Image

    copy = tmp_path / "vox1-mini-copy"
    shutil.copytree(vox1_mini, copy)
    for path in results.rglob("*.json"):  # results made on the original: the copy has the same bytes ...
        edit(path, lambda r: r["dataset"].update(root=str(copy)))
    assert check(results, ["mean-face"], data_root=copy, tolerance="ci", log=lambda line: None).ok
    face = next(p for p in sorted((copy / "vggface" / "Debi_Mazar").glob("*.jpg")))
    image = np.asarray(Image.open(face).convert("RGB")).copy()
    image[:8, :8] = 255 - image[:8, :8]  # ... until one gallery image is edited in place
    Image.fromarray(image).save(face, quality=95)
    report = check(results, ["mean-face"], data_root=copy, tolerance="ci", log=lambda line: None)
    assert "dataset files" in {f.metric for f in report.failures}


def test_a_two_face_speakers_result_is_rerun_on_its_own_population():
    """`bench check` groups results into one re-run per configuration: a result scored on the oracle's population
    (--two-face-speakers) is another run than its sibling on every speaker (before this, both were re-run on the
    first one's population and 35 of the 603 stored results failed)."""
    import json
    from pathlib import Path

    from benchmark.reports.check import _config_key

    folder = Path(__file__).resolve().parents[1] / "leaderboards" / "results" / "vox1-s2f" / "test" / "mean-face"
    every = json.loads((folder / "stratified-seed0.json").read_text())
    two_face = json.loads((folder / "stratified-seed0-two-face-speakers.json").read_text())
    assert _config_key(every, None) != _config_key(two_face, None)
    assert _config_key(every, None) == _config_key(json.loads((folder / "unstratified-seed0.json").read_text()), None)
