"""`bench score` and `bench trials` (benchmark.engine.submission) on the real vox1-mini sample."""

import csv
import hashlib
import shutil

import numpy as np
import pytest
from PIL import Image

from benchmark.cli import main
from benchmark.engine.run import run_many
from benchmark.engine.submission import FOLDER_SPEC, SubmissionError, export_trials, score
from benchmark.generators.folder import scan_folder
from conftest import MINI_SPLIT

pytestmark = pytest.mark.realdata

PROBE = "id10001/1zcIwhmdeo4/00001"


def save_pngs(folder):
    """An ``on_batch`` callback writing each generated face to ``folder/<utterance id>.png``."""

    def on_batch(ids, faces):
        for utt, face in zip(ids, faces):
            path = folder / f"{utt}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(face.permute(1, 2, 0).numpy()).save(path)

    return on_batch


@pytest.fixture(scope="module")
def oracle_run(vox1_mini, tmp_path_factory):
    """Oracle scored in memory on stratified + unstratified, its faces written as PNGs, and the per-trial outcomes."""
    from benchmark.reports.margins import Capture, match_similarities

    folder = tmp_path_factory.mktemp("oracle-faces")
    capture = Capture()
    results = run_many("oracle", ["stratified", "unstratified"], "vox1-mini", data_root=vox1_mini, split=MINI_SPLIT, seed=0,
                       progress=False, write=False, on_batch=save_pngs(folder), before_scoring=capture.before_scoring)
    outcomes = {name: match_similarities(capture.plans[name], capture.generated, capture.real)[2]
                for name in capture.plans}
    return {"folder": folder, "results": {r["protocol"]["name"]: r for r in results}, "plans": capture.plans,
            "outcomes": outcomes}


@pytest.fixture
def faces_copy(oracle_run, tmp_path):
    dst = tmp_path / "faces"
    shutil.copytree(oracle_run["folder"], dst)
    return dst


def test_score_equals_run_on_the_same_bytes(oracle_run, vox1_mini):
    scored = score(oracle_run["folder"], ["stratified", "unstratified"], "vox1-mini", name="oracle-pngs",
                   data_root=vox1_mini, split=MINI_SPLIT, seed=0, progress=False, write=False)
    for result in scored:
        ran = oracle_run["results"][result["protocol"]["name"]]
        assert result["scores"] == ran["scores"] and result["strata"] == ran["strata"]
        assert result["trials"]["sha256"] == ran["trials"]["sha256"]
        assert set(result) == set(ran)  # the same schema
        assert result["generator"]["name"] == "oracle-pngs" and result["generator"]["spec"] == FOLDER_SPEC
        assert result["inputs"]["generated_detected"] == ran["inputs"]["generated_detected"]
        assert result["info"]["submission"]["failed_count"] == 0


def test_flat_names_jpeg_free_sizes_and_modes(oracle_run, vox1_mini, tmp_path):
    """Flat names score like nested ones; sizes may differ (scored one at a time), grey and RGBA are converted."""
    flat = tmp_path / "flat"
    flat.mkdir()
    for path in sorted(oracle_run["folder"].rglob("*.png")):
        utt = path.relative_to(oracle_run["folder"]).with_suffix("").as_posix()
        shutil.copy(path, flat / (utt.replace("/", "__") + ".png"))
    result = score(flat, ["stratified"], "vox1-mini", name="flat", data_root=vox1_mini, split=MINI_SPLIT, progress=False, write=False)[0]
    assert result["scores"] == oracle_run["results"]["stratified"]["scores"]

    first = flat / (PROBE.replace("/", "__") + ".png")
    Image.open(first).convert("L").resize((100, 120)).save(first)  # grey, another size
    second = sorted(flat.glob("id10108__*.png"))[0]
    Image.open(second).convert("RGBA").save(second)  # RGBA, composited onto white
    mixed = score(flat, ["stratified"], "vox1-mini", name="mixed", data_root=vox1_mini, split=MINI_SPLIT, progress=False, write=False)[0]
    assert mixed["batch_size"] == 1 and mixed["generator"]["image_size"] is None
    assert mixed["scores"]["accuracy"]["n"] == 540


def test_one_error_lists_missing_corrupt_and_extra(faces_copy, vox1_mini):
    (faces_copy / f"{PROBE}.png").unlink()
    corrupt = sorted((faces_copy / "id10108").rglob("*.png"))[0]
    corrupt.write_bytes(b"not a png" * 10)
    (faces_copy / "id99999__abcdefghijk__00001.png").write_bytes(corrupt.read_bytes())
    (faces_copy / ".DS_Store").write_bytes(b"ignored")
    with pytest.raises(SubmissionError) as err:
        score(faces_copy, ["stratified"], "vox1-mini", name="broken", data_root=vox1_mini, split=MINI_SPLIT, progress=False,
              write=False)
    message = str(err.value)
    assert "missing (1)" in message and PROBE in message
    assert "unreadable (1)" in message and str(corrupt.relative_to(faces_copy).with_suffix("")) in message
    assert "extra (1)" in message and "id99999__abcdefghijk__00001.png" in message
    assert ".DS_Store" not in message


def test_allow_missing_counts_every_trial_of_a_missing_face_wrong(oracle_run, faces_copy, vox1_mini):
    (faces_copy / f"{PROBE}.png").unlink()
    result = score(faces_copy, ["stratified"], "vox1-mini", name="partial", allow_missing=True,
                   data_root=vox1_mini, split=MINI_SPLIT, progress=False, write=False)[0]
    trials = oracle_run["plans"]["stratified"].trials
    outcome = oracle_run["outcomes"]["stratified"].astype(np.float64)
    mine = np.array([p == PROBE for p in trials.probe])
    assert mine.sum() == 10
    expected = (outcome.sum() - outcome[mine].sum()) / len(outcome)
    assert result["scores"]["accuracy"]["value"] == pytest.approx(expected, abs=1e-12)
    assert result["info"]["submission"]["missing"] == [PROBE]
    assert result["info"]["submission"]["failed_count"] == 1

    (faces_copy / "stray.png").write_bytes(b"x")
    with pytest.raises(SubmissionError, match="extra"):
        score(faces_copy, ["stratified"], "vox1-mini", name="partial", allow_missing=True, data_root=vox1_mini, split=MINI_SPLIT,
              progress=False, write=False)


def test_allow_missing_refused_where_a_task_has_no_failure_rule(oracle_run, vox1_mini, monkeypatch):
    import benchmark.engine.submission as submission

    monkeypatch.setattr(submission, "FAILURE_AWARE_TASKS", frozenset())
    with pytest.raises(SubmissionError, match="no rule for scoring a missing face"):
        score(oracle_run["folder"], ["stratified"], "vox1-mini", name="x", allow_missing=True, data_root=vox1_mini, split=MINI_SPLIT,
              progress=False, write=False)


def test_registered_name_is_refused(oracle_run, vox1_mini):
    with pytest.raises(SubmissionError, match="registered"):
        score(oracle_run["folder"], ["stratified"], "vox1-mini", name="oracle", data_root=vox1_mini, split=MINI_SPLIT, write=False)


def test_trials_export_lists_the_probes_of_a_run(oracle_run, vox1_mini, tmp_path):
    info = export_trials(["stratified", "unstratified"], "vox1-mini", tmp_path / "u.csv", data_root=vox1_mini, split=MINI_SPLIT,
                         trials_dir=tmp_path / "trials")
    with open(tmp_path / "u.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    probes = set(oracle_run["plans"]["stratified"].probes) | set(oracle_run["plans"]["unstratified"].probes)
    assert [r["utterance"] for r in rows] == sorted(probes)
    assert all(r["image"] == r["utterance"] + ".png" and (vox1_mini / r["audio"]).is_file() for r in rows)
    for name, entry in info["protocols"].items():
        assert entry["sha256"] == oracle_run["results"][name]["trials"]["sha256"]
        assert hashlib.sha256(open(entry["file"], "rb").read()).hexdigest() == entry["sha256"]
    scan = scan_folder(oracle_run["folder"], [r["utterance"] for r in rows])
    assert not scan.missing and not scan.extra and not scan.unreadable


def test_cli_trials_then_score(oracle_run, vox1_mini, tmp_path, capsys):
    out = tmp_path / "utterances.csv"
    assert main(["trials", "--protocol", "stratified", "--dataset", "vox1-mini", "--split", MINI_SPLIT, "--data-root", str(vox1_mini),
                 "--out", str(out), "--quiet"]) == 0
    assert "54 utterances" in capsys.readouterr().out
    results = tmp_path / "results"
    assert main(["score", "--faces", str(oracle_run["folder"]), "--protocol", "stratified", "--dataset", "vox1-mini", "--split", MINI_SPLIT,
                 "--data-root", str(vox1_mini), "--name", "my-submission", "--results-dir", str(results),
                 "--quiet"]) == 0
    from benchmark.results.io import read_result

    stored = read_result(results / "vox1-mini" / MINI_SPLIT / "my-submission" / "stratified-seed0.json")
    assert stored["scores"] == oracle_run["results"]["stratified"]["scores"]
    assert main(["score", "--faces", str(tmp_path / "nope"), "--protocol", "stratified", "--dataset", "vox1-mini", "--split", MINI_SPLIT,
                 "--data-root", str(vox1_mini), "--quiet"]) == 2
    assert "does not exist" in capsys.readouterr().err



def test_missing_faces_only_through_bench_score(faces_copy, vox1_mini):
    from benchmark.engine.run import run

    (faces_copy / f"{PROBE}.png").unlink()
    with pytest.raises(SubmissionError, match="only `bench score --allow-missing`"):
        run(FOLDER_SPEC, "stratified", "vox1-mini", data_root=vox1_mini, split=MINI_SPLIT, progress=False, write=False,
            model_args={"faces_dir": str(faces_copy), "allow_missing": "true"})


def test_bench_check_rescores_a_stored_submission(faces_copy, vox1_mini, tmp_path):
    from benchmark.reports.check import check

    (faces_copy / f"{PROBE}.png").unlink()
    results = tmp_path / "results"
    score(faces_copy, ["stratified"], "vox1-mini", name="partial", allow_missing=True, data_root=vox1_mini, split=MINI_SPLIT,
          progress=False, results_dir=results)
    assert check(results, data_root=vox1_mini, log=lambda line: None).ok
    (faces_copy / "id10228").rename(faces_copy / "elsewhere")  # the folder changed since it was scored
    report = check(results, data_root=vox1_mini, log=lambda line: None)
    assert not report.ok and "does not match" in report.failures[0].note
