"""benchmarks/gpu_check.sh's CPU-checkable parts (issue 22 §3): the dry run lists every CUDA step in one table, and
without a CUDA device the script refuses before any work. The GPU steps themselves run only on a GPU machine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import gpu_check  # noqa: E402

STEPS = ["dlib-torch network (chips on GPU)", "dlib-torch judge.embed (CPU detection + GPU)",
         "facenet judge (64x64, SF2F preprocessing)", "sface on the GPU (onnxruntime CUDA)",
         "bench embed (torchrun, nccl)", "bench run --protocol all, judge on cuda",
         "bench train wen-gan --preset paper (30 steps, cuda)", "bench train speech2face --preset paper (30 steps, cuda)",
         "bench train ar-spm --preset paper (30 steps, cuda)", "GPU scores == CPU scores",
         "expected time of --preset paper (wen-gan)", "expected time of --preset paper (speech2face)",
         "expected time of --preset paper (ar-spm)"]


def test_dry_run_prints_every_step_in_one_table_and_the_commands():
    proc = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), "--dry-run"], capture_output=True,
                          text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| ") and "not run (dry run)" in line]
    assert [r.split("|")[1].strip() for r in rows] == STEPS
    assert "torch.distributed.run --standalone --nproc-per-node=1 -m benchmark.cli embed" in proc.stdout
    assert "--judge-device cuda" in proc.stdout and proc.stdout.count("--device cuda --preset paper --steps 30") == 3


def test_without_cuda_it_refuses_before_any_work(monkeypatch, capsys):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gpu_check.main([]) == 2
    assert "no CUDA device" in capsys.readouterr().err


def test_cpu_comparison_flags_a_moved_score(tmp_path, monkeypatch):
    import json

    stored = next(p for p in sorted(gpu_check.STORED.glob("*.json"))
                  if json.loads(p.read_text())["judge"].get("name") in ("dlib-torch",))
    result = json.loads(stored.read_text())
    out = tmp_path / gpu_check.DATASET / "oracle"
    out.mkdir(parents=True)
    (out / stored.name).write_text(json.dumps(result))
    assert gpu_check.compare_with_cpu(tmp_path).status == "ok"
    metric = next(iter(result["scores"]))
    result["scores"][metric]["value"] = result["scores"][metric]["value"] * 1.01 + 0.01
    (out / stored.name).write_text(json.dumps(result))
    row = gpu_check.compare_with_cpu(tmp_path)
    assert row.status == "FAIL" and metric in row.note


def test_expected_paper_time_is_the_slice_rate_times_the_full_presets_steps(tmp_path):
    """A known answer: a slice whose steps take 2 s (wen-gan's voice stage) and 5 s (its GAN stage), first step of
    each stage slower (warm-up, dropped), extrapolates to 2 s x 12857 + 5 s x 30000 (the paper preset's stages)."""
    import json

    elapsed, lines = 0.0, []
    for stage, n, seconds in (("voice", 9, 2.0), ("gan", 21, 5.0)):
        for k in range(n):
            elapsed += seconds * (10 if k == 0 else 1)
            lines.append(json.dumps({"step": len(lines) + 1, "stage": stage, "loss": 1.0, "elapsed_s": elapsed}))
    path = tmp_path / "losses.jsonl"
    path.write_text("\n".join(lines) + "\n")
    row = gpu_check.expected_paper_time("wen-gan", path)
    assert row.status == "ok", row
    assert row.value == f"{(2.0 * 12857 + 5.0 * 30000) / 3600:.2f} h"
    path.write_text("\n".join(lines[:9]) + "\n")  # no GAN step: refused, not extrapolated from nothing
    assert gpu_check.expected_paper_time("wen-gan", path).status == "FAIL"
