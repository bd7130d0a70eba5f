"""Do the learned baselines' faces, and the judges' embeddings and scores of them, reproduce across CPUs?

Another CPU is emulated by the kernel choices a CPU makes at run time, each in a fresh process:

* ``ATEN_CPU_CAPABILITY=default``: torch's non-vectorised kernels (what a CPU without AVX2 runs; an AVX-512
  machine runs a third family);
* oneDNN (mkldnn) off: torch's own float32 convolutions instead of oneDNN's;
* two threads instead of one: other reduction splits (one by default: on a loaded 2-core machine OpenMP's
  waiting made two threads ten times slower);
* ``MKL_ENABLE_INSTRUCTIONS=SSE4_2``: MKL's BLAS and FFT kernels of an older CPU (torch's matmul, FFT, float64
  convolutions);
* numpy and OpenBLAS without AVX2 (``NPY_DISABLE_CPU_FEATURES``, ``OPENBLAS_CORETYPE=Sandybridge``; librosa,
  resemblyzer's preprocessing) and OpenCV without AVX2/AVX/FMA (``OPENCV_CPU_DISABLE``; the sface judge);
* all of them at once.

For each learned baseline (toy checkpoints in ``leaderboards/checkpoints/toy/``, as ``leaderboards/regenerate.sh``
runs them) and each precision (``float32``: the status quo before float64 inference, ``baselines.trained``;
``float64``: now), every variant generates the toy world's probe faces through ``run_many`` (no cache read or
written: ``use_cache=False``, so no embedding, speaker embedding or trial file is reused between processes) and
scores them with one judge on the realism, feature and stratified protocols. The table compares each variant with
the first one (the machine's own defaults, two threads): faces whose uint8 bytes differ, the largest pixel
difference, the largest embedding difference of generated and of real faces (the real faces are embedded
afresh in every process), and the largest relative change of
any score value or CI end (FD and KID named apart from the other continuous metrics); for rates (accuracy, top-k,
R@k, ...) the largest change of the value and of a CI end in trials (``|Δ|·n``: 1 is one flipped trial).

    python benchmarks/cross_cpu.py                                    # all three baselines, dlib-torch judge
    python benchmarks/cross_cpu.py --models wen-gan --judge dlib --precisions float64
    python benchmarks/cross_cpu.py --reference-model mean-face --dataset vox1-mini --split validation+test \
        --judge dlib-torch --precisions float64 --protocols realism  # a judge's drift alone (FD)

Worker mode (``--worker``) is what the parent runs in each fresh process.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NO_AVX2 = "AVX2 FMA3 AVX512F AVX512CD AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL AVX512_SPR F16C"
VARIANTS: dict[str, dict[str, str]] = {
    "native": {},  # this CPU's own choices, one thread
    "2-threads": {"CROSS_CPU_THREADS": "2", "OMP_NUM_THREADS": "2"},
    "aten-default": {"ATEN_CPU_CAPABILITY": "default"},
    "no-onednn": {"CROSS_CPU_MKLDNN": "0"},
    "mkl-sse4.2": {"MKL_ENABLE_INSTRUCTIONS": "SSE4_2"},
    "numpy-opencv-no-avx2": {"NPY_DISABLE_CPU_FEATURES": NO_AVX2, "OPENBLAS_CORETYPE": "Sandybridge",
                             "OPENCV_CPU_DISABLE": "AVX2,FMA3,AVX,FP16"},
}
VARIANTS["all"] = {k: v for env in list(VARIANTS.values())[2:] for k, v in env.items()}  # every one but threads


def worker(args) -> None:
    """One fresh process: generate, judge and score under the environment it was started with; save it all."""
    import numpy as np
    import torch

    torch.set_num_threads(int(os.environ.get("CROSS_CPU_THREADS", "1")))
    torch.backends.mkldnn.enabled = os.environ.get("CROSS_CPU_MKLDNN", "1") == "1"
    dtype = {"float32": torch.float32, "float64": torch.float64}[args.precision]
    import baselines.speaker
    import baselines.trained

    baselines.trained.INFERENCE_DTYPE = dtype  # float32: the code path before float64 inference
    baselines.speaker.COMPUTE_DTYPE = dtype
    from benchmark.engine.run import run_many

    faces: dict[str, np.ndarray] = {}
    captured = {}

    def on_batch(ids, batch):
        for u, face in zip(ids, batch):
            faces[u] = face.numpy().copy()

    def before_scoring(generator, generated, real, plans):
        captured["gen"] = (list(generated.utterance_ids), generated.vectors.copy())
        captured["real"] = (list(real.ids), real.vectors.copy())
        return None

    model_args = {"checkpoint": str(ROOT / f"leaderboards/checkpoints/{args.dataset}/{args.model}.pt")} \
        if args.checkpoint else {}
    t = time.perf_counter()
    results = run_many(args.model, args.protocols.split(","), args.dataset, model_args=model_args, seed=0,
                       judge=args.judge, split=args.split, use_cache=False, write=False, progress=False,
                       on_batch=on_batch, before_scoring=before_scoring)
    scores = {}
    for r in results:
        blocks = [("all", r["scores"])] + sorted(r.get("strata", {}).items())
        for stratum, block in blocks:
            for metric, s in block.items():
                scores[f"{r['protocol']['name']}/{stratum}/{metric}"] = [s["value"], *s["ci95"], s.get("n") or 1]
    ids = sorted(faces)
    gen_ids, gen_vec = captured["gen"]
    real_ids, real_vec = captured["real"]
    np.savez(args.out, ids=np.array(ids), faces=np.stack([faces[u] for u in ids]) if ids else np.zeros(0, np.uint8),
             gen_ids=np.array(gen_ids), gen_vec=gen_vec, real_ids=np.array(real_ids), real_vec=real_vec,
             scores=json.dumps(scores), seconds=time.perf_counter() - t)


def launch(args, model: str, precision: str, variant: str, out: Path) -> float:
    env = {**os.environ, **VARIANTS[variant], "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--model", model, "--precision", precision,
           "--judge", args.judge, "--protocols", args.protocols, "--dataset", args.dataset, "--out", str(out)]
    if args.split:
        cmd += ["--split", args.split]
    if args.reference_model:
        cmd += ["--no-checkpoint"]
    t = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"worker {model} {precision} [{variant}] failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - t


def relative(a: float, b: float) -> float:
    return abs(b - a) / max(abs(a), 1e-12)


def compare(base: dict, other: dict) -> dict:
    import numpy as np

    assert list(base["ids"]) == list(other["ids"]), "the variants generated different utterances"
    out = {}
    if base["faces"].size:
        diff = base["faces"].astype(np.int16) - other["faces"].astype(np.int16)  # [U, 3, S, S]
        out["faces differing"] = f"{int((diff != 0).reshape(len(diff), -1).any(1).sum())}/{len(diff)}"
        out["bytes differing"] = int((diff != 0).sum())
        out["max |Δpixel|"] = int(np.abs(diff).max())
    out["max |Δemb| gen"] = float(np.abs(base["gen_vec"] - other["gen_vec"]).max())
    out["max |Δemb| real"] = float(np.abs(base["real_vec"] - other["real_vec"]).max())
    sa, sb = json.loads(str(base["scores"])), json.loads(str(other["scores"]))
    from benchmark.reports.tolerance import metric_kind

    worst = {"fd": 0.0, "kid": 0.0, "continuous": 0.0}
    flips = ci_flips = 0.0
    for key, values in sa.items():
        metric = key.rsplit("/", 1)[1]
        kind = metric_kind(metric)
        kind = metric[:2] if kind == "set" and metric.startswith("fd") else "kid" if kind == "set" else kind
        n = values[3]
        for i, (a, b) in enumerate(zip(values[:3], sb[key][:3])):
            if a is None or b is None or a != a or b != b:
                continue
            if kind == "rate":  # in trials: a flipped trial moves the value by 1/n
                if i == 0:
                    flips = max(flips, abs(b - a) * n)
                else:
                    ci_flips = max(ci_flips, abs(b - a) * n)
            else:
                worst[kind] = max(worst[kind], relative(a, b))
    out["FD rel"] = worst["fd"]
    out["KID rel"] = worst["kid"]
    out["continuous rel"] = worst["continuous"]
    out["rate |Δ|·n"] = round(flips, 3)
    out["rate CI |Δ|·n"] = round(ci_flips, 3)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default="wen-gan,speech2face,ar-spm")
    p.add_argument("--reference-model", default=None, help="a generator without checkpoint (e.g. mean-face)")
    p.add_argument("--precisions", default="float32,float64")
    p.add_argument("--judge", default="dlib-torch")
    p.add_argument("--protocols", default="realism,feature,stratified")
    p.add_argument("--dataset", default="toy")
    p.add_argument("--split", default=None)
    p.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated names of VARIANTS")
    p.add_argument("--json", default=None, help="also write the table rows here")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--model", help=argparse.SUPPRESS)
    p.add_argument("--precision", help=argparse.SUPPRESS)
    p.add_argument("--no-checkpoint", dest="checkpoint", action="store_false", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(args)
        return 0
    import numpy as np
    from tabulate import tabulate

    print(f"load before: {os.getloadavg()}", flush=True)
    models = [args.reference_model] if args.reference_model else args.models.split(",")
    variants = args.variants.split(",")
    rows = []
    with tempfile.TemporaryDirectory(prefix="cross-cpu-") as tmp:
        for model in models:
            for precision in args.precisions.split(","):
                runs = {}
                for variant in variants:
                    out = Path(tmp) / f"{model}-{precision}-{len(runs)}.npz"
                    seconds = launch(args, model, precision, variant, out)
                    runs[variant] = dict(np.load(out))
                    row = {"model": model, "precision": precision, "variant": variant, "judge": args.judge,
                           "worker s": round(seconds, 1),
                           "generate+score s": round(float(runs[variant]["seconds"]), 1)}
                    if variant != variants[0]:
                        row.update(compare(runs[variants[0]], runs[variant]))
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    headers = ["model", "precision", "judge", "variant", "faces differing", "bytes differing", "max |Δpixel|",
               "max |Δemb| gen", "max |Δemb| real", "FD rel", "KID rel", "continuous rel", "rate |Δ|·n",
               "rate CI |Δ|·n", "worker s"]
    print(tabulate([[r.get(h, "") for h in headers] for r in rows], headers=headers, floatfmt=".3g"))
    print(f"load after: {os.getloadavg()}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
