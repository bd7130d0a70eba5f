"""The age protocol on vox1-s2f shows the majority-band baseline beside the predictor's real-face agreement, and
flags band_accuracy when the two overlap (issue 20 §5): there the protocol cannot separate generators."""

from benchmark.engine.run import run_many


def test_majority_band_baseline_and_the_cannot_separate_flag(vox1_s2f):
    [r] = run_many("random-face", ["age"], "vox1-s2f", data_root=vox1_s2f, progress=False, write=False)
    s = r["scores"]
    counts = r["info"]["reference_band_share"]
    assert abs(s["majority_band_accuracy"]["value"] - max(counts.values())) < 1e-12  # the commonest band's share
    ceiling, base = s["real_face_band_accuracy"], s["majority_band_accuracy"]
    overlap = not ceiling["ci95"][0] > base["ci95"][1]
    assert overlap == ("cannot separate generators" in s["band_accuracy"].get("flag", ""))
    assert overlap  # measured on vox1-s2f test: real faces 0.564 [0.379, 0.765], commonest band 0.590 [0.325, 0.829]
