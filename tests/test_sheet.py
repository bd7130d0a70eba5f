"""Pictures (benchmark.reports.sheet): the contact sheet and the margin histograms, checked on the image arrays."""

import numpy as np
import pytest
from PIL import Image

from benchmark.cli import main
from benchmark.reports.margins import margin_plots
from benchmark.reports.sheet import FRAME, HEADER, PAD, sheet_size, tile_boxes
from conftest import MINI_SPLIT

pytestmark = pytest.mark.realdata


def frame_runs(image: np.ndarray, x: int) -> list[tuple[int, int]]:
    """(start, end) of the vertical runs of frame-coloured pixels in column ``x``."""
    on = np.all(image[:, x] == FRAME, axis=1)
    runs, start = [], None
    for y, v in enumerate(on):
        if v and start is None:
            start = y
        if not v and start is not None:
            runs.append((start, y))
            start = None
    if start is not None:
        runs.append((start, len(on)))
    return runs


@pytest.mark.parametrize("k", [3, 5])
def test_contact_sheet_has_k_rows_of_the_expected_size(vox1_mini, tmp_path, capsys, k):
    out = tmp_path / "sheet.png"
    assert main(["sheet", "--model", "oracle", "--dataset", "vox1-mini", "--split", MINI_SPLIT, "--data-root", str(vox1_mini),
                 "--out", str(out), "--k", str(k), "--quiet"]) == 0
    assert out.is_file() and f"{k} speaker(s)" in capsys.readouterr().out
    image = np.asarray(Image.open(out).convert("RGB"))
    width, height = sheet_size(k, voices=2, real=3)
    assert image.shape == (height, width, 3)
    # K rows: the left frame line of the first tile is drawn once per row, one tile tall (+ 2 px of frame)
    runs = frame_runs(image, PAD - 1)
    assert len(runs) == k
    boxes = tile_boxes(k, 2, 3)
    assert [start for start, _ in runs] == [row[0][1] - 1 for row in boxes]
    # every tile holds a picture (not the white background): generated faces and real faces alike
    for row in boxes:
        for left, top, right, bottom in row:
            tile = image[top:bottom, left:right].astype(float)
            assert tile.std() > 10
    assert image[:HEADER].min() < 100  # the title is drawn


def test_named_speakers_and_unknown_ones(vox1_mini, tmp_path):
    from benchmark.errors import BenchError
    from benchmark.reports.sheet import contact_sheet

    info = contact_sheet("mean-face", "vox1-mini", tmp_path / "s.png", protocol="unstratified", k=5,
                         speakers=["id10228"], voices=1, real=2, data_root=vox1_mini, split=MINI_SPLIT)
    assert info["speakers"] == ["id10228"] and info["size"] == sheet_size(1, 1, 2)
    with pytest.raises(BenchError, match="not probes"):
        contact_sheet("mean-face", "vox1-mini", tmp_path / "s.png", speakers=["id10321"], data_root=vox1_mini, split=MINI_SPLIT)


def test_run_plots_saves_a_margin_histogram_next_to_each_result(vox1_mini, tmp_path, capsys):
    results = tmp_path / "results"
    assert main(["run", "--model", "random-face", "--protocol", "stratified,unstratified", "--dataset", "vox1-mini", "--split", MINI_SPLIT,
                 "--data-root", str(vox1_mini), "--results-dir", str(results), "--plots", "--quiet"]) == 0
    assert "margin histogram written to" in capsys.readouterr().out
    for protocol in ("stratified", "unstratified"):
        png = results / "vox1-mini" / MINI_SPLIT / "random-face" / f"{protocol}-seed0-margins.png"
        image = np.asarray(Image.open(png).convert("RGB"))
        assert image.shape == (500, 800, 3)
        assert (image < 200).any(axis=2).mean() > 0.02  # bars, axes and text are drawn


def test_other_tasks_are_skipped_with_a_note():
    notes = []
    result = {"protocol": {"name": "feature", "spec": {"task": "feature"}}, "scores": {}}
    assert margin_plots([result], capture=None, log=notes.append) == {}
    assert "no similarity margin" in notes[0]


def test_sheet_heading_never_says_from_the_voice_for_a_ceiling_reference():
    from benchmark.reports.sheet import generated_label

    # Speech2Face's face2face (scored with --reference ceiling) and the oracle are drawn from the true face
    assert "NOT drawn from the voice" in generated_label({"name": "speech2face-face2face", "reference": "ceiling"}, 2)
    assert "from the voice" in generated_label({"name": "speech2face-released", "reference": ""}, 1)
    assert "NOT" not in generated_label({"name": "wen-gan"}, 1)
