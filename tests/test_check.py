"""`bench check` (benchmark.reports.check): stored results re-run and compared, on vox1-mini."""

import json
import shutil

import pytest

from benchmark.reports.check import check, compare, deterministic
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
    path = results / "vox1-mini" / "mean-face" / "stratified-seed0.json"
    edit(path, lambda r: r["scores"]["accuracy"].update(value=r["scores"]["accuracy"]["ci95"][1] + 0.05))
    for tolerance in ("auto", "ci"):
        report = check(results, ["mean-face"], data_root=vox1_mini, tolerance=tolerance, log=lambda line: None)
        assert not report.ok
        assert [(f.path, f.metric, f.stratum) for f in report.failures] == [
            ("vox1-mini/mean-face/stratified-seed0.json", "accuracy", "all")]
    assert main(["check", "mean-face", "--results-dir", str(results), "--data-root", str(vox1_mini), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "mean-face/stratified-seed0.json" in out and "stored 95% CI" in out


@pytest.mark.slow  # re-runs 4 stored vox1-mini results (fixture: 171 s cold); runs in CI
def test_numeric_for_deterministic_runs_ci_otherwise(results, vox1_mini):
    path = results / "vox1-mini" / "random-face" / "unstratified-seed0.json"
    value = json.loads(path.read_text())["scores"]["accuracy"]["value"]
    # float drift of another CPU (a relative 2e-5, as ATEN_CPU_CAPABILITY=default gives) is not a change ...
    edit(path, lambda r: r["scores"]["accuracy"].update(value=value * (1 + 2e-5)))
    assert check(results, ["random-face"], data_root=vox1_mini, log=lambda line: None).ok
    assert not check(results, ["random-face"], data_root=vox1_mini, tolerance="exact", log=lambda line: None).ok
    # ... but one flipped trial (1/540 of the accuracy; far inside the CI) is a real change and fails
    edit(path, lambda r: r["scores"]["accuracy"].update(value=value + 1 / 540))
    report = check(results, ["random-face"], data_root=vox1_mini, log=lambda line: None)
    assert [(f.metric, f.stratum) for f in report.failures] == [("accuracy", "all")]
    edit(path, lambda r: r.update(device="cuda"))  # as if made on a GPU: CI tolerance (re-run on the CPU)
    report = check(results, [str(path)], data_root=vox1_mini, device="cpu", log=lambda line: None)
    assert report.ok and {r.rule for r in report.rows if r.metric == "accuracy"} == {"within CIs"}


@pytest.mark.slow  # re-runs 4 stored vox1-mini results (fixture: 171 s cold); runs in CI
def test_changed_trials_fail_whatever_the_tolerance(results, vox1_mini):
    path = results / "vox1-mini" / "random-face" / "stratified-seed0.json"
    edit(path, lambda r: r["trials"].update(sha256="0" * 64))
    report = check(results, ["random-face"], data_root=vox1_mini, tolerance="ci", log=lambda line: None)
    assert [f.metric for f in report.failures] == ["trials sha256"]


@pytest.mark.slow  # re-runs 4 stored vox1-mini results (fixture: 171 s cold); runs in CI
def test_names_select_and_unknown_names_fail(results, vox1_mini):
    from benchmark.errors import BenchError

    report = check(results, ["mean-face"], data_root=vox1_mini, log=lambda line: None)
    assert set(report.files) == {"vox1-mini/mean-face/stratified-seed0.json", "vox1-mini/mean-face/unstratified-seed0.json"}
    with pytest.raises(BenchError, match="matches"):
        check(results, ["no-such-model"], log=lambda line: None)


@pytest.mark.slow  # re-runs 4 stored vox1-mini results (fixture: 171 s cold); runs in CI
def test_a_result_that_cannot_be_rerun_fails(results, vox1_mini):
    path = results / "vox1-mini" / "mean-face" / "stratified-seed0.json"
    edit(path, lambda r: r["generator"].update(spec="gone.py:Factory"))
    report = check(results, [str(path)], data_root=vox1_mini, log=lambda line: None)
    assert not report.ok and "cannot re-run" not in report.failures[0].note  # the reason itself is shown
    assert "gone.py" in report.failures[0].note


def test_deterministic_rule():
    import numpy
    import torch

    env = {"torch": torch.__version__, "numpy": numpy.__version__}
    try:
        import dlib

        env["dlib"] = dlib.__version__
    except ImportError:  # pragma: no cover
        env["dlib"] = None
    assert deterministic({"device": "cpu", "environment": env}, "cpu")
    assert not deterministic({"device": "cuda", "environment": env}, "cpu")
    assert not deterministic({"device": "cpu", "environment": {**env, "torch": "0.0"}}, "cpu")


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


def test_a_judge_not_reproducible_across_cpus_is_checked_within_its_cis():
    from benchmark.reports.check import cpu_stable_judge

    assert not cpu_stable_judge({"judge": {"id": "sface-2021dec", "name": "sface"}})  # OpenCV DNN dispatch
    assert cpu_stable_judge({"judge": {"id": "dlib-resnet-v1"}})  # the default judge, as old results record it
    assert cpu_stable_judge({"judge": {"id": "dlib-torch-resnet-v1", "name": "dlib-torch"}})
    assert cpu_stable_judge({"judge": {"id": "x", "name": "no-such-judge"}})  # unknown: the strict rule stays
