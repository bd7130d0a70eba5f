"""Input hygiene and fault handling (issue 12): nothing computed is lost, nothing wrong is scored silently.

Every case builds its broken input in ``tmp_path`` — from a small copy of the real vox1-mini sample (``tiny``)
or synthesised — and checks that the suite refuses it *before any work*, with one clear message naming the file
and the fix, or (for what it must report rather than refuse) that it says so in the console and the result.
As root in CI, chmod does not block writes: an unwritable folder is made by putting a file where a folder
must be, or by asking for a path under a file.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from benchmark.cli import main
from benchmark.errors import BenchError, DataError, GeneratorError

REPO = Path(__file__).resolve().parent.parent

# --- fixtures ----------------------------------------------------------------------------------------------------

GENERATORS = '''
import os
import time

import numpy as np
import torch

from benchmark.generators.base import GeneratorMeta, utterance_seed


def _noise(seed, utt, size=64):
    rng = np.random.default_rng(utterance_seed(seed, utt))
    return torch.from_numpy(rng.integers(0, 256, (3, size, size), dtype=np.uint8))


class Good:
    """Seeded per utterance: conforms. Writes ``marker`` (a model-arg) when built, to show it was reached."""

    def __init__(self, ctx, marker=""):
        self.ctx = ctx
        if marker:
            open(marker, "w").close()
        self.meta = GeneratorMeta(name="good", image_size=64, citation="test")

    def generate(self, waveforms, lengths, utterance_ids):
        return torch.stack([_noise(self.ctx.seed, u) for u in utterance_ids])


class NoMeta:
    def __init__(self, ctx, marker=""):
        self.marker = marker

    def generate(self, waveforms, lengths, utterance_ids):
        open(self.marker, "w").close()
        return torch.zeros(len(utterance_ids), 3, 64, 64, dtype=torch.uint8)


class BrokenFactory:
    def __init__(self, ctx):
        raise FileNotFoundError("checkpoint weights.pt not found")


class Crashes(Good):
    """Raises on the batch holding utterance ``bad`` (a model-arg): after the conformance check's voices."""

    def __init__(self, ctx, bad=""):
        super().__init__(ctx)
        self.bad = bad

    def generate(self, waveforms, lengths, utterance_ids):
        if self.bad in utterance_ids:
            raise RuntimeError("shape mismatch in layer 3")
        return super().generate(waveforms, lengths, utterance_ids)


class Unseeded(Good):
    def __init__(self, ctx):
        super().__init__(ctx)
        self.meta = GeneratorMeta(name="unseeded", image_size=64)

    def generate(self, waveforms, lengths, utterance_ids):
        return torch.randint(0, 256, (len(utterance_ids), 3, 64, 64), dtype=torch.uint8)


class Slow(Good):
    """Says it started generating (``started`` file), then takes long: the test interrupts it."""

    def __init__(self, ctx, started=""):
        super().__init__(ctx)
        self.meta = GeneratorMeta(name="slow", image_size=64)
        self.started = started

    def generate(self, waveforms, lengths, utterance_ids):
        open(self.started, "w").close()
        time.sleep(60)
        return super().generate(waveforms, lengths, utterance_ids)
'''


@pytest.fixture(scope="session")
def gens(tmp_path_factory) -> Path:
    """A plug-in file holding the test generators above."""
    path = tmp_path_factory.mktemp("gens") / "gens.py"
    path.write_text(GENERATORS, encoding="utf-8")
    return path


def _nonblank(paths: list[Path], n: int) -> list[Path]:
    from benchmark.data.images import is_blank, load_image

    return [p for p in paths if not is_blank(load_image(p))][:n]


@pytest.fixture(scope="session")
def tiny_master(vox1_mini, tmp_path_factory) -> Path:
    """A small copy of vox1-mini: every identity with 2 utterances of one video, 4 usable VGGFace crops and the
    face frames of that video; plus id10002 (A.R._Rahman, in the metadata) with a voice and no face."""
    root = tmp_path_factory.mktemp("tiny") / "tiny"
    (root / "voxceleb1").mkdir(parents=True)
    shutil.copy(vox1_mini / "vox1_meta.csv", root / "vox1_meta.csv")
    for spk in sorted((vox1_mini / "voxceleb1/wav").iterdir()):
        video = sorted(spk.iterdir())[0]
        dst = root / "voxceleb1/wav" / spk.name / video.name
        dst.mkdir(parents=True)
        for wav in sorted(video.glob("*.wav"))[:2]:
            shutil.copy(wav, dst / wav.name)
        frames = vox1_mini / "voxceleb1/faces" / spk.name / video.name
        shutil.copytree(frames, root / "voxceleb1/faces" / spk.name / video.name)
    for person in sorted((vox1_mini / "vggface").iterdir()):
        (root / "vggface" / person.name).mkdir(parents=True)
        for img in _nonblank(sorted(person.iterdir()), 4):
            shutil.copy(img, root / "vggface" / person.name / img.name)
    lonely = root / "voxceleb1/wav/id10002/vid"
    lonely.mkdir(parents=True)
    shutil.copy(next((root / "voxceleb1/wav/id10001").rglob("*.wav")), lonely / "00001.wav")
    return root


@pytest.fixture
def tiny(tiny_master, tmp_path) -> Path:
    """A fresh copy of ``tiny_master`` that a test may break."""
    dst = tmp_path / "tiny"
    shutil.copytree(tiny_master, dst)
    return dst


def bench(*argv: str) -> tuple[int, str, str]:
    """Run ``bench`` in-process; returns (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def probe_wavs(root: Path) -> list[Path]:
    """Probe voices of the 1:2 protocols on ``tiny``: the test split's (VGGFace names C-E)."""
    return sorted(p for spk in ("id10118", "id10228", "id10278") for p in (root / "voxceleb1/wav" / spk).rglob("*.wav"))


# --- loses everything it computed, or crashes with a traceback ---------------------------------------------------


def test_results_dir_under_a_file_is_refused_before_any_work(tiny, gens, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    marker = tmp_path / "built"
    code, _, err = bench("run", "--model", f"{gens}:Good", "--protocol", "unstratified", "--dataset", "vox1-mini",
                         "--data-root", str(tiny), "--results-dir", str(blocker / "results"), "--quiet",
                         "--model-arg", f"marker={marker}")
    assert code == 2
    assert f"results folder {blocker / 'results'} cannot be created: {blocker} is a file" in err
    assert "--results-dir" in err and "Traceback" not in err
    assert not marker.exists()  # refused before the generator was even built


def test_existing_result_path_that_is_a_folder_is_refused_before_generation(tiny, gens, tmp_path):
    results = tmp_path / "results"
    (results / "vox1-mini" / "test" / "good" / "unstratified-seed0.json").mkdir(parents=True)
    code, _, err = bench("run", "--model", f"{gens}:Good", "--protocol", "unstratified", "--dataset", "vox1-mini",
                         "--data-root", str(tiny), "--results-dir", str(results), "--quiet")
    assert code == 2 and "unstratified-seed0.json is an existing folder" in err
    assert "generating" not in err  # the stage lines stop before generation


@pytest.mark.parametrize("where", ["cache under a file", "sqlite is a folder"])
def test_unwritable_cache_is_refused_before_any_work(tiny, gens, tmp_path, monkeypatch, where):
    blocker = tmp_path / "blocker"
    if where == "cache under a file":
        blocker.write_text("x")
        cache = blocker / "cache"
    else:
        cache = tmp_path / "cache"
        (cache / "embeddings.sqlite").mkdir(parents=True)
    monkeypatch.setenv("VOICE2FACE_CACHE_DIR", str(cache))
    marker = tmp_path / "built"
    code, _, err = bench("run", "--model", f"{gens}:Good", "--protocol", "unstratified", "--dataset", "vox1-mini",
                         "--data-root", str(tiny), "--results-dir", str(tmp_path / "r"), "--quiet",
                         "--model-arg", f"marker={marker}")
    assert code == 2 and "Traceback" not in err
    assert "VOICE2FACE_CACHE_DIR" in err and str(cache) in err
    assert "loading dataset" not in err and not marker.exists()


def test_no_cache_writes_nothing_into_the_cache_directory(tiny, gens, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("VOICE2FACE_CACHE_DIR", str(cache))
    code, _, err = bench("run", "--model", f"{gens}:Good", "--protocol", "unstratified", "--dataset", "vox1-mini",
                         "--data-root", str(tiny), "--results-dir", str(tmp_path / "r"), "--quiet", "--no-cache")
    assert code == 0, err
    written = [p for p in cache.rglob("*") if p.is_file()] if cache.exists() else []
    assert written == []  # no embeddings.sqlite, no trials/<...>.csv
    result = json.loads(next((tmp_path / "r").rglob("*.json")).read_text())
    assert result["trials"]["path"] is None and len(result["trials"]["sha256"]) == 64


def test_out_naming_an_existing_folder_is_refused_before_any_work(tiny, gens, tmp_path):
    marker = tmp_path / "built"
    code, _, err = bench("run", "--model", f"{gens}:Good", "--protocol", "unstratified", "--dataset", "vox1-mini",
                         "--data-root", str(tiny), "--out", str(tmp_path), "--quiet", "--model-arg", f"marker={marker}")
    assert code == 2 and f"--out {tmp_path} is an existing folder" in err and "Traceback" not in err
    assert not marker.exists()


def test_ctrl_c_prints_one_line_exits_130_and_leaves_the_cache_consistent(tiny, gens, tmp_path):
    cache, started = tmp_path / "cache", tmp_path / "started"
    env = {**os.environ, "VOICE2FACE_CACHE_DIR": str(cache), "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "benchmark.cli", "run", "--model", f"{gens}:Slow",
                             "--protocol", "unstratified", "--dataset", "vox1-mini", "--data-root", str(tiny),
                             "--results-dir", str(tmp_path / "r"), "--quiet", "--model-arg", f"started={started}"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            # a shell's background job inherits SIGINT ignored, and Python then installs no
                            # KeyboardInterrupt handler: give the child the default disposition, as a terminal does
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 240
        while not started.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run never reached generation"
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert [line for line in err.splitlines() if "interrupted" in line] == [err.splitlines()[-1]]
    db = sqlite3.connect(cache / "embeddings.sqlite")
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert db.execute("SELECT COUNT(*) FROM emb").fetchone()[0] > 0  # the real faces embedded before it stayed
    db.close()
    assert not (tmp_path / "r").exists() or not list((tmp_path / "r").rglob("*.json"))


def test_generator_without_meta_is_refused_before_it_generates(tiny, gens, tmp_path):
    marker = tmp_path / "generated"
    code, _, err = bench("run", "--model", f"{gens}:NoMeta", "--protocol", "unstratified", "--dataset", "vox1-mini",
                         "--data-root", str(tiny), "--results-dir", str(tmp_path / "r"), "--quiet",
                         "--model-arg", f"marker={marker}")
    assert code == 2 and "Traceback" not in err
    assert f"generator '{gens}:NoMeta' (NoMeta) has no usable meta" in err and "GeneratorMeta(name=" in err
    assert not marker.exists()


def test_a_factory_that_raises_is_named_with_the_fix(tiny, gens, tmp_path):
    code, _, err = bench("run", "--model", f"{gens}:BrokenFactory", "--protocol", "unstratified", "--dataset",
                         "vox1-mini", "--data-root", str(tiny), "--results-dir", str(tmp_path / "r"), "--quiet")
    assert code == 2 and "Traceback" not in err
    assert "could not be built: BrokenFactory raised FileNotFoundError: checkpoint weights.pt not found" in err
    assert "gens.py:" in err and "--model-arg" in err


def test_an_unknown_model_arg_is_refused_before_any_work(tiny, gens, tmp_path):
    code, _, err = bench("run", "--model", f"{gens}:Good", "--protocol", "unstratified", "--dataset", "vox1-mini",
                         "--data-root", str(tiny), "--results-dir", str(tmp_path / "r"), "--quiet",
                         "--model-arg", "markr=x")
    assert code == 2 and "Traceback" not in err
    assert "takes no argument 'markr' (did you mean 'marker'?)" in err and "keys are: marker" in err
    assert "loading dataset" not in err


def test_a_generator_that_raises_names_the_batch(tiny, gens, tmp_path):
    ids = [p.relative_to(tiny / "voxceleb1/wav").with_suffix("").as_posix() for p in probe_wavs(tiny)]
    code, _, err = bench("run", "--model", f"{gens}:Crashes", "--protocol", "unstratified", "--dataset", "vox1-mini",
                         "--data-root", str(tiny), "--results-dir", str(tmp_path / "r"), "--quiet",
                         "--batch-size", "2", "--model-arg", f"bad={ids[4]}")
    assert code == 2 and "Traceback" not in err
    assert "generator 'good' raised RuntimeError: shape mismatch in layer 3 (at " in err
    assert f"while generating the batch of utterances {ids[4]}, {ids[5]}; fix the generator" in err


@pytest.mark.parametrize("argv, message", [
    (["--batch-size", "0"], "argument --batch-size: 0 is below 1"),
    (["--batch-size", "-1"], "argument --batch-size: -1 is below 1"),
    (["--seed", "-1"], "argument --seed: -1 is below 0"),
])
def test_bad_numbers_are_refused_by_the_parser(argv, message):
    code, _, err = bench("run", "--model", "oracle", "--protocol", "unstratified", *argv)
    assert code == 2 and message in err and "Traceback" not in err


@pytest.mark.parametrize("kwargs, message", [({"batch_size": 0}, "--batch-size must be"),
                                             ({"seed": -3}, "--seed must be")])
def test_bad_numbers_are_refused_by_the_api_before_any_work(kwargs, message, monkeypatch):
    import benchmark.engine.plan as plan
    from benchmark.engine.run import run_many

    monkeypatch.setattr(plan, "load_dataset", lambda *a, **k: pytest.fail("loaded the dataset"))
    with pytest.raises(BenchError, match=message):
        run_many("oracle", ["unstratified"], "vox1-mini", write=False, progress=False, **kwargs)


def test_non_utf8_metadata_names_the_file_and_line(tiny):
    from benchmark.data.manifest import load_vox1_layout

    meta = tiny / "vox1_meta.csv"
    lines = meta.read_bytes().split(b"\n")
    lines[3] = lines[3].replace(b"Aamir", b"A\xe9mir")  # latin-1 e-acute
    meta.write_bytes(b"\n".join(lines))
    with pytest.raises(DataError, match=rf"metadata file {meta} is not UTF-8: byte 0xe9 on line 4.*iconv"):
        load_vox1_layout(tiny, "vox1-mini")


def test_float_wav_with_nan_names_the_file(tmp_path):
    import soundfile as sf

    from benchmark.data.audio import load_audio

    wave = (np.random.default_rng(0).standard_normal(16000) * 0.1).astype(np.float32)
    wave[[10, 20]] = [np.nan, np.inf]
    path = tmp_path / "nan.wav"
    sf.write(path, wave, 16000, subtype="FLOAT")
    with pytest.raises(DataError, match=rf"audio file {path} holds 2 NaN or infinite sample"):
        load_audio(path)


# --- scores wrong input without a word ---------------------------------------------------------------------------


def test_every_unusable_probe_is_listed_in_one_error_before_generation(tiny, gens, tmp_path):
    import soundfile as sf

    a, b, c, d = probe_wavs(tiny)[:4]
    sf.write(a, np.zeros(16000, np.float32), 16000)  # silent
    wave = np.full(16000, 0.1, np.float32)
    wave[5] = np.nan
    sf.write(b, wave, 16000, subtype="FLOAT")  # non-finite
    c.write_bytes(c.read_bytes()[: len(c.read_bytes()) // 2])  # truncated
    d.write_bytes(b"RIFF")  # unreadable
    marker = tmp_path / "built"
    code, _, err = bench("run", "--model", f"{gens}:Good", "--protocol", "unstratified", "--dataset", "vox1-mini",
                         "--data-root", str(tiny), "--results-dir", str(tmp_path / "r"), "--quiet",
                         "--model-arg", f"marker={marker}")
    assert code == 2 and "4 unusable probe audio file(s)" in err
    assert f"{a} is all silence" in err and f"{b} holds 1 NaN" in err and f"{c} is truncated" in err
    assert f"cannot read audio file {d}" in err
    assert not marker.exists()


def test_a_truncated_wav_is_refused(tmp_path):
    import soundfile as sf

    from benchmark.data.audio import load_audio

    path = tmp_path / "cut.wav"
    sf.write(path, (np.random.default_rng(1).standard_normal(16000) * 0.1).astype(np.float32), 16000)
    load_audio(path)  # whole: fine
    path.write_bytes(path.read_bytes()[:20000])
    with pytest.raises(DataError, match=rf"audio file {path} is truncated: its header declares 32000 bytes"):
        load_audio(path)


def test_wav_beside_flac_of_the_same_utterance_is_refused(tiny):
    import soundfile as sf

    from benchmark.data.manifest import load_vox1_layout

    wav = probe_wavs(tiny)[0]
    data, rate = sf.read(wav)
    sf.write(wav.with_suffix(".flac"), data, rate)
    with pytest.raises(DataError, match="1 utterance id.*come from more than one file") as info:
        load_vox1_layout(tiny, "vox1-mini")
    assert f"{wav.with_suffix('.flac')} and {wav}" in str(info.value)


def test_a_vggface_name_listed_twice_is_refused_naming_the_lines(tiny):
    from benchmark.data.manifest import load_vox1_layout

    meta = tiny / "vox1_meta.csv"
    text = meta.read_text(encoding="utf-8").replace("id10003\tAamir_Khan", "id10003\tDebi_Mazar")
    meta.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=r"VGGFace1 ID 'Debi_Mazar' on lines 4, 229"):
        load_vox1_layout(tiny, "vox1-mini")


def test_a_nondeterministic_plugin_is_refused_unless_skipped_and_then_flagged(tiny, gens, tmp_path):
    from benchmark.engine.run import run

    common = dict(dataset="vox1-mini", data_root=tiny, results_dir=tmp_path / "r", progress=False)
    with pytest.raises(GeneratorError, match="conformance check failed, nothing was scored.*not deterministic"
                                             ".*--skip-conformance"):
        run(f"{gens}:Unseeded", "unstratified", **common)
    assert not (tmp_path / "r").exists()
    flagged = run(f"{gens}:Unseeded", "unstratified", skip_conformance=True, **common)
    assert flagged["conformance"]["status"] == "skipped"
    assert json.loads(Path(flagged["path"]).read_text())["conformance"]["status"] == "skipped"
    good = run(f"{gens}:Good", "unstratified", write=False, **{**common, "results_dir": None})
    assert good["conformance"] == {"status": "passed", "voices": 4,
                                   "checks": ["meta", "output", "determinism", "batch_independence"]}
    assert run("oracle", "unstratified", write=False, **common)["conformance"]["status"] == "not run"


def test_real_faces_smaller_than_the_judge_minimum_are_excluded_and_counted(tmp_path):
    from PIL import Image

    from benchmark.judges.cache import EmbeddingCache
    from benchmark.data.manifest import Face
    from benchmark.engine.embed import embed_real_faces
    from benchmark.judges.dlib_bin import DlibJudge

    rng = np.random.default_rng(0)
    faces = []
    for name, side in (("big", 64), ("tiny", 31)):  # the judge's minimum, benchmark.data.images.MIN_FACE_SIDE, is 32
        Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(tmp_path / f"{name}.png")
        faces.append(Face(id=f"vggface/x/{name}", identity="x", path=str(tmp_path / f"{name}.png"), source="vggface"))
    table = embed_real_faces(DlibJudge(cache=EmbeddingCache(None)), faces, progress=False)
    assert table.ids == ["vggface/x/big"]
    assert table.small == ["vggface/x/tiny"]


# --- says something false or too little; a newcomer's path (one run, read several ways) -------------------------


@pytest.fixture(scope="module")
def newcomer(tiny_master, gens, tmp_path_factory):
    """``bench run --quiet`` of a plug-in on three protocols of a *partial* vox1-vggface copy, from a folder with
    no --results-dir: (exit status, stdout, stderr, results folder, the result dicts by protocol)."""
    cwd = tmp_path_factory.mktemp("cwd")
    old = os.getcwd()
    os.chdir(cwd)
    old_mask = os.umask(0o027)
    try:
        code, out, err = bench("run", "--model", f"{gens}:Good", "--protocol", "unstratified,match-1ofN,retrieval",
                               "--dataset", "vox1-vggface", "--data-root", str(tiny_master), "--quiet")
    finally:
        os.umask(old_mask)
        os.chdir(old)
    results = {json.loads(p.read_text())["protocol"]["name"]: (p, json.loads(p.read_text()))
               for p in (cwd / "results").rglob("*.json")}
    return code, out, err, cwd / "results", results


def test_default_results_go_to_dot_results_not_the_committed_leaderboard(newcomer):
    from benchmark.data.identity import result_folder as benchmark_result_folder_of
    from benchmark.settings import results_dir

    def benchmark_result_folder(result):
        folder = benchmark_result_folder_of(result["dataset"]["identity"])
        assert folder.startswith("vox1-vggface")
        return folder

    code, out, err, folder, results = newcomer
    assert code == 0, err
    assert set(results) == {"unstratified", "match-1ofN", "retrieval"}
    # <results>/<dataset>[-<fingerprint[:8]> for a partial copy]/<split>/<model>/ (benchmark.engine.run.default_result_path)
    for p, r in results.values():
        parts = p.relative_to(folder).parts
        assert parts[0] == benchmark_result_folder(r) and parts[1:3] == ("test", "good"), p
    assert "leaderboards" not in str(results_dir())


def test_result_files_respect_the_umask(newcomer, tmp_path):
    from benchmark.results.io import write_atomic

    for path, _ in newcomer[4].values():  # written under umask 027
        assert stat.S_IMODE(path.stat().st_mode) == 0o640
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "t.csv", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "t.csv").stat().st_mode) == 0o644


def test_quiet_keeps_one_line_per_stage_on_stderr(newcomer):
    err = newcomer[2]
    for stage in ("loading dataset vox1-vggface", "judge: embedding", "checking 6 probe audio files",
                  "conformance check of plug-in generator good", "generating and judging 6 faces",
                  "scoring unstratified", "scoring retrieval", "wrote "):
        assert f"bench: {stage}" in err, stage


def test_a_partial_copy_of_a_full_dataset_is_labelled_and_tabled_apart(newcomer):
    from benchmark.reports.leaderboard import build_tables

    code, out, err, folder, results = newcomer
    partial = results["unstratified"][1]["dataset"]["partial"]
    assert partial["found"]["test"] == 3 and partial["expected"]["test"] == 189
    assert "dataset vox1-vggface (PARTIAL)" in out and "WARNING: partial copy: " in out
    assert "WARNING: dataset vox1-vggface is a partial copy" in err
    tables = build_tables([(p.name, r) for p, r in results.values()], published=[])
    # issue 19 §4: the partial copy is its own data (its manifest fingerprint), in its own folder, its heading says so
    fingerprint = results["unstratified"][1]["dataset"]["manifest_sha256"]
    assert {(t.dataset, t.data, t.folder) for t in tables} == {("vox1-vggface", fingerprint,
                                                                 f"vox1-vggface-{fingerprint[:8]}")}
    assert all("partial copy" in t.heading for t in tables)


def test_console_names_dataset_exclusions_caps_and_what_the_face_count_counts(newcomer):
    code, out, err, folder, results = newcomer
    assert "excluded identities: 1 by the dataset (id10002; reasons in the result JSON)" in out
    assert results["unstratified"][1]["dataset"]["excluded_identities"] == [
        {"identity": "id10002", "reason": "voice but no face"}]
    for name in ("match-1ofN", "retrieval"):
        reason = results[name][1]["info"]["cap_reason"]
        assert f"note: {reason}" in out
    embedded = results["unstratified"][1]["inputs"]["real_faces_embedded"]
    own = results["unstratified"][1]["inputs"]["real_faces_this_protocol"]
    assert f"gallery: {own} real faces used by this protocol, of the {embedded} embedded for the 3 protocol(s)" in out


def test_result_paths_mean_something_on_another_machine(newcomer, tiny_master):
    assert len(newcomer[4]) == 3
    for _, result in newcomer[4].values():
        assert result["dataset"]["root"] == "--data-root tiny"
        assert result["trials"]["path"].startswith("<cache>/trials/vox1-vggface-")
        assert str(tiny_master) not in json.dumps(result["dataset"]) + json.dumps(result["trials"])


def test_trials_suggests_a_score_command_with_the_users_data_options(tiny_master, tmp_path):
    code, out, err = bench("trials", "--protocol", "unstratified", "--dataset", "vox1-mini", "--data-root",
                           str(tiny_master), "--out", str(tmp_path / "t.csv"), "--quiet")
    assert code == 0, err
    assert (f"bench score --faces DIR --protocol unstratified --dataset vox1-mini --seed 0 --data-root {tiny_master}"
            in out)


def test_toy_world_says_it_is_being_made(tmp_path, capsys):
    from benchmark.data.toy import ensure_toy_world

    ensure_toy_world(tmp_path, n_identities=2, seed=0)
    assert "bench: making the toy world in" in capsys.readouterr().err


def test_run_help_says_every_default():
    code, out, _ = bench("run", "--help")
    text = " ".join(out.split())
    assert code == 0
    assert "--seed SEED seeds the trials" in text and "(default 0)" in text
    assert "--batch-size BATCH_SIZE voices per generator call, >= 1 (default 16)" in text
    assert "--results-dir RESULTS_DIR folder for result JSON files" in text and "./results" in text


# --- documentation, citation, one install command, the fast subset -----------------------------------------------


def _readme() -> str:
    return (REPO / "README.md").read_text(encoding="utf-8")


def test_one_install_command_in_readme_and_ci_and_resemblyzer_is_declared():
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "resemblyzer==0.1.4" in project["dependencies"] and "torch==2.13.0" in project["dependencies"]
    install = textwrap.dedent(_readme().split("## Install", 1)[1].split("\n\n", 2)[1]).strip()
    assert install == 'pip install -e ".[dev]"'
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert [line.strip() for line in ci.splitlines() if "pip install" in line] == ['python -m pip install -e ".[dev]"']


def test_readme_newcomer_commands_stay_off_the_committed_results_and_train_on_a_cpu_preset():
    readme = _readme()
    for line in readme.splitlines():
        if line.strip().startswith("bench run") and "leaderboards/results" in line:
            pytest.fail(f"README writes into the committed results: {line}")
        if line.strip().startswith("bench train"):
            assert "--preset cpu" in line, line
    assert 'pytest -m "not slow"' in readme


def test_citation_file_describes_the_suite():
    text = (REPO / "CITATION.cff").read_text(encoding="utf-8")
    for key in ("cff-version:", "title: voice2face-bench", "version:", "authors:", "license: MIT"):
        assert key in text
