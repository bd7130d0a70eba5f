"""`bench check`'s tolerances (benchmark.reports.tolerance): measured drift passes, a 1-point change fails."""

import copy

import pytest

from benchmark.reports.tolerance import (CI_FLIP_WEIGHT, DRIFT, SET_REL, UNMEASURED, auto_rule, drift_of,
                                         metric_kind, within)


def score(value, lo, hi, n=430, ids=22):
    return {"value": value, "ci95": [lo, hi], "n": n, "n_identities": ids}


def moved(s, dv=0.0, dlo=0.0, dhi=0.0, **counts):
    out = copy.deepcopy(s)
    out["value"] += dv
    out["ci95"] = [out["ci95"][0] + dlo, out["ci95"][1] + dhi]
    out.update(counts)
    return out


def test_metric_kinds():
    assert [metric_kind(m) for m in ("accuracy", "acc@N=10", "top-5", "R@1", "detected", "gender_consistency",
                                     "real_face_band_accuracy")] == ["rate"] * 7
    assert [metric_kind(m) for m in ("fd", "kid", "fd_floor", "kid_floor")] == ["set"] * 4
    assert [metric_kind(m) for m in ("l1", "cosine@centroid", "angle_deg", "ratio", "abs_age_gap", "new")] == [
        "continuous"] * 6


def test_auto_rule_is_chosen_by_the_command_line_device_only():
    assert auto_rule(None) == auto_rule("cpu") == "numeric"
    assert auto_rule("cuda") == auto_rule("cuda:1") == "ci"


def test_sface_one_flipped_trial_passes_a_one_point_change_fails():
    """vox1-s2f's stratified test split has 430 trials; sface's measured drift is one flipped 1:2 trial."""
    s = score(0.5256, 0.41, 0.64)
    flip = 1 / 430
    assert within("accuracy", s, moved(s, flip, CI_FLIP_WEIGHT * flip, -flip), "numeric", "sface")[0]
    assert within("accuracy", s, moved(s, -flip), "numeric", "sface")[0]
    assert not within("accuracy", s, moved(s, 0.01), "numeric", "sface")[0]  # 1 point: 4.3 trials
    assert not within("accuracy", s, moved(s, 2 * flip + 1e-9), "numeric", "sface")[0]
    assert not within("accuracy", s, moved(s, 0, 0.01), "numeric", "sface")[0]  # a CI end by 1 point
    assert within("accuracy", s, moved(s, 0.01), "ci", "sface")[0]  # what "within the CIs" let through
    # a continuous sface metric: float drift (KID CI ends moved 1.5e-4 relative) passes, 1 % fails
    c = score(3.25, 3.01, 3.48)
    assert within("l1", c, moved(c, 3.25 * 2e-4, 3.01 * 2e-4), "numeric", "sface")[0]
    assert not within("l1", c, moved(c, 3.25 * 0.01), "numeric", "sface")[0]
    # a cosine near 0 (mean-face): the measured 9e-6 absolute drift of its CI end passes, 1 point fails
    z = score(0.0500067, 0.00413055, 0.118821, n=54, ids=5)
    assert within("cosine", z, moved(z, 6.4e-6, 8.9e-6, 1e-5), "numeric", "sface")[0]
    assert not within("cosine", z, moved(z, 0.01), "numeric", "sface")[0]


@pytest.mark.parametrize("judge", ["dlib", "dlib-torch", "sface", "a-plugin-judge"])
def test_fd_drift_passes_a_one_percent_change_fails(judge):
    """FD 50.3609 -> 50.3212 (7.9e-4 relative) on an Intel AVX-512 CPU from dlib-torch embeddings alone."""
    s = score(50.3609, 44.1, 58.9, n=43, ids=5)
    assert within("fd", s, moved(s, 50.3212 - 50.3609, -0.035, 0.041), "numeric", judge)[0]
    assert not within("fd", s, moved(s, 0.01 * 50.3609), "numeric", judge)[0]
    k = score(0.7566, 0.6534, 0.9003, n=48)
    assert within("kid", k, moved(k, 0.7566 * 1.5e-4, 0, 0.9003 * 1.5e-4), "numeric", judge)[0]
    assert not within("kid", k, moved(k, 0.7566 * 0.01), "numeric", judge)[0]


@pytest.mark.parametrize("judge", ["dlib", "dlib-torch"])
def test_rounding_passes_a_flipped_trial_fails_for_cpu_stable_judges(judge):
    s = score(0.5625, 0.4235, 0.7040, n=480)
    assert within("accuracy", s, moved(s, 0.5625 * 2e-5), "numeric", judge)[0]
    assert not within("accuracy", s, moved(s, 1 / 480), "numeric", judge)[0]
    assert not within("accuracy", s, moved(s, 0, -0.05, 0.05), "numeric", judge)[0]  # a widened CI


def test_counts_must_be_equal_under_every_rule():
    s = score(0.5, 0.4, 0.6)
    for rule in ("numeric", "exact", "ci"):
        ok, _, note = within("accuracy", s, moved(s, n=429), rule, "sface")
        assert not ok and "n 430→429" in note


def test_exact_and_unknown_rules():
    s = score(0.5, 0.4, 0.6)
    assert within("accuracy", s, moved(s), "exact", "dlib")[0]
    assert not within("accuracy", s, moved(s, 1e-12), "exact", "dlib")[0]
    from benchmark.errors import BenchError

    with pytest.raises(BenchError, match="unknown comparison rule"):
        within("accuracy", s, s, "loose", "dlib")


def test_every_judge_tolerance_keeps_a_one_point_change_visible():
    """Whatever the judge, a 1-point (0.01) change of a rate on vox1-s2f's test split, and 1 % of a continuous or
    set metric, is beyond tolerance."""
    for d in [*DRIFT.values(), UNMEASURED]:
        assert d.flips / 430 < 0.01 and CI_FLIP_WEIGHT * d.flips / 430 < 0.01
        assert d.rel < 0.01 and d.set_rel < 0.01 and d.abs < 0.001
    assert drift_of("no-such-judge") is UNMEASURED and SET_REL < 0.01
