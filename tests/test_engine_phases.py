"""The engine's phases (benchmark.engine: plan -> embed -> score -> record): one frozen RunConfig, ``bench run`` and
``bench score`` through the same phase functions, and a generator's failed faces and record taken through the
general hooks (``failed_utterances``, ``info_record``), not a callback or an edit after the fact."""

import dataclasses

import numpy as np
import pytest
from PIL import Image

from benchmark.engine.config import RunConfig
from benchmark.errors import BenchError
from conftest import MINI_SPLIT


def test_run_config_is_frozen_and_read_only():
    config = RunConfig(model="oracle", protocols="stratified", model_args={"k": "v"})
    assert config.protocols == ("stratified",) and config.results_dir is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.seed = 3
    with pytest.raises(TypeError):
        config.model_args["k"] = "w"  # a read-only mapping, not the caller's dict
    assert dict(config.model_args) == {"k": "v"}


@pytest.mark.parametrize("kwargs, message", [
    ({"batch_size": 0}, "--batch-size must be"), ({"batch_size": 2.0}, "--batch-size must be"),
    ({"seed": -1}, "--seed must be"), ({"seed": True}, "--seed must be"),
    ({"protocols": ()}, "name at least one protocol"), ({"protocols": ["stratified", ""]}, "at least one protocol"),
    ({"model": ""}, "--model must name a generator"), ({"judge": ""}, "--judge must be a name"),
    ({"model_args": ["k=v"]}, "model arguments must be a mapping"),
])
def test_run_config_refuses_bad_values_on_construction(kwargs, message):
    with pytest.raises(BenchError, match=message):
        RunConfig(**{"model": "oracle", "protocols": ("stratified",), **kwargs})


@pytest.fixture
def phase_calls(monkeypatch):
    """Records, per phase function the chain calls, the generator spec of the run (``benchmark.engine.run``)."""
    import benchmark.engine.run as chain

    calls = []
    for name in ("preflight", "prepare", "plan_trials", "build_for_run", "draw_faces", "score_protocol",
                 "record_protocol"):
        original = getattr(chain, name)

        def spy(*args, _name=name, _original=original, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(chain, name, spy)
    return calls


def _save_pngs(folder):
    def on_batch(ids, faces):
        for utt, face in zip(ids, faces):
            path = folder / f"{utt}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(face.permute(1, 2, 0).numpy()).save(path)

    return on_batch


@pytest.mark.realdata
def test_run_and_score_share_the_phases_and_the_result(vox1_mini, tmp_path, phase_calls):
    """Scoring a folder of the faces a generator drew gives the result of running the generator, through the
    same phase functions: only the generator (meta, spec, args) and ``info.submission`` differ."""
    from benchmark.engine.run import run_many
    from benchmark.engine.submission import score
    from benchmark.generators.folder import FOLDER_SPEC

    common = dict(data_root=vox1_mini, split=MINI_SPLIT, seed=0, progress=False, write=False)
    ran = run_many("mean-face", ["stratified", "unstratified"], "vox1-mini", on_batch=_save_pngs(tmp_path / "faces"),
                   **common)
    run_calls = list(phase_calls)
    phase_calls.clear()
    scored = score(tmp_path / "faces", ["stratified", "unstratified"], "vox1-mini", name="mean-face-pngs", **common)
    assert phase_calls == run_calls == ["preflight", "prepare", "plan_trials", "build_for_run", "draw_faces"] + [
        "score_protocol", "record_protocol"] * 2
    for a, b in zip(ran, scored):
        assert b["generator"]["spec"] == FOLDER_SPEC and b["generator"]["name"] == "mean-face-pngs"
        assert b["info"].pop("submission")["failed_count"] == 0
        for key in ("protocol", "trials", "dataset", "judge", "conformance", "evaluated_split", "seed", "scores",
                    "strata", "info", "inputs"):
            assert b[key] == a[key], key
        assert list(b) == list(a)  # the same keys in the same order


class FailsOne:
    """A plug-in generator (the oracle's faces) that has no face for the first probe utterance and records why,
    through the engine's general hooks."""

    def __init__(self, ctx):
        from baselines.oracle import OracleGenerator

        self.inner = OracleGenerator(ctx)
        self.meta = dataclasses.replace(self.inner.meta, name="fails-one", reference="")
        self.failed_utterances = (sorted(ctx.utterance_ids)[0],)

    def generate(self, waveforms, lengths, utterance_ids):
        return self.inner.generate(waveforms, lengths, utterance_ids)

    def info_record(self, probes):
        return {"fails_one": {"failed": [u for u in self.failed_utterances if u in probes], "probes": len(probes)}}


@pytest.mark.realdata
def test_a_generators_failed_faces_and_record_go_through_the_hooks(vox1_mini):
    """Any generator (here a plug-in) can declare failed faces and a record: every trial of the failed face is
    wrong, the result lists it, and the record is in ``info`` — as ``bench score --allow-missing`` does."""
    from benchmark.engine.run import run_many
    from benchmark.reports.sheet import Capture, match_similarities

    common = dict(data_root=vox1_mini, split=MINI_SPLIT, seed=0, progress=False, write=False)
    capture = Capture()
    oracle = run_many("oracle", ["stratified"], "vox1-mini", before_scoring=capture.before_scoring, **common)[0]
    outcome = match_similarities(capture.plans["stratified"], capture.generated, capture.real)[2].astype(np.float64)
    probe = sorted(capture.plans["stratified"].probes)[0]
    mine = np.array([p == probe for p in capture.plans["stratified"].trials.probe])

    result = run_many(f"{__file__}:FailsOne", ["stratified"], "vox1-mini", **common)[0]
    assert result["conformance"]["status"] == "passed"
    assert result["inputs"]["generated_failed_ids"] == [probe] and result["inputs"]["generated_failed_blank"] == 1
    assert result["info"]["fails_one"] == {"failed": [probe], "probes": len(capture.plans["stratified"].probes)}
    expected = (outcome.sum() - outcome[mine].sum()) / len(outcome)
    assert mine.sum() > 0 and result["scores"]["accuracy"]["value"] == pytest.approx(expected, abs=1e-12)
    assert result["scores"]["accuracy"]["value"] < oracle["scores"]["accuracy"]["value"]
    assert result["trials"] == oracle["trials"]


@pytest.mark.realdata
def test_an_observer_may_look_but_not_replace(vox1_mini):
    from benchmark.engine.run import run_many

    with pytest.raises(BenchError, match="may only look"):
        run_many("mean-face", ["stratified"], "vox1-mini", data_root=vox1_mini, split=MINI_SPLIT, progress=False,
                 write=False, before_scoring=lambda generated, **kw: generated)
