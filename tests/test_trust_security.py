"""Issue 21, security holes: a result file is data, never code, never a path out of the output folder, never markup.

Each test builds its hostile input from a stored toy result (leaderboards/results/toy), so nothing is re-run."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import pytest

from benchmark.errors import BenchError

STORED = next(p for p in (Path(__file__).resolve().parent.parent / "leaderboards" / "results" / "toy" / "test" / "oracle" / "stratified-seed0.json",
                          Path(__file__).resolve().parent.parent / "leaderboards" / "results" / "toy" / "oracle" / "stratified-seed0.json") if p.is_file())
PUBLISHED = Path(__file__).resolve().parent.parent / "leaderboards" / "published.json"


def hostile_result(root: Path, change, name: str = "evil/stratified-seed0.json") -> Path:
    """A copy of a stored toy result under ``root/<name>``, edited by ``change(dict)``."""
    data = json.loads(STORED.read_text())
    change(data)
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
    return path


# --- bench check imports only registered generators or what the user names --------------------------------------


def evil_module(tmp_path: Path) -> tuple[str, Path]:
    marker = tmp_path / "imported.txt"
    code = (f"open({str(marker)!r}, 'w').write('ran')\n"
            "def G(**kwargs):\n"
            "    from benchmark.errors import BenchError\n"
            "    raise BenchError('the test factory refuses to build')\n")
    (tmp_path / "evil.py").write_text(code)
    return f"{tmp_path / 'evil.py'}:G", marker


def test_check_never_imports_a_spec_named_by_a_result_file(tmp_path):
    from benchmark.reports.check import check

    spec, marker = evil_module(tmp_path)
    hostile_result(tmp_path / "results", lambda d: d["generator"].update(spec=spec))
    lines = []
    report = check(tmp_path / "results", log=lines.append)
    assert not marker.exists(), "bench check imported code named by a result file"
    assert not report.ok
    assert "not a registered generator" in lines[-1] and "--allow-spec" in lines[-1]


def test_check_allow_spec_runs_code_the_user_names(tmp_path):
    from benchmark.reports.check import check

    spec, marker = evil_module(tmp_path)
    hostile_result(tmp_path / "results", lambda d: d["generator"].update(spec=spec))
    report = check(tmp_path / "results", allow_spec=[spec], log=lambda line: None)
    assert marker.exists()  # named on the command line: imported (its factory then refuses, so the row fails)
    assert not report.ok


def test_trusted_model_spec_accepts_registered_names_and_aliases():
    from benchmark.generators.registry import MODEL_ALIASES, MODELS
    from benchmark.safety import trusted_model_spec

    for spec in list(MODELS) + list(MODEL_ALIASES):
        assert trusted_model_spec(spec) == spec
    with pytest.raises(BenchError, match="allow-spec"):
        trusted_model_spec("os:system")


# --- names that become paths ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["..", ".", "", ".hidden", "a/b", "/abs", "../../../../tmp/x", "a\\b", "x\ny",
                                  "a" * 200, None, 3])
def test_check_name_refuses_what_is_not_one_plain_component(name):
    from benchmark.safety import check_name

    with pytest.raises(BenchError, match="not a safe name"):
        check_name(name, "protocol.name", "r.json")


@pytest.mark.parametrize("name", ["stratified", "vox1-s2f", "match-1ofN", "validation+test", "dlib-torch", "a.b_c"])
def test_check_name_accepts_the_suite_names(name):
    from benchmark.safety import check_name

    assert check_name(name, "x") == name


def test_inside_refuses_a_path_out_of_its_root(tmp_path):
    from benchmark.safety import inside

    assert inside(tmp_path, tmp_path / "tables" / "a.md") == tmp_path / "tables" / "a.md"
    with pytest.raises(BenchError, match="outside"):
        inside(tmp_path / "out", tmp_path / "out" / "tables" / ".." / ".." / "x.md")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "link").symlink_to(tmp_path)
    with pytest.raises(BenchError, match="outside"):
        inside(tmp_path / "out", tmp_path / "out" / "link" / "x.md")


@pytest.mark.parametrize("field,value", [("protocol", "../../../escape"), ("dataset", "../../..")])
def test_leaderboard_never_writes_outside_out_dir(tmp_path, field, value):
    from benchmark.reports.leaderboard import leaderboard

    key = "name" if field == "protocol" else "id"
    hostile_result(tmp_path / "results", lambda d: d[field].update({key: value}))
    out = tmp_path / "deep" / "out"
    with pytest.raises(BenchError, match=rf"{field}\.{key}.*evil/stratified-seed0\.json|evil/stratified-seed0\.json"
                                         rf".*{field}\.{key}"):
        leaderboard(tmp_path / "results", out, published=PUBLISHED)
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()
                     and "results" not in p.parts)
    assert written == [], f"files written: {written}"


def test_score_name_dotdot_is_refused_before_any_work(tmp_path):
    from benchmark.engine.config import default_result_path
    from benchmark.engine.submission import score

    with pytest.raises(BenchError, match="--name"):
        score(tmp_path / "no-such-folder", ["stratified"], "toy", name="..", results_dir=tmp_path / "results")
    with pytest.raises(BenchError, match="generator name"):
        default_result_path(tmp_path / "results", "toy", "..", "stratified", 0)
    # ordinary free-form names keep the path they always had
    assert default_result_path(tmp_path, "toy", "my faces", "stratified", 0) == tmp_path / "toy" / "my_faces" / \
        "stratified-seed0.json"


# --- strings into Markdown and CSV ---------------------------------------------------------------------------

HOSTILE = ("x|y\nnew line <script>alert(1)</script> [click](javascript:alert(1)) ![](http://evil.example/p.png) "
           "`code` *b*")


def test_markdown_and_csv_tables_escape_result_strings(tmp_path):
    from benchmark.reports.leaderboard import leaderboard

    def change(d):
        d["generator"].update(name="=HYPERLINK(\"http://evil\")" + HOSTILE, citation=HOSTILE, reference=HOSTILE)

    hostile_result(tmp_path / "results", change)
    files = leaderboard(tmp_path / "results", tmp_path / "out", published=PUBLISHED, write=False).files
    md = [text for rel, text in files.items()  # the stored result's own judge names the table (any judge)
          if re.search(r"/toy/stratified(--judge-[a-z0-9-]+)?\.md$", rel)]
    assert len(md) == 1
    for text in (md[0], files["README.md"]):
        assert "<script>" not in text
        rows = "\n".join(line for line in text.splitlines() if line.startswith("|"))
        assert not re.search(r"(?<!\\)\]\(", rows)  # no unescaped "](" in a table: no link or image can start
    table = [line for line in md[0].splitlines() if line.startswith("|")]
    header_cells = table[0].count("|") - table[0].count("\\|")
    for line in table:  # no extra column and no line break inside a row
        assert line.count("|") - line.count("\\|") == header_cells
    assert any("alert(1)" in line for line in table)  # the text is still shown, as text
    csv_text = next(text for rel, text in files.items()
                    if re.search(r"/toy/stratified(--judge-[a-z0-9-]+)?\.csv$", rel))
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert rows[0]["generator"].startswith("'=HYPERLINK")  # not run as a spreadsheet formula
    assert rows[0]["source"] == HOSTILE  # CSV quoting keeps the text whole, line break included


def test_md_text_escapes_every_structure_character():
    from benchmark.escape import md_code, md_text

    assert md_text("a|b") == "a\\|b"
    assert md_text("a\nb\r\nc") == "a b c"
    assert md_text("<img src=x onerror=alert(1)>") == "&lt;img src=x onerror=alert(1)>"
    assert md_text("[a](javascript:x)") == "\\[a\\](javascript:x)"
    assert md_text("plain words, 1.5 (x) - y") == "plain words, 1.5 (x) - y"
    assert md_code("a`b|c") == "``a`b\\|c``"


def test_check_cli_takes_allow_spec_repeatedly():
    from benchmark.cli import build_parser

    args = build_parser().parse_args(["check", "--allow-spec", "a.py:G", "--allow-spec", "pkg.mod:H"])
    assert args.allow_spec == ["a.py:G", "pkg.mod:H"]
    assert build_parser().parse_args(["check"]).allow_spec == []
