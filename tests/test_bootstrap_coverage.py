"""benchmarks/bootstrap_coverage.py's 1:N designs (issue 20 §5): stratified and unbalanced designs draw trials as
``match-1ofN(-stratified)`` does, keep the exact truth, and the study returns every scope and interval (tiny reps:
these check the machinery, not the coverage; the table is in benchmarks/README.md)."""

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bootstrap_coverage as bc  # noqa: E402
import coverage_designs as cd  # noqa: E402

S2F_TEST_STRAT = cd.from_counts("vox1-s2f test", cd.S2F_TEST, True)


def test_designs_hold_the_real_counts():
    d = S2F_TEST_STRAT
    assert (d.k, int(d.clips.sum()), int((d.strata == 0).sum())) == (22, 43, 9)  # dataset README: test 22 / 43 (9 f)
    a = cd.from_counts("vox1-s2f all", cd.S2F_ALL, True)
    assert (a.k, int(a.clips.sum())) == (130, 328)
    assert sorted(set(a.clips.tolist())) == [1, 2, 3, 4, 8]
    assert cd.balanced(22).k == 22 and cd.balanced(30, stratified=True).pool_sizes().tolist() == [15] * 30


def test_real_counts_match_the_manifest():
    root = ROOT / "data" / "vox1-s2f"
    if not (root / "vox1_meta.csv").exists():
        pytest.skip("vox1-s2f data absent")
    from benchmark.data.datasets import load_dataset

    m = load_dataset("vox1-s2f", progress=False)
    assert cd.manifest_counts(m, ("test",)) == cd.S2F_TEST
    assert cd.manifest_counts(m, ("train", "validation", "test")) == cd.S2F_ALL


def test_n_is_capped_at_the_smallest_stratum_as_the_protocol_caps_it():
    assert S2F_TEST_STRAT.scored_n(10) == 9 and S2F_TEST_STRAT.scored_n(5) == 5
    assert cd.from_counts("t", cd.S2F_TEST, False).scored_n(10) == 10
    with pytest.raises(ValueError, match="smallest candidate pool"):
        cd.simulate(S2F_TEST_STRAT, 9, torch.Generator().manual_seed(0), sb=0.7)


def test_stratified_unbalanced_trials_follow_the_protocol_rule():
    d = S2F_TEST_STRAT
    values, spk, imp = cd.simulate(d, 8, torch.Generator().manual_seed(1), sb=0.7)
    assert values.shape == (43 * 3,) and imp.shape == (43 * 3, 8)
    assert np.bincount(spk.numpy(), minlength=22).tolist() == (d.clips * 3).tolist()  # 3 trials per utterance
    st = torch.from_numpy(d.strata)
    assert bool((st[imp] == st[spk][:, None]).all())  # imposters from the speaker's stratum only
    assert bool((imp != spk[:, None]).all())
    assert all(len(set(row)) == 8 for row in imp.tolist())  # distinct


@pytest.mark.parametrize("design, reps", [(S2F_TEST_STRAT, 150),
                                          (cd.from_counts("vox1-s2f all", cd.S2F_ALL, True), 40)])
def test_truth_formula_holds_for_stratified_unbalanced_designs(design, reps):
    # Identity effects come from one population whatever the stratum or clip count, so every trial's expectation
    # is the unstratified truth. Mean over `reps` datasets (simulation only): within 4 Monte-Carlo SE of it.
    m, params = 4, dict(sa=0.7, sb=0.7)
    gen = torch.Generator().manual_seed(2)
    est = np.array([float(cd.simulate(design, m, gen, **params)[0].mean()) for _ in range(reps)])
    se = est.std(ddof=1) / math.sqrt(est.size)
    assert abs(est.mean() - bc.truth(m, **params)) < 4 * se, (est.mean(), bc.truth(m, **params), se)


def test_study_returns_every_scope_and_interval():
    out = bc.study_1ofn(S2F_TEST_STRAT, 9, "imposter", reps=3, n_boot=50, seed=0)
    assert set(out) == {"pooled", "stratum f", "stratum m"}
    assert [out[s]["trials"] for s in ("pooled", "stratum f", "stratum m")] == [129, 48, 81]
    assert set(out["pooled"]) >= {"one-way", "first-order", "product", "strata resampled"}
    assert "product" not in out["stratum f"]
    for o in out.values():
        assert o["truth"] == pytest.approx(bc.truth(8, sb=bc.SD))
        assert 0 <= o["first-order"][0] <= 1 and o["first-order"][1] >= 0 and o["ideal"] >= 0
    # N = 9 = the f stratum's size: every f trial holds all 9 f identities, so the library falls back to the
    # one-way interval and flags it (and flags < 10 identities); the pooled interval is neither
    assert out["stratum f"]["first-order"][2:] == (1.0, 1.0)
    assert out["pooled"]["first-order"][2:] == (0.0, 0.0)


def test_cli_runs_the_1ofn_part(capsys):
    assert bc.main(["--part", "1:N", "--reps-n", "2", "--n-boot", "20"]) == 0
    text = capsys.readouterr().out
    assert "vox1-s2f test: K=22, 43 utts, stratified 9 f / 13 m" in text and "9 (capped)" in text
