"""How fast ``bench`` answers before it does any work: ``bench --help``, every ``bench <cmd> --help`` and an argument
error, each in a fresh process as a new user runs them (issue 18: under 1 s each).

    python benchmarks/cli_speed.py [--repeat 3]

Each command runs ``--repeat`` times with ``python -m benchmark.cli`` (the installed ``bench`` script adds only its
launcher); the table shows the best wall time, the CPU time (user + system) of that run, and a bare
``python -c pass`` for comparison. On a shared machine the wall time carries the load of the others; the CPU time
does not.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def subcommands() -> list[str]:
    """Names of every ``bench`` subcommand, read from the parser itself."""
    sys.path.insert(0, str(ROOT))
    from benchmark.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))  # noqa: SLF001
    return list(sub.choices)


def timed(args: list[str]) -> tuple[float, float, int]:
    """(wall s, CPU s of the child, exit status) of one fresh ``python`` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs per command; the best is shown (default 3)")
    opts = ap.parse_args()
    cases = [("python -c pass (baseline)", ["-c", "pass"]), ("bench --help", ["-m", "benchmark.cli", "--help"])]
    cases += [(f"bench {c} --help", ["-m", "benchmark.cli", c, "--help"]) for c in subcommands()]
    cases += [("bench run (argument error)", ["-m", "benchmark.cli", "run", "--protocol", "stratified"]),
              ("bench ls nothing (argument error)", ["-m", "benchmark.cli", "ls", "nothing"])]
    rows = []
    for label, args in cases:
        best = min((timed(args) for _ in range(opts.repeat)), key=lambda r: r[0])
        rows.append((label, *best))
    width = max(len(r[0]) for r in rows)
    print(f"{'command':<{width}}  {'wall s':>7}  {'cpu s':>6}  exit")
    for label, wall, cpu, rc in rows:
        print(f"{label:<{width}}  {wall:7.2f}  {cpu:6.2f}  {rc:4d}")
    worst = max(rows[1:], key=lambda r: r[1])
    print(f"\nslowest: {worst[0]} {worst[1]:.2f} s wall, {worst[2]:.2f} s CPU (best of {opts.repeat}); "
          f"python -c pass: {rows[0][1]:.2f} s wall")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
