"""Cold end-to-end time of ``bench run --protocol all`` on vox1-mini with the old default judge (``dlib``, dlib-bin)
against the new one (``dlib-torch``): the measurement behind issue 22's "≥ 2× faster" target.

Run: ``python benchmarks/default_judge_speed.py`` (about 5–15 minutes on a shared 2-core CPU).

Each judge gets one run of

    python -m benchmark.cli run --model oracle --protocol all --dataset vox1-mini --split validation+test \
        --seed 0 --quiet --judge JUDGE --results-dir TMP/results-JUDGE

in a fresh process with a fresh, empty cache folder (``VOICE2FACE_CACHE_DIR=TMP/cache-JUDGE``): "cold" means no
embedding, no converted weights and no trials are cached, so the time includes loading the judge and embedding
every real and generated face. Both runs use the same machine, one after the other, with the same environment
otherwise. The script prints the load average (``uptime``) before and after, each wall time and the ratio
dlib / dlib-torch. One run each: on a shared machine a single run varies by 10–30 % with the other load.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
JUDGES = ("dlib", "dlib-torch")


def uptime() -> str:
    """The machine's ``uptime`` line (load averages), or "?" where the command is missing."""
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def cold_run(judge: str, tmp: Path, dataset: str, split: str) -> float:
    """One cold ``bench run --model oracle --protocol all`` with ``judge``; returns its wall time in seconds.

    Raises:
        SystemExit: the run failed (its exit status and stderr tail are printed).
    """
    env = dict(os.environ, VOICE2FACE_CACHE_DIR=str(tmp / f"cache-{judge}"), PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "benchmark.cli", "run", "--model", "oracle", "--protocol", "all", "--dataset",
           dataset, "--split", split, "--seed", "0", "--quiet", "--judge", judge, "--results-dir",
           str(tmp / f"results-{judge}")]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"`{' '.join(cmd)}` failed with exit status {proc.returncode}")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="vox1-mini")
    parser.add_argument("--split", default="validation+test")
    args = parser.parse_args()
    print(f"before: {uptime()}")
    times = {}
    with tempfile.TemporaryDirectory(prefix="default-judge-speed-") as tmp:
        for judge in JUDGES:
            times[judge] = cold_run(judge, Path(tmp), args.dataset, args.split)
            print(f"  {judge:<10} {times[judge]:7.1f} s  (cold: empty cache, one run)", flush=True)
    print(f"after:  {uptime()}")
    print(f"\n| judge | cold `bench run --model oracle --protocol all --dataset {args.dataset} --split {args.split}` |")
    print("|---|---|")
    for judge in JUDGES:
        print(f"| {judge} | {times[judge]:.1f} s |")
    print(f"\nratio dlib / dlib-torch: {times['dlib'] / times['dlib-torch']:.2f}x (target >= 2x)")


if __name__ == "__main__":
    main()
