"""Where `bench trials` and `bench sheet` write when not told (issue 23 §5): into the results folder
(`--results-dir`, else $VOICE2FACE_RESULTS_DIR or ./results), never loose in the current folder."""

from PIL import Image

from benchmark.cli import main


def test_trials_and_sheet_default_into_the_results_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("VOICE2FACE_RESULTS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["trials", "--protocol", "stratified,unstratified", "--dataset", "toy", "--quiet"]) == 0
    csv = tmp_path / "results" / "toy" / "trials" / "stratified_unstratified-seed0.csv"
    assert csv.is_file() and csv.read_text().startswith("utterance,identity,gender,audio,image,protocols")
    assert str(csv) in capsys.readouterr().out
    assert main(["sheet", "--model", "oracle", "--dataset", "toy", "--k", "2", "--quiet",
                 "--results-dir", str(tmp_path / "elsewhere")]) == 0
    png = tmp_path / "elsewhere" / "toy" / "sheets" / "oracle-stratified-seed0.png"
    with Image.open(png) as im:
        assert im.size[0] > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere", "results"]  # nothing loose in the cwd
    monkeypatch.setenv("VOICE2FACE_RESULTS_DIR", str(tmp_path / "env"))
    assert main(["trials", "--protocol", "stratified", "--dataset", "toy", "--seed", "3", "--quiet"]) == 0
    assert (tmp_path / "env" / "toy" / "trials" / "stratified-seed3.csv").is_file()
