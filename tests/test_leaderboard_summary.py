"""`bench leaderboard`'s summary and plots (issue 23 §1, §2, §5) and its grouping by data identity (issue 19 §4):
the summary first in the README, linked to the detail tables; a PNG and an SVG per summary, checked by the numbers
they were drawn from; the command prints the summary and what it wrote, never the whole README."""

import hashlib
import json
import re

import pytest
from PIL import Image

from benchmark.cli import main
from benchmark.reports.leaderboard import MEASURED, leaderboard
from benchmark.reports.plots import image_digest, plot_data, render
from test_leaderboard import fake_result, results, table_rows, write  # noqa: F401 (fixture)


def test_readme_starts_with_the_summary_whose_links_resolve(results, tmp_path):  # noqa: F811
    out = tmp_path / "boards"
    output = leaderboard(results, out)
    readme = output.readme
    assert readme.index("## Summary") < readme.index("## Detail tables") < readme.index("## vox1-mini")
    summary = readme[readme.index("## Summary"):readme.index("## Detail tables")]
    mini = summary[summary.index("Summary: vox1-mini · split test"):summary.index("Summary: toy")]
    rows = [line for line in mini.splitlines() if line.startswith("| ")]
    learned = next(r for r in rows if "learned" in r)
    assert "70.0 [60.0, 80.0] b1" in learned and learned.startswith("| 1 ")
    oracle = next(r for r in rows if "oracle" in r)
    assert oracle.startswith("| ceiling") and "99.0 [97.0, 100.0]" in oracle and " b1" not in oracle
    assert "trained against the judge" in mini  # a footnote, not a column
    anchors = re.findall(r"\]\(#([^)]+)\)", summary)
    assert "vox1-mini--stratified" in anchors and "summary-vox1-mini--test" in anchors
    for anchor in anchors:
        assert f'<a id="{anchor}"></a>' in readme, anchor
    links = re.findall(r"\]\(((?:tables|plots)/[^)]+)\)", summary)
    assert "tables/vox1-mini/stratified.md" in links and "plots/vox1-mini--test.png" in links
    for link in links:
        assert (out / link).is_file(), link


def test_plots_are_drawn_from_their_numbers_and_checked_by_them(results, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "boards"
    output = leaderboard(results, out)
    [mini] = [s for s in output.summaries if s.dataset == "vox1-mini"]
    base = out / "plots" / mini.slug
    sidecar = json.loads((base.with_suffix(".json")).read_text())
    [col] = sidecar["columns"]
    got = {r["generator"]: (r["value"], r["ci95"], r["reference"]) for r in col["rows"]}
    assert got["learned"] == (0.7, [0.6, 0.8], "") and got["oracle"] == (0.99, [0.97, 1.0], "ceiling")
    assert col["ceiling"] == 0.99 and col["percent"] and sidecar == plot_data(mini)
    stamp = hashlib.sha256(base.with_suffix(".json").read_bytes()).hexdigest()
    with Image.open(base.with_suffix(".png")) as im:
        assert im.size[0] > 300 and im.size[1] > 150
    assert image_digest(base.with_suffix(".png")) == image_digest(base.with_suffix(".svg")) == stamp
    assert render(sidecar) == render(sidecar)  # no date, no version, fixed hash salt: the same bytes again
    args = ["leaderboard", "--results-dir", str(results), "--out-dir", str(out), "--quiet"]
    assert main(args + ["--check"]) == 0
    other = json.loads(json.dumps(sidecar))
    other["columns"][0]["rows"][0]["value"] = 0.1
    base.with_suffix(".png").write_bytes(render(other)[0])  # an image of other numbers
    base.with_suffix(".svg").unlink()
    assert main(args + ["--check"]) == 1
    err = capsys.readouterr().err
    assert f"plots/{mini.slug}.png" in err and f"plots/{mini.slug}.svg" in err and ".json" not in err
    assert main(args) == 0 and main(args + ["--check"]) == 0


def test_the_command_prints_the_summary_and_what_it_wrote_not_the_readme(results, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "boards"
    assert main(["leaderboard", "--results-dir", str(results), "--out-dir", str(out)]) == 0
    text = capsys.readouterr().out
    assert "## Summary" in text and "## Detail tables" not in text and "Files: [`tables/" not in text
    assert f"{out / 'README.md'} (" in text and "plots under" in text and "vox1-mini--test.png" in text
    assert len(text) < len((out / "README.md").read_text()) / 2


def test_other_data_gets_its_own_tables_and_paper_rows_stay_with_their_data(tmp_path):
    root = tmp_path / "results"
    write(root, fake_result("a", 0.7))
    part = fake_result("a", 0.9)
    part["dataset"].update(partial={"note": "partial copy: 5 of 189 test identities"}, manifest_sha256="p" * 64)
    write(root / "copy", part)
    vgg = fake_result("b", 0.6, dataset="vox1-vggface")
    write(root, vgg)
    output = leaderboard(root, tmp_path / "boards")
    tables = {(t.dataset, t.data, t.protocol): t for t in output.tables}
    full, copy = tables[("vox1-mini", "registered", "stratified")], tables[("vox1-mini", "p" * 64, "stratified")]
    assert [r.scores["accuracy"][0] for r in full.rows] == [0.7] and [r.scores["accuracy"][0] for r in copy.rows] == [0.9]
    assert all(r.kind == MEASURED for r in full.rows + copy.rows)  # no paper row beside other data
    assert "partial copy pppppppppppp" in copy.heading and copy.folder == "vox1-mini-pppppppp"
    text = (tmp_path / "boards" / "tables" / "vox1-mini-pppppppp" / "stratified.md").read_text()
    assert "data: vox1-mini · split test · partial copy pppppppppppp" in text
    home = tables[("vox1-vggface", "registered", "stratified")]
    assert {r.generator for r in home.rows} == {"b", "SVHF", "DIMNets-I", "DIMNets-G", "Wen et al. GAN"}
    assert [r.generator for r in home.rows if r.rank is not None] == ["b"]  # reported rows are never ranked
    assert {(s.dataset, s.data) for s in output.summaries} == {("vox1-mini", "registered"), ("vox1-mini", "p" * 64),
                                                                ("vox1-vggface", "registered")}


def test_published_rows_of_unknown_data_are_refused_with_the_fix(tmp_path):
    from benchmark.errors import BenchError
    from benchmark.reports.tables import load_published

    pub = {"sources": {"s": "a paper"}, "rows": [{"generator": "g", "protocol": "stratified", "metrics": {"accuracy": 60},
                                                "unit": "%", "source": "s", "where": "Table 1", "data": "my lab"}]}
    path = tmp_path / "published.json"
    path.write_text(json.dumps(pub))
    with pytest.raises(BenchError, match="row 0 .g. was measured on data this suite does not know .*\"dataset\""):
        load_published(path)
    pub["rows"][0].update(dataset="vox1-vggface", split="test")
    path.write_text(json.dumps(pub))
    assert load_published(path)[0][0]["values"] == {"accuracy": 0.6}


def test_hostile_strings_stay_text_in_the_summary_and_the_plot(tmp_path):
    """Names and citations from a result are escaped in the summary's Markdown (no link, image or HTML can start)
    and drawn literally on the plot (no mathtext: a "$" in a name does not stop the drawing)."""
    from test_trust_security import HOSTILE

    name = "=cmd|' /C calc'!A0 $\\nocommand{$ " + HOSTILE  # invalid mathtext: must be drawn as plain text
    hostile = fake_result("a", 0.7)
    hostile["generator"]["name"] = name
    write(tmp_path / "results", hostile)
    write(tmp_path / "results", fake_result("b", 0.6, reference=HOSTILE))
    bad = fake_result("c", 0.5)
    bad["generator"]["citation"] = HOSTILE
    write(tmp_path / "results", bad)
    output = leaderboard(tmp_path / "results", tmp_path / "out")
    summary = output.summary
    assert "<script>" not in summary and "&lt;script>" in summary
    assert not re.search(r"(?<!\\)\]\((javascript|http)", summary)  # every "](" from a result is escaped
    for line in summary.splitlines():
        if line.startswith("|"):
            assert not re.search(r"(?<!\\)\]\(", line), line
    [mini] = output.summaries
    png = tmp_path / "out" / "plots" / f"{mini.slug}.png"
    assert image_digest(png) == hashlib.sha256((png.with_suffix(".json")).read_bytes()).hexdigest()


def test_judge_agreement_never_compares_judges_across_data():
    from benchmark.reports.agreement import judge_agreement
    from benchmark.reports.leaderboard import Row, Table

    def table(judge, data, values):
        return Table(dataset="d", protocol="stratified", version=2, judge=judge, judge_id=judge, metrics=["accuracy"],
                     data=data, rows=[Row(generator=g, kind=MEASURED, scores={"accuracy": (v, None, None)},
                                          judge_sha256=judge) for g, v in values.items()])

    a = {"g1": 0.9, "g2": 0.7, "g3": 0.6}
    assert judge_agreement([table("x", "registered", a), table("y", "f" * 64, a)]) == []
    [r] = judge_agreement([table("x", "f" * 64, a), table("y", "f" * 64, a)])
    assert r.dataset == "d-ffffffff" and r.tau == 1.0
