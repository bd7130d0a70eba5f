"""Issue 20 §5: true-face tiers scored apart with the other-video tier as the headline, and identity-weighted values
beside the utterance-weighted ones (known answers on hand-made trials; the stored vox1-s2f results)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmark.errors import BenchError
from benchmark.metrics.aggregate import (identity_multiplicities, identity_weights, pigeonhole_bootstrap_ci,
                                         pigeonhole_replicates, summarize)
from benchmark.reports.check import compare
from benchmark.tasks.base import aggregate
from benchmark.trials.builders import trial_tiers, true_face_pool
from protocols import get_protocol

VOX = replace(get_protocol("unstratified"), gallery_source="voxceleb", bootstrap=300)
ROOT = Path(__file__).resolve().parents[1]


def test_trial_tiers_agree_with_the_pool_rule():
    faces = {"id1": ["voxceleb/id1/vidA/00001", "voxceleb/id1/vidA/00002", "voxceleb/id1/vidB/00003"],
             "id2": ["voxceleb/id2/vidC/00001", "voxceleb/id2/vidC/00002"],
             "id3": ["voxceleb/id3/vidD/00001"]}
    probes = ["id1/vidA/00001", "id1/vidB/00003", "id2/vidC/00001", "id2/vidC/00002", "id3/vidD/00001"]
    rng = np.random.default_rng(0)
    rows, expected = [], []
    for p in probes:
        pool, tier = true_face_pool(VOX, p, faces[p.split("/")[0]])
        for _ in range(4):
            rows.append((p, pool[int(rng.integers(len(pool)))]))
            expected.append(tier)
    got = trial_tiers(VOX, [p for p, _ in rows], [f for _, f in rows])
    assert list(got) == expected
    assert set(expected) == {"other-video", "same-video", "same-clip"}  # every tier is exercised
    assert list(trial_tiers(get_protocol("unstratified"), ["a/b/c"], ["vggface/N/1"])) == ["other-source"]
    with pytest.raises(ValueError):
        trial_tiers(VOX, probes, probes[:2])


def test_headline_is_the_other_video_tier_and_each_tier_is_scored():
    # speaker a (other-video, always right), b (other-video, right 1 of 2), c (same-clip, always wrong)
    speakers = ["a", "a", "b", "b", "c", "c"]
    tiers = ["other-video"] * 4 + ["same-clip"] * 2
    values = {"accuracy": torch.tensor([1., 1., 1., 0., 0., 0.])}
    strata = ["m", "m", "f", "f", "m", "m"]
    scores, by = aggregate(values, speakers, strata, VOX, seed=0, tiers=tiers)
    assert scores["accuracy"]["value"] == 0.75 and scores["accuracy"]["n"] == 4  # other-video trials only
    assert "replicates" in scores["accuracy"]  # the headline keeps them for paired comparisons
    assert by["true_face=all"]["accuracy"]["value"] == pytest.approx(0.5)  # all six pooled
    assert by["true_face=same-clip"]["accuracy"]["value"] == 0.0
    assert by["true_face=other-video"]["accuracy"]["value"] == 0.75
    assert by["gender=m"]["accuracy"]["n"] == 2  # the gender strata are of the headline's trials
    assert not any("replicates" in s for block in by.values() for s in block.values())
    # without tiers (or all "other-source"): every trial, as before
    plain, plain_by = aggregate(values, speakers, strata, VOX, seed=0)
    assert plain["accuracy"]["value"] == pytest.approx(0.5) and set(plain_by) == {"gender=f", "gender=m"}
    same, _ = aggregate(values, speakers, strata, VOX, seed=0, tiers=["other-source"] * 6)
    assert same["accuracy"]["value"] == plain["accuracy"]["value"]
    # no other-video trial: the headline pools what there is
    only, only_by = aggregate(values, speakers, strata, VOX, seed=0, tiers=["same-clip"] * 6)
    assert only["accuracy"]["value"] == pytest.approx(0.5) and "true_face=same-clip" in only_by


def test_identity_weighted_value_is_the_mean_of_speaker_means():
    values = torch.tensor([1., 1., 1., 1., 0., 0.5])
    ids = ["a", "a", "a", "a", "b", "c"]
    r = summarize(values, ids, n_boot=200, level=0.95, seed=0)
    assert r["value"] == pytest.approx(4.5 / 6)
    assert r["value_identity_weighted"] == pytest.approx((1.0 + 0.0 + 0.5) / 3)
    lo, hi = r["ci95_identity_weighted"]
    assert 0.0 <= lo <= r["value_identity_weighted"] <= hi <= 1.0
    # balanced speakers: the two weightings agree exactly, value and interval
    bal = summarize(torch.tensor([1., 0., 1., 1., 0., 0.]), ["a", "a", "b", "b", "c", "c"], n_boot=200, level=0.95,
                    seed=0, imposters=["b", "c", "a", "c", "a", "b"])
    assert bal["value_identity_weighted"] == pytest.approx(bal["value"])
    assert bal["ci95_identity_weighted"] == pytest.approx(bal["ci95"])


@pytest.mark.parametrize("m_imp", [1, 3])
def test_weighted_pigeonhole_replicates_match_a_direct_sum(m_imp):
    gen = torch.Generator().manual_seed(1)
    k, n = 6, 40
    spk = torch.randint(0, k, (n,), generator=gen)
    imp = torch.stack([(spk + 1 + j) % k for j in range(m_imp)], 1)  # [N, M] distinct, never the speaker
    values = torch.rand(n, generator=gen, dtype=torch.float64)
    w = identity_weights(spk)
    mult = identity_multiplicities(k, 50, seed=3)  # [B, K]
    sums, weights = pigeonhole_replicates(values, spk, imp[:, 0] if m_imp == 1 else imp, mult, w)
    if m_imp == 1:
        tw = mult[:, spk] * mult[:, imp[:, 0]]  # [B, N] Owen's pigeonhole weights
    else:
        tw = mult[:, spk] + mult[:, imp].sum(2) - m_imp  # [B, N] first-order weights
    assert torch.allclose(sums, (tw * w * values).sum(1)) and torch.allclose(weights, (tw * w).sum(1))
    lo, hi, _ = pigeonhole_bootstrap_ci(values, spk, imp[:, 0] if m_imp == 1 else imp, n_boot=200, seed=0,
                                        trial_weights=w)
    assert float(values.min()) <= lo <= hi <= float(values.max())


def test_check_compares_the_identity_weighted_value():
    summary = {"value": 0.5, "ci95": [0.4, 0.6], "n": 10, "n_identities": 3, "value_identity_weighted": 0.55,
               "ci95_identity_weighted": [0.45, 0.65]}
    base = {"protocol": {"name": "p", "version": 1}, "trials": {"sha256": "a"}, "dataset": {"manifest_sha256": "m"},
            "scores": {"accuracy": summary}, "strata": {}}
    same = json.loads(json.dumps(base))
    assert all(r.ok for r in compare("r.json", base, same, "numeric"))
    moved = json.loads(json.dumps(base))
    moved["scores"]["accuracy"]["value_identity_weighted"] = 0.56  # one point: beyond any drift tolerance
    rows = compare("r.json", base, moved, "numeric")
    assert [r.metric for r in rows if not r.ok] == ["accuracy (identity-weighted)"]
    gone = json.loads(json.dumps(base))
    del gone["scores"]["accuracy"]["value_identity_weighted"]
    assert not all(r.ok for r in compare("r.json", base, gone, "numeric"))


def _stored_vox1_s2f():
    root = ROOT / "leaderboards" / "results" / "vox1-s2f"
    return sorted(root.rglob("*.json")) if root.is_dir() else []


@pytest.mark.parametrize("path", [p for p in _stored_vox1_s2f()
                                  if json.loads(p.read_text()).get("trials", {}).get("true_face")],
                         ids=lambda p: str(p.relative_to(ROOT / "leaderboards" / "results")))
def test_stored_vox1_s2f_headlines_are_the_other_video_tier(path):
    result = json.loads(path.read_text())
    tiers = result["trials"]["true_face"]["trials"]
    assert result["trials"]["true_face"]["headline"] == ("other-video" if tiers["other-video"] else
                                                          "all tiers (no trial has a true face of another video)")
    for tier, count in tiers.items():
        assert (f"true_face={tier}" in result["strata"]) == bool(count)
    if result["protocol"]["spec"]["task"] in ("match-1to2", "feature"):  # one value per trial of every metric
        for metric, head in result["scores"].items():
            pooled = result["strata"]["true_face=all"][metric]
            assert head["n"] + head.get("failed_excluded", 0) == (tiers["other-video"] or sum(tiers.values()))
            assert pooled["n"] + pooled.get("failed_excluded", 0) == sum(tiers.values())
    for summary in result["scores"].values():
        if summary.get("n"):
            assert "value_identity_weighted" in summary and len(summary["ci95_identity_weighted"]) == 2


@pytest.mark.parametrize("present, headline", [(("other-video", "same-clip", "all"), "other-video"),
                                               (("same-video", "same-clip", "all"), "all")])
def test_tier_table_names_the_tier_the_headline_scores(present, headline):
    from benchmark.reports.leaderboard import _fmt_value
    from benchmark.reports.rows import MEASURED, Row, Table
    from benchmark.reports.tiers import tiers_markdown

    cell = (0.6, 0.5, 0.7, 10, 3)
    row = Row(generator="g", kind=MEASURED, scores={"accuracy": cell[:3]},
              tiers={t: {"accuracy": cell} for t in present})
    table = Table(dataset="d", protocol="unstratified", version=2, rows=[row], metrics=["accuracy"])
    text = tiers_markdown(table, _fmt_value)
    assert f"{headline} (headline)" in text and text.count("(headline)") == 1
    assert ("other-video trials" in text) == (headline == "other-video")


def test_sheet_and_margin_check_compare_all_trials_with_the_all_tier_value():
    """The contact sheet and the margin histograms recompute every trial's 1:2 outcome; with true-face tiers the
    headline scores only the other-video tier, so the check must compare with ``true_face=all`` (a known answer: a
    vox1-s2f result whose headline and pooled values differ), and still fail on a real difference."""
    import numpy as np

    from benchmark.reports.margins import _check_outcome

    outcome = np.array([1, 1, 0, 0.5], dtype=np.float32)  # mean 0.625 over all four trials
    result = {"protocol": {"name": "stratified"}, "scores": {"accuracy": {"value": 0.5}},  # other-video tier only
              "strata": {"true_face=all": {"accuracy": {"value": 0.625}}}}
    _check_outcome(outcome, result)
    _check_outcome(outcome, {"protocol": {"name": "stratified"}, "scores": {"accuracy": {"value": 0.625}}})
    with pytest.raises(BenchError, match="true_face=all"):
        _check_outcome(outcome, {**result, "strata": {"true_face=all": {"accuracy": {"value": 0.6}}}})
