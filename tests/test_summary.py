"""The leaderboard summary (issue 23 §1, issue 19 §4): one table per data (dataset, data identity, split) under the
default judge, a row per generator, the headline metric of each protocol with its CI and paired rank bands,
references apart."""

import json
from pathlib import Path

import pytest

from benchmark.reports.summary import HEADLINES, summary_tables
from benchmark.results import load
from test_bands import scored
from test_leaderboard import fake_result, write


def _by_name(table):
    return {r.generator: r for r in table.rows + table.references}


def test_bands_references_apart_and_reference_lines(tmp_path):
    """c is 0.05 worse than a and b on every identity: a paired band of its own although the intervals overlap;
    the ceiling and the chance row are listed apart, unranked, and give the column's ceiling and chance."""
    s = {"a": scored(0.0, 1), "b": scored(0.001, 2), "c": scored(-0.05, 3), "oracle": scored(0.3, 4),
         "mean-face": scored(-0.1, 5)}
    for name, summary in s.items():
        ref = {"oracle": "ceiling", "mean-face": "chance"}.get(name, "")
        write(tmp_path, fake_result(name, 0, reference=ref, metrics={"accuracy": summary}, info={"chance": 0.5}))
    [table] = summary_tables(load(tmp_path))
    assert (table.dataset, table.data, table.split, table.judge) == ("vox1-mini", "registered", "test", "dlib-torch")
    assert table.heading == "vox1-mini · split test"
    [col] = table.columns
    assert (col.protocol, col.metric, col.label, col.paired) == ("stratified", "accuracy", "1:2 stratified", True)
    assert col.chance == 0.5 and col.ceiling == pytest.approx(s["oracle"]["value"]) and col.ceiling_generator == "oracle"
    assert col.detail == "tables/vox1-mini/stratified.md"
    assert [r.generator for r in table.references] == ["oracle", "mean-face"]  # ceiling, then chance
    assert [r.generator for r in table.rows][2] == "c" and {r.generator for r in table.rows[:2]} == {"a", "b"}
    cells = {r.generator: r.cells["stratified"] for r in table.rows + table.references}
    assert cells["a"].band == cells["b"].band == 1 and cells["c"].band == 2 and cells["c"].rank == 3
    assert cells["oracle"].rank is None and "reference" in cells["oracle"].unranked
    assert cells["c"].value == s["c"]["value"] and [cells["c"].ci_low, cells["c"].ci_high] == s["c"]["ci95"]


def test_other_data_other_split_other_judge_never_share_a_summary(tmp_path):
    write(tmp_path, fake_result("a", 0.7))
    part = fake_result("a", 0.9)
    part["dataset"].update(partial={"note": "5 of 189"}, manifest_sha256="p" * 64)
    write(tmp_path / "part", part)
    other_split = fake_result("a", 0.8)
    other_split["evaluated_split"] = "all"
    write(tmp_path / "all", other_split)
    sface = fake_result("b", 0.95)
    sface["judge"] = {"id": "sface-2021dec", "name": "sface", "weights_sha256": "s" * 64}
    write(tmp_path / "sface", sface)
    tables = summary_tables(load(tmp_path))
    keys = sorted((t.dataset, t.data, t.split) for t in tables)
    assert keys == [("vox1-mini", "p" * 64, "test"), ("vox1-mini", "registered", "all"),
                    ("vox1-mini", "registered", "test")]
    for t in tables:
        assert [r.generator for r in t.rows] == ["a"]  # b was scored by another judge
    part_table = next(t for t in tables if t.data != "registered")
    assert "partial copy" in part_table.heading and part_table.slug == "vox1-mini-pppppppp--test"
    assert part_table.rows[0].cells["stratified"].value == 0.9
    [sf] = summary_tables(load(tmp_path), judge="sface")
    assert [r.generator for r in sf.rows] == ["b"]


def test_headline_of_1_to_n_falls_back_to_the_largest_n(tmp_path):
    ns = {f"acc@N={n}": {"value": 1 / n + 0.1, "ci95": [0.0, 0.5], "n": 30, "n_identities": 12} for n in (2, 5, 8)}
    write(tmp_path, fake_result("a", 0, protocol="match-1ofN", metrics=ns))
    [table] = summary_tables(load(tmp_path))
    assert (table.columns[0].metric, table.columns[0].label) == ("acc@N=8", "1:8")
    ns["acc@N=10"] = {"value": 0.2, "ci95": [0.1, 0.3], "n": 30, "n_identities": 12}
    write(tmp_path, fake_result("a", 0, protocol="match-1ofN", metrics=ns))
    [table] = summary_tables(load(tmp_path))
    assert (table.columns[0].metric, table.columns[0].label) == ("acc@N=10", "1:10")


def test_one_run_per_generator_lowest_seed_then_latest():
    import pandas as pd

    from benchmark.reports.summary import _one_per_generator

    rows = pd.DataFrame({"generator": ["a", "a", "a"], "seed": pd.array([1, 0, 0], dtype="Int64"),
                         "created": ["2026-03", "2026-01", "2026-02"], "value": [1.0, 2.0, 3.0]})
    assert _one_per_generator(rows)["value"].tolist() == [3.0]


def test_headline_metrics_are_the_keys_the_stored_results_hold():
    """Each headline metric (or, for 1:N, an acc@N= metric) is a key of the stored results of its protocol."""
    root = Path(__file__).resolve().parents[1] / "leaderboards" / "results"
    if not root.is_dir():
        pytest.skip("no stored results")
    keys: dict[str, set] = {}
    for p in root.rglob("*.json"):
        data = json.loads(p.read_text())
        keys.setdefault(data["protocol"]["name"], set()).update(data["scores"])
    for head in HEADLINES:
        assert head.protocol in keys, head
        assert head.metric in keys[head.protocol] or any(k.startswith(head.fallback_prefix or "\0")
                                                         for k in keys[head.protocol]), head
