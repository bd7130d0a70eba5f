"""`bench check` of results scored on a dataset manifest (issue 19, item 4; benchmark.reports.check_data): the result
records where its manifest was read, `bench check` re-runs it there and reproduces it exactly; a manifest that moved is
refused with the fix (`--dataset PATH`), and one whose content changed is refused even when named."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from benchmark.cli import main


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """A manifest of the toy world (``m/``), and the mean-face reference's unstratified result on it (``r/``), run
    from the folder holding both, as a user runs it."""
    import os

    from benchmark.data.datasets import dataset_root

    base = tmp_path_factory.mktemp("check-manifest")
    cwd = os.getcwd()
    os.chdir(base)
    try:
        assert main(["dataset", "convert", "vox1", str(dataset_root("toy")), "--out", "m", "--name", "toy-m"]) == 0
        assert main(["run", "--model", "mean-face", "--protocol", "unstratified", "--dataset", "m", "--results-dir",
                     "r", "--quiet"]) == 0
    finally:
        os.chdir(cwd)
    return base


@pytest.fixture
def world(scored, tmp_path, monkeypatch):
    """A fresh copy of ``scored`` (so a test may move or edit its manifest), as the working directory."""
    dst = tmp_path / "w"
    shutil.copytree(scored, dst)
    head = json.loads((scored / "m" / "manifest.json").read_text())
    head["root"] = str((scored / "m" / head["root"]).resolve())  # the copy still reads the toy world's files
    (dst / "m" / "manifest.json").write_text(json.dumps(head))
    monkeypatch.chdir(dst)
    return dst


def _result(world: Path) -> Path:
    (path,) = sorted((world / "r").rglob("*.json"))
    return path


def test_a_manifest_result_records_its_manifest_and_is_reproduced_exactly(world, capsys):
    result = json.loads(_result(world).read_text())
    assert result["dataset"]["manifest"] == "m/manifest.json"  # relative to where the run was made
    assert result["dataset"]["identity"]["origin"] == "manifest"
    assert main(["check", "--results-dir", "r", "--tolerance", "exact", "--quiet"]) == 0
    assert "1 of 1 result file(s) reproduced" in capsys.readouterr().out


def test_a_moved_manifest_is_refused_with_the_fix_then_found_with_dataset(world, capsys):
    (world / "m").rename(world / "moved")
    assert main(["check", "--results-dir", "r", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert str(_result(world).relative_to(world)) in err or _result(world).name in err  # names the result file
    assert "looked at: m/manifest.json (cannot be read: no dataset manifest at m/manifest.json" in err
    assert "--dataset PATH" in err
    assert main(["check", "--results-dir", "r", "--dataset", "moved", "--tolerance", "exact", "--quiet"]) == 0
    assert "1 of 1 result file(s) reproduced" in capsys.readouterr().out


def test_a_changed_manifest_is_refused_even_when_named(world, capsys):
    path = world / "m" / "identities.csv"
    rows = list(csv.DictReader(open(path, encoding="utf-8")))
    rows[0]["split"] = "test" if rows[0]["split"] != "test" else "train"  # another split: other data
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    want = json.loads(_result(world).read_text())["dataset"]["identity"]["fingerprint"]
    for extra in ([], ["--dataset", "m"]):
        assert main(["check", "--results-dir", "r", "--quiet", *extra]) == 2
        err = capsys.readouterr().err
        assert f"fingerprint {want[:12]}" in err and "manifest 'toy-m', fingerprint" in err
        assert "restore it, or re-run and store those results again" in err


def test_dataset_that_names_no_result_of_that_manifest_is_refused(world, capsys):
    other = world / "other"
    shutil.copytree(world / "m", other)
    head = json.loads((other / "manifest.json").read_text())
    head["name"] = "someone-else"
    (other / "manifest.json").write_text(json.dumps(head))
    assert main(["check", "--results-dir", "r", "--dataset", "other", "--quiet"]) == 2
    assert "no result to check was scored on a manifest named 'someone-else'" in capsys.readouterr().err
    assert main(["check", "--results-dir", "r", "--dataset", "toy", "--quiet"]) == 2
    assert "a registered dataset is found by its name" in capsys.readouterr().err


def test_a_result_that_records_no_manifest_needs_dataset(world, capsys):
    """A manifest result written before ``dataset.manifest`` existed: refused with the fix, then checked with it."""
    path = _result(world)
    data = json.loads(path.read_text())
    del data["dataset"]["manifest"]
    path.write_text(json.dumps(data, indent=2))
    assert main(["check", "--results-dir", "r", "--quiet"]) == 2
    assert "no manifest location is recorded" in capsys.readouterr().err
    assert main(["check", "--results-dir", "r", "--dataset", "m/manifest.json", "--tolerance", "exact", "--quiet"]) == 0
