"""Ranks that respect the intervals (issue 20 §3): paired differences from the stored bootstrap replicates,
Holm's correction, bands, shared ranks for equal values, references and flagged rows shown but not ranked, rows of
another population tabled apart, and `bench compare`."""

import json
import math

import numpy as np
import pytest
import torch

from benchmark.cli import main
from benchmark.metrics.aggregate import summarize
from benchmark.metrics.paired import decode_replicates, holm, paired_difference
from benchmark.reports.leaderboard import build_tables, leaderboard
from test_leaderboard import fake_result, write

K, PER = 30, 10
IDS = [f"id{k:03d}" for k in range(K) for _ in range(PER)]


def scored(shift: float, seed: int = 0, effects_seed: int = 7) -> dict:
    """A summary with replicates of per-trial values = a shared identity effect (SD 0.2) + ``shift`` + small
    noise: rows of two generators share the identity effects, as rows scored on the same trials do."""
    effects = np.random.default_rng(effects_seed).normal(0, 0.2, K)
    noise = np.random.default_rng(100 + seed).normal(0, 0.02, K * PER)
    values = torch.from_numpy(0.6 + np.repeat(effects, PER) + shift + noise)
    return summarize(values, IDS, n_boot=1000, level=0.95, seed=0, keep_replicates=True)


def test_paired_difference_of_a_constant_shift_is_that_shift():
    a = scored(0.05, seed=1)
    b = scored(0.0, seed=1)  # same noise: A − B = 0.05 on every trial
    out = paired_difference(a["value"], decode_replicates(a["replicates"]), b["value"],
                            decode_replicates(b["replicates"]))
    assert out["difference"] == pytest.approx(0.05)
    assert out["ci95"] == pytest.approx([0.05, 0.05], abs=1e-6) and out["p_value"] == pytest.approx(1 / 1000)


def test_holm_known_answer():
    # Holm 1979: sorted p (0.01, 0.03, 0.04) * (3, 2, 1) = (0.03, 0.06, 0.04) -> running max (0.03, 0.06, 0.06)
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert math.isnan(holm([0.2, math.nan])[1]) and holm([0.2, math.nan])[0] == pytest.approx(0.2)


def test_paired_bands_separate_what_overlapping_intervals_cannot_and_keep_ties_together(tmp_path):
    """A and B differ by noise only (one band); C is 0.05 worse on every identity: its unpaired 95 % interval
    overlaps A's, but the paired difference is significant, so it starts band 2. D equals C exactly: same rank.
    The ceiling and a flagged row are shown, not ranked."""
    root = tmp_path / "results"
    summaries = {"a": scored(0.0, 1), "b": scored(0.001, 2), "c": scored(-0.05, 3)}
    summaries["d"] = dict(summaries["c"])
    summaries["oracle"] = scored(0.3, 4)
    summaries["flagged"] = {**scored(0.2, 5), "flag": "only 3 identities"}
    assert summaries["c"]["ci95"][1] > summaries["a"]["ci95"][0]  # the intervals overlap
    for name, s in summaries.items():
        write(root, fake_result(name, s["value"], reference="ceiling" if name == "oracle" else "",
                                metrics={"accuracy": s}))
    table = next(t for t in build_tables([(p.name, json.loads(p.read_text())) for p in sorted(root.rglob("*.json"))])
                 if t.dataset == "vox1-mini")
    rows = {r.generator: r for r in table.rows}
    assert {rows["a"].rank, rows["b"].rank} == {1, 2} and rows["a"].band == rows["b"].band == 1
    assert rows["c"].band == 2 and rows["c"].rank == rows["d"].rank == 3 and rows["d"].band == 2
    assert rows["oracle"].rank is None and "reference" in rows["oracle"].unranked
    assert rows["flagged"].rank is None and "flagged" in rows["flagged"].unranked
    assert [r.generator for r in table.rows][:4] in (["a", "b", "c", "d"], ["b", "a", "c", "d"])
    ab = next(c for c in table.comparisons if {c["a"], c["b"]} == {"a", "b"})
    assert ab["paired"] and not ab["significant"]
    out = leaderboard(root, tmp_path / "boards")
    text = (tmp_path / "boards" / "tables" / "vox1-mini" / "stratified.md").read_text()
    assert "3 (band 2)" in text and "Holm" in text and out.tables


def test_rows_on_the_oracles_population_are_tabled_apart_with_the_cause(tmp_path):
    root = tmp_path / "results"
    write(root, fake_result("random-face", 0.5))
    oracle = fake_result("oracle", 0.9, reference="ceiling")
    oracle["trials"]["sha256"] = "o" * 64
    oracle["dataset"]["excluded_identities"] = [{"identity": "id1", "reason": "only 1 voxceleb face: the oracle shows "
                                                 "the crop (benchmark.trials.builders.drop_single_face_identities)"}]
    write(root, oracle)
    tables = [t for t in leaderboard(root, tmp_path / "boards").tables if t.dataset == "vox1-mini"]
    assert len(tables) == 2 and {t.population for t in tables} == {"", "speakers with >= 2 faces"}
    apart = (tmp_path / "boards" / "tables" / "vox1-mini" / "stratified--two-face-speakers.md").read_text()
    assert "Population: speakers with >= 2 faces" in apart and "oracle" in apart
    assert "oracle" not in (tmp_path / "boards" / "tables" / "vox1-mini" / "stratified.md").read_text()
    readme = (tmp_path / "boards" / "README.md").read_text()
    assert "seeds or versions" not in readme


def test_bench_compare_prints_the_paired_difference(tmp_path, capsys):
    root = tmp_path / "results"
    pa = write(root, fake_result("a", 0, metrics={"accuracy": scored(0.05, 1)}))
    pb = write(root, fake_result("b", 0, metrics={"accuracy": scored(0.0, 1)}))
    assert main(["compare", str(pa), str(pb), "--metric", "accuracy"]) == 0
    out = capsys.readouterr().out
    assert "a − b on accuracy: +0.05" in out and "p = 0.001" in out
    other = fake_result("c", 0, metrics={"accuracy": scored(0.0, 1)})
    other["trials"]["sha256"] = "x" * 64
    pc = write(root, other)
    assert main(["compare", str(pa), str(pc), "--metric", "accuracy"]) != 0
    assert "trials.sha256" in capsys.readouterr().err


def _judge_table(judge, sha, summaries, reference=()):
    from benchmark.reports.tables import MEASURED, Row, Table

    rows = [Row(generator=g, kind=MEASURED, scores={"accuracy": (s["value"], *s["ci95"])}, judge_sha256=sha,
                replicates={"accuracy": s["replicates"]}, trials_sha256="t" * 64,
                reference="ceiling" if g in reference else "") for g, s in summaries.items()]
    return Table(dataset="d", protocol="stratified", version=2, judge=judge, judge_id=judge, metrics=["accuracy"],
                 rows=rows)


def test_judge_agreement_parity_references_tau_interval_and_significant_discordance():
    """Same weights: parity, no τ. References are left out of τ. τ has a bootstrap interval. A pair is discordant
    only where both judges' paired differences are significant with opposite signs (g1/g2 here); g3/g4, ordered
    oppositely by noise alone, is not listed."""
    from benchmark.reports.agreement import judge_agreement

    x = {"g1": scored(0.10, 1), "g2": scored(0.0, 2), "g3": scored(-0.1, 3), "g4": scored(-0.1005, 4),
         "oracle": scored(0.4, 5)}
    y = {"g1": scored(0.0, 6), "g2": scored(0.10, 7), "g3": scored(-0.1005, 8), "g4": scored(-0.1, 9),
         "oracle": scored(0.4, 10)}
    [r] = judge_agreement([_judge_table("x", "a" * 64, x, {"oracle"}), _judge_table("y", "b" * 64, y, {"oracle"})])
    assert r.n == 4 and "oracle" not in r.generators
    assert r.disagree == ("g1 > g2 (x) / g2 > g1 (y)",)
    assert r.tau_ci is not None and r.tau_ci[0] <= r.tau <= r.tau_ci[1]
    [p] = judge_agreement([_judge_table("dlib", "a" * 64, x), _judge_table("dlib-torch", "a" * 64, x)])
    assert p.tau is None and p.parity == 0.0


def test_trained_rows_say_re_implementation_and_closed_set_tables_say_so(tmp_path):
    from benchmark.reports.tables import source_label

    gen = {"citation": "Wen, Singh, Raj, NeurIPS 2019", "notes": "face model: none; trained 1500/1500 steps, batch 16, "
           "seed 0, on 32 training identities of toy (manifest f35de555417e); config {}"}
    assert source_label(gen) == ("re-implementation, trained here on 32 identities of toy at 1500 steps (batch 16); "
                                 "after Wen, Singh, Raj, NeurIPS 2019")
    assert source_label({"citation": "a paper"}) == "a paper"
    assert source_label({**gen, "revision": "step1500"}) == source_label(gen)  # the paper's recipe: no options named
    small = {**gen, "revision": "step3500-resemblyzer-align0.6-flip-mixup1-noise0.05-decbatch32"}
    assert source_label(small) == ("re-implementation, trained here on 32 identities of toy at 1500 steps (batch 16; "
                                   "small-data options resemblyzer, align0.6, flip, mixup1, noise0.05, decbatch32); "
                                   "after Wen, Singh, Raj, NeurIPS 2019")
    root = tmp_path / "results"
    write(root, fake_result("nearest-voice", 0.8, protocol="id-topk-seen", metrics={"top-1": {
        "value": 0.8, "ci95": [0.7, 0.9], "n": 49, "n_identities": 22}}))
    leaderboard(root, tmp_path / "boards")
    [path] = (tmp_path / "boards" / "tables" / "vox1-mini").glob("id-topk-seen*.md")
    text = path.read_text()
    assert "Closed set" in text


def test_the_agreement_table_keeps_its_columns():
    """A parity cell must not break the Markdown table (no "|" inside a cell)."""
    from benchmark.reports.agreement import agreement_markdown, judge_agreement

    x = {"g1": scored(0.1, 1), "g2": scored(0.0, 2)}
    text = agreement_markdown(judge_agreement([_judge_table("dlib", "a" * 64, x), _judge_table("t", "a" * 64, x)]))
    widths = {line.count("|") for line in text.splitlines()}
    assert len(widths) == 1 and "parity" in text
