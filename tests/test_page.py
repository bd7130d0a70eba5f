"""The web page's HTML without a browser (``benchmark.reports.page``, ``benchmark.escape.html_text``,
``bench leaderboard --html``); the browser test is ``tests/test_page_browser.py``."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.escape import html_text

ROOT = Path(__file__).resolve().parents[1]
STORED = ROOT / "leaderboards" / "results"


def stored_folder(dataset: str, model: str) -> Path:
    """A stored model's result folder, in either layout (``<dataset>/<split>/<model>`` or ``<dataset>/<model>``;
    the test split's first)."""
    found = sorted((p for p in (STORED / dataset).rglob(model) if p.is_dir()), key=lambda p: (p.parent.name != "test", p))
    assert found, f"no stored results of {model} on {dataset}"
    return found[0]
HOSTILE = "<script>alert(1)</script>\"'&lt;"


def test_html_text_escapes_every_markup_character_and_control_characters():
    assert html_text('<a href="x" title=\'y\'>&amp;</a>') == "&lt;a href=&quot;x&quot; title=&#x27;y&#x27;&gt;&amp;amp;&lt;/a&gt;"
    assert html_text(None) == "" and html_text(0.5) == "0.5"
    assert html_text("a\x00b\x1bc\td\ne\x7f") == "a\ufffdb\ufffdc\td\ne\ufffd"
    assert html_text("Ünïcode · ↓ ⚠") == "Ünïcode · ↓ ⚠"


def _hostile_results(tmp_path: Path, spec: str | None = None) -> Path:
    """A results folder holding one toy result whose generator name and citation are HTML."""
    stored = json.loads((stored_folder("toy", "mean-face") / "stratified-seed0.json").read_text(encoding="utf-8"))
    stored["generator"].update(name=HOSTILE, citation=HOSTILE, reference="", notes="")
    if spec is not None:
        stored["generator"]["spec"] = spec
    folder = tmp_path / "results" / "toy" / "hostile"
    folder.mkdir(parents=True)
    (folder / "stratified-seed0.json").write_text(json.dumps(stored), encoding="utf-8")
    return tmp_path / "results"


def test_strings_from_result_files_never_become_markup(tmp_path):
    from benchmark.reports.page import page_files

    files = page_files(_hostile_results(tmp_path), tmp_path / "site")
    page = files["index.html"]
    assert page.count("<script") == 1 and page.count("</script>") == 1  # only the page's own script
    assert "alert(1)" in page and "<script>alert(1)" not in page
    assert html_text(HOSTILE) in page
    assert f'data-generator="{html_text(HOSTILE)}"' in page


def test_the_csp_allows_exactly_the_inline_script_and_style(tmp_path):
    from benchmark.reports.page import page_files

    page = page_files(_hostile_results(tmp_path), tmp_path / "site")["index.html"]
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    for tag, directive in (("script", "script-src"), ("style", "style-src")):
        body = re.search(rf"<{tag}>(.*?)</{tag}>", page, re.S).group(1)
        digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode("ascii")
        assert f"{directive} 'sha256-{digest}'" in policy
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy


def test_sheet_names_stay_in_their_folder_and_never_collide():
    from benchmark.reports.page_sheets import sheet_name

    names = ["a/b", "a_b", "../../x", ".hidden", "", "é" * 100]
    files = [sheet_name(n) for n in names]
    assert len(set(files)) == len(names)
    assert all("/" not in f and not f.startswith(".") and f.endswith(".png") and len(f) <= 73 for f in files)


def test_sheets_are_reused_from_the_page_folder_and_named_when_missing(tmp_path):
    from benchmark.reports.page import page_files
    from benchmark.reports.page_sheets import sheet_name

    results = tmp_path / "results"
    shutil.copytree(stored_folder("toy", "mean-face"), results / "toy" / "mean-face")
    shutil.copytree(stored_folder("toy", "oracle"), results / "toy" / "oracle")
    site = tmp_path / "site"
    (site / "sheets" / "toy--test").mkdir(parents=True)
    (site / "sheets" / "toy--test" / sheet_name("oracle")).write_bytes(b"\x89PNG made earlier")
    files = page_files(results, site)
    rel = f"sheets/toy--test/{sheet_name('oracle')}"
    assert files[rel] == b"\x89PNG made earlier"
    assert f'<img src="{rel}" alt="contact sheet of oracle"' in files["index.html"]
    assert "No contact sheet for: mean-face" in files["index.html"]
    (results / "toy" / "sheets").mkdir()  # where `bench sheet --results-dir` writes by default
    (results / "toy" / "sheets" / "mean-face-stratified-seed0.png").write_bytes(b"\x89PNG by bench sheet")
    files = page_files(results, site)
    assert files[f"sheets/toy--test/{sheet_name('mean-face')}"] == b"\x89PNG by bench sheet"
    assert "No contact sheet for" not in files["index.html"]


def test_make_sheets_never_imports_a_spec_named_by_a_result_file(tmp_path):
    from benchmark.reports.page import all_summaries
    from benchmark.reports.page_sheets import make_sheets
    from benchmark.results import load

    evil = tmp_path / "evil.py"
    evil.write_text("raise SystemExit('imported')\n", encoding="utf-8")
    results = _hostile_results(tmp_path, spec=f"{evil}:Evil")
    skipped, lines = {}, []
    made = make_sheets(all_summaries(load(results)), results, skipped=skipped, log=lines.append)
    assert made == {}
    assert "not a registered generator" in skipped[("toy--test", HOSTILE)]
    assert len(lines) == 1 and "no contact sheet" in lines[0]


def test_bench_leaderboard_html_writes_the_page_and_check_finds_it_stale(tmp_path, capsys):
    results = tmp_path / "results"
    shutil.copytree(stored_folder("toy", "mean-face"), results / "toy" / "mean-face")
    shutil.copytree(stored_folder("toy", "random-face"), results / "toy" / "random-face")
    out, site = tmp_path / "lb", tmp_path / "site"
    common = ["leaderboard", "--results-dir", str(results), "--out-dir", str(out), "--quiet", "--html", str(site)]
    assert main(common) == 0
    page = (site / "index.html").read_text(encoding="utf-8")
    assert 'data-generator="mean-face"' in page and 'data-generator="random-face"' in page
    assert main(common + ["--check"]) == 0
    (site / "index.html").write_text(page.replace("mean-face", "edited"), encoding="utf-8")
    assert main(common + ["--check"]) == 1
    assert "index.html" in capsys.readouterr().err
    assert main(["leaderboard", "--results-dir", str(results), "--out-dir", str(out), "--sheets"]) == 2


@pytest.mark.parametrize("bad", ["../escape", "/abs/path"])
def test_write_page_refuses_paths_outside_its_folder(tmp_path, bad):
    from benchmark.errors import BenchError
    from benchmark.reports.page import write_page

    with pytest.raises(BenchError, match="outside"):
        write_page(tmp_path / "site", {f"{bad}/x.png": b"", "index.html": "x"})
    assert not (tmp_path / "site" / "index.html").exists()  # checked before anything is written


@pytest.mark.realdata
def test_sheets_option_draws_a_contact_sheet_for_a_stored_row(vox1_mini, tmp_path, capsys):
    from PIL import Image

    from benchmark.reports.page_sheets import sheet_name
    from benchmark.reports.sheet import sheet_size

    results = tmp_path / "results" / "vox1-mini" / "oracle"
    results.mkdir(parents=True)
    from benchmark.judges import DEFAULT_JUDGE, judge_name_of

    stored = [p for p in sorted(stored_folder("vox1-mini", "oracle").glob("stratified-seed0*.json"))
              if judge_name_of(json.loads(p.read_text(encoding="utf-8"))["judge"]) == DEFAULT_JUDGE]
    shutil.copy(stored[0], results)
    site = tmp_path / "site"
    assert main(["leaderboard", "--results-dir", str(tmp_path / "results"), "--out-dir", str(tmp_path / "lb"),
                 "--quiet", "--html", str(site), "--sheets", "--data-root", str(vox1_mini)]) == 0
    assert "contact sheet of oracle on vox1-mini" in capsys.readouterr().out
    sheets = list((site / "sheets").rglob("*.png"))
    assert [p.name for p in sheets] == [sheet_name("oracle")]
    width, height = Image.open(sheets[0]).size
    assert (width, height) in {sheet_size(k, 2, 2, 96) for k in range(1, 5)}
    rel = sheets[0].relative_to(site).as_posix()
    assert f'<img src="{rel}" alt="contact sheet of oracle"' in (site / "index.html").read_text(encoding="utf-8")
