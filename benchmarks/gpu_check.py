"""Every CUDA path of the suite in one run, one table (issue 22 §3). Entry point: ``bash benchmarks/gpu_check.sh``.

Steps (each with its own time limit; the whole is meant to finish in under 8 minutes on one H100-class GPU):

1. ``dlib-torch`` network: chips/s of ``DlibTorchJudge.descriptors`` on uint8 150×150 chips already on the GPU,
   batches of 256 (target ≥ 5,000 chips/s on an H100-class GPU); and faces/s of the whole judge (``embed``: dlib HOG
   detection and landmarks on the CPU over a process pool, chips cut and embedded on the GPU) on real faces.
2. ``facenet`` judge: faces/s of ``FaceNetJudge`` on 64×64 uint8 images (SF2F's setting), batches of 256. The
   weights are a seeded state dict in facenet-pytorch's layout saved to a temporary file (throughput does not
   depend on the values; the real file cannot be fetched on a machine without internet).
3. ``sface`` on the GPU: crops/s of ``SFaceJudge(device="cuda").features`` (onnxruntime's CUDAExecutionProvider);
   "unavailable" with the reason when this onnxruntime has no CUDA provider (``onnxruntime-gpu`` is not installed).
4. ``bench embed`` under ``torchrun --standalone --nproc-per-node <GPUs>`` (nccl) on vox1-s2f with dlib-torch.
5. ``bench run --model oracle --protocol all --dataset vox1-s2f --judge dlib-torch --judge-device cuda --device
   cuda``: every result compared with the stored CPU result of the same protocol and judge
   (``leaderboards/results/vox1-s2f/oracle/``, ``benchmark.reports.check.compare``, rule "numeric": relative 1e-4,
   counts and trial hashes exact); a protocol without a stored dlib-torch CPU result is listed as such.
6. A short slice of each learned baseline's ``--preset paper`` on CUDA (the papers' batch, image size and widths;
   issue 24): ``bench train --baseline B --dataset vox1-s2f --device cuda --preset paper --steps 30`` (the stage
   fractions scale, so every stage runs). Its seconds per step, per stage, from the run's losses.jsonl (the first
   step of each stage dropped as warm-up), times the full preset's steps of each stage give the row "expected time of
   --preset paper". ``benchmarks/paper_preset_cost.py`` gives the FLOP count of the same presets on a CPU.

``--dry-run`` runs nothing and prints the table with every step "not run (dry run)" and the commands it would run
(what tests/test_gpu_check.py checks on a CPU). Without ``--dry-run`` and without a CUDA device the script exits
with status 2 and says so before any work. Exit status 1 when any step failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATASET = "vox1-s2f"
BASELINES = ("wen-gan", "speech2face", "ar-spm")
PAPER_SLICE = 30
"""Steps of the ``--preset paper`` slice each baseline trains on CUDA."""
STORED = next((p for p in (ROOT / "leaderboards" / "results" / DATASET / "test" / "oracle",
                          ROOT / "leaderboards" / "results" / DATASET / "oracle") if p.is_dir()),
              ROOT / "leaderboards" / "results" / DATASET / "test" / "oracle")
"""The stored CPU results of the oracle on the test split (``<dataset>/<split>/<model>/``; the layout before the split
joined the result path is read too)."""


@dataclass
class Row:
    """One line of the table."""

    step: str
    value: str
    status: str  # "ok", "FAIL", "unavailable", "not run (dry run)"
    note: str = ""


def bench_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "benchmark.cli", *args]


def plan(tmp: Path, gpus: int) -> dict[str, list[str]]:
    """The subprocess commands of steps 4–6 (the measured steps 1–3 run in this process)."""
    cmds = {"bench embed (torchrun, nccl)": [
        sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={gpus}", "-m",
        "benchmark.cli", "embed", "--dataset", DATASET, "--judge", "dlib-torch", "--device", "cuda", "--shard-dir",
        str(tmp / "shards"), "--quiet"]}
    cmds["bench run --protocol all, judge on cuda"] = bench_cmd(
        "run", "--model", "oracle", "--protocol", "all", "--dataset", DATASET, "--seed", "0", "--judge", "dlib-torch",
        "--judge-device", "cuda", "--device", "cuda", "--results-dir", str(tmp / "results"), "--quiet")
    for b in BASELINES:
        cmds[f"bench train {b} --preset paper ({PAPER_SLICE} steps, cuda)"] = bench_cmd(
            "train", "--baseline", b, "--dataset", DATASET, "--device", "cuda", "--preset", "paper", "--steps",
            str(PAPER_SLICE), "--out", str(tmp / f"train-{b}"), "--quiet")
    return cmds


def expected_paper_time(baseline: str, losses_path: Path) -> Row:
    """Seconds per step of each stage in a ``--preset paper`` slice times the full preset's steps of that stage."""
    from baselines.train import recipe_class, resolve_config, stage_plan

    name = f"expected time of --preset paper ({baseline})"
    records = [json.loads(line) for line in losses_path.read_text().splitlines() if line.strip()]
    per_stage: dict[str, list[float]] = {}
    previous = 0.0
    for r in records:
        per_stage.setdefault(r["stage"], []).append(r["elapsed_s"] - previous)
        previous = r["elapsed_s"]
    cfg = resolve_config(baseline, None, "paper")
    total, parts = 0.0, []
    for stage, start, end in stage_plan(recipe_class(baseline).stages(cfg), int(cfg["steps"])):
        times = per_stage.get(stage, [])[1:] or per_stage.get(stage, [])
        if end > start and not times:
            return Row(name, "-", "FAIL", f"the slice ran no step of stage {stage!r}")
        if end > start:
            seconds = sorted(times)[len(times) // 2]  # median
            total += seconds * (end - start)
            parts.append(f"{stage} {end - start} x {seconds:.3f} s")
    return Row(name, f"{total / 3600:.2f} h", "ok", "; ".join(parts) + " (median s/step of the slice)")


def timed(fn, n_items: int, repeats: int = 3) -> float:
    """Items per second of ``fn()`` (one warm-up call, then the best of ``repeats``, CUDA synchronised)."""
    import torch

    fn()
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return n_items / best


def real_faces(n: int) -> list[np.ndarray]:
    """Up to ``n`` real face images of the dataset (repeated when it has fewer)."""
    from benchmark.data.datasets import load_dataset
    from benchmark.data.images import is_blank, load_image

    manifest = load_dataset(DATASET, progress=False)
    images = [im for im in (load_image(f.path) for f in manifest.faces[:n]) if not is_blank(im)]
    return (images * (n // max(len(images), 1) + 1))[:n]


def step_dlib_torch() -> list[Row]:
    import torch

    from benchmark.judges import make_judge

    judge = make_judge("dlib-torch", device="cuda", batch_size=256)
    try:
        chips = torch.randint(0, 256, (2048, 150, 150, 3), dtype=torch.uint8, device="cuda")
        rate = timed(lambda: judge.descriptors(chips), len(chips))
        rows = [Row("dlib-torch network (chips on GPU)", f"{rate:,.0f} chips/s",
                    "ok" if rate >= 5000 else "below target", "target >= 5,000 chips/s on an H100-class GPU")]
        faces = real_faces(512)
        start = time.perf_counter()
        judge.embed(faces)  # no cache: every face detected, chipped and embedded
        rows.append(Row("dlib-torch judge.embed (CPU detection + GPU)", f"{len(faces) / (time.perf_counter() - start):,.0f}"
                        " faces/s", "ok", f"{len(faces)} real {DATASET} faces, detection on {os.cpu_count()} CPUs"))
        return rows
    finally:
        judge.close()


def step_facenet(tmp: Path) -> list[Row]:
    import torch

    from benchmark.judges.facenet import FaceNetJudge
    from benchmark.judges.facenet_net import InceptionResnetV1

    path = tmp / "facenet-seeded.pt"
    torch.manual_seed(0)
    torch.save(InceptionResnetV1().state_dict(), path)
    judge = FaceNetJudge(device="cuda", batch_size=256, weights=path)
    images = list(np.random.default_rng(0).integers(0, 256, (2048, 64, 64, 3), dtype=np.uint8))
    rate = timed(lambda: judge.embeddings(images), len(images))
    return [Row("facenet judge (64x64, SF2F preprocessing)", f"{rate:,.0f} faces/s", "ok",
                "seeded weights in facenet-pytorch's layout; CPU resize + H2D copy included")]


def step_sface() -> list[Row]:
    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return [Row("sface on the GPU (onnxruntime)", "-", "unavailable",
                    f"onnxruntime {ort.__version__} has no CUDAExecutionProvider "
                    f"({', '.join(ort.get_available_providers())}); `pip install onnxruntime-gpu` adds it")]
    import torch  # noqa: F401 - for timed's synchronise

    from benchmark.judges.sface import SFaceJudge

    judge = SFaceJudge(device="cuda", batch_size=256)
    crops = np.random.default_rng(0).integers(0, 256, (2048, 112, 112, 3), dtype=np.uint8)
    rate = timed(lambda: judge.features(crops), len(crops))
    judge.close()
    return [Row("sface on the GPU (onnxruntime CUDA)", f"{rate:,.0f} crops/s", "ok", "network only, BGR crops")]


def run_cmd(name: str, cmd: list[str], timeout: int, env: dict) -> tuple[Row, subprocess.CompletedProcess | None]:
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Row(name, f"> {timeout} s", "FAIL", "timed out"), None
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [""]
        return Row(name, f"{wall:.1f} s", "FAIL", f"exit {proc.returncode}: {tail[0][:160]}"), proc
    return Row(name, f"{wall:.1f} s", "ok"), proc


def compare_with_cpu(results_dir: Path) -> Row:
    """Step 5's comparison: every GPU result against the stored CPU result of the same protocol and judge."""
    from benchmark.judges import judge_name_of
    from benchmark.reports.check import compare

    stored = {}
    for path in sorted(STORED.glob("*-seed0*.json")):
        result = json.loads(path.read_text())
        if judge_name_of(result.get("judge", {})) == "dlib-torch" and result.get("judge", {}).get("device", "cpu") \
                == "cpu":
            stored[result["protocol"]["name"]] = result
    compared, failed, missing = 0, [], []
    for path in sorted((results_dir / DATASET / "oracle").glob("*.json")):
        new = json.loads(path.read_text())
        name = new["protocol"]["name"]
        if name not in stored:
            missing.append(name)
            continue
        compared += 1
        bad = [d for d in compare(path.name, stored[name], new, "numeric") if not d.ok]
        if bad:
            failed.append(f"{name}: {bad[0].metric} {bad[0].stored} -> {bad[0].new}")
    note = f"{compared} protocols compared with the stored CPU results (rel 1e-4)"
    if missing:
        note += f"; no stored dlib-torch CPU result for {', '.join(missing)}"
    if failed:
        return Row("GPU scores == CPU scores", f"{len(failed)} of {compared} differ", "FAIL",
                   note + "; " + "; ".join(failed[:3]))
    return Row("GPU scores == CPU scores", f"{compared} equal", "ok" if compared else "FAIL", note)


def print_table(rows: list[Row]) -> None:
    from tabulate import tabulate

    print(tabulate([[r.step, r.value, r.status, r.note] for r in rows], headers=["step", "value", "status", "note"],
                   tablefmt="github"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run every CUDA path of the suite and print one table.")
    parser.add_argument("--dry-run", action="store_true", help="run nothing; print the plan and an empty table")
    parser.add_argument("--step-timeout", type=int, default=200, help="seconds per subprocess step (default 200)")
    args = parser.parse_args(argv)
    measured = ["dlib-torch network (chips on GPU)", "dlib-torch judge.embed (CPU detection + GPU)",
                "facenet judge (64x64, SF2F preprocessing)", "sface on the GPU (onnxruntime CUDA)"]
    if args.dry_run:
        cmds = plan(Path("<scratch>"), 1)
        for name, cmd in cmds.items():
            print(f"would run: {name}: {' '.join(cmd)}")
        expected = [f"expected time of --preset paper ({b})" for b in BASELINES]
        print_table([Row(s, "-", "not run (dry run)") for s in [*measured, *cmds, "GPU scores == CPU scores",
                                                                  *expected]])
        return 0
    import torch

    if not torch.cuda.is_available():
        print(f"gpu_check: no CUDA device (torch {torch.__version__}, torch.cuda.is_available() is False): nothing "
              "to check. Run it on a machine with an NVIDIA GPU and a CUDA build of torch.", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    gpus = torch.cuda.device_count()
    print(f"gpu_check: {gpus} x {torch.cuda.get_device_name(0)}, torch {torch.__version__}, {os.cpu_count()} CPUs; "
          f"scratch {tmp}", flush=True)
    env = dict(os.environ, PYTHONPATH=str(ROOT), VOICE2FACE_CACHE_DIR=str(tmp / "cache"))
    os.environ["VOICE2FACE_CACHE_DIR"] = env["VOICE2FACE_CACHE_DIR"]
    rows: list[Row] = []
    for name, step in (("dlib-torch", step_dlib_torch), ("facenet", lambda: step_facenet(tmp)), ("sface", step_sface)):
        start = time.perf_counter()
        try:
            rows += step()
        except Exception as exc:  # noqa: BLE001 - one failed step must not hide the others
            rows.append(Row(name, "-", "FAIL", f"{type(exc).__name__}: {str(exc)[:160]}"))
        print(f"  {name}: {time.perf_counter() - start:.1f} s", flush=True)
    for name, cmd in plan(tmp, gpus).items():
        row, _ = run_cmd(name, cmd, args.step_timeout, env)
        rows.append(row)
        print(f"  {name}: {row.value} {row.status}", flush=True)
        if name.startswith("bench run") and row.status == "ok":
            rows.append(compare_with_cpu(tmp / "results"))
        if name.startswith("bench train") and row.status == "ok":
            baseline = name.split()[2]
            rows.append(expected_paper_time(baseline, tmp / f"train-{baseline}" / "losses.jsonl"))
    print()
    print_table(rows)
    return 1 if any(r.status == "FAIL" for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
