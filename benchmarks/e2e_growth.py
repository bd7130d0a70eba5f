"""End-to-end cost against dataset size on real pipelines (issue 11 §6; a measurement, not a test).

The toy world (``benchmark.data.toy.make_toy_world``) is made at several sizes (identities as a parameter; each
identity has 6 utterances and 10 faces, as in the default 48-identity world) and scored end to end with
``--protocol all`` by ``benchmark.engine.run.run_many``, read through the VoxCeleb1 loader (``vox1-vggface`` with
``data_root`` = the world: the toy world uses that layout; the runs are labelled *partial*, which changes nothing
in the work done). Each size runs twice: **cold** (an empty cache directory: every real and generated face goes
through the judge, speaker embeddings and attributes are computed) and **warm** (the same cache again: real faces
read back). The per-stage wall times are the engine's own (``result["timing"]``): manifest, real faces (judge),
generation + judge of the generated faces, scoring of all protocols (trials, metrics, bootstrap, speaker and
attribute analyses), and the rest (I/O, result writing).

    OMP_NUM_THREADS=1 python benchmarks/e2e_growth.py --sizes 48,96,192 --model oracle

Worlds are made under ``--work`` (default /tmp/v2f-growth) and reused across runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="48,96,192", help="identities per world (comma-separated)")
    parser.add_argument("--model", default="oracle", help="generator (default oracle)")
    parser.add_argument("--work", default="/tmp/v2f-growth", help="folder for the worlds and caches")
    parser.add_argument("--judge", default="dlib")
    args = parser.parse_args()

    from benchmark.data.toy import make_toy_world

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    print(f"load average {os.getloadavg()}; model {args.model}; judge {args.judge}; --protocol all")
    header = (f"{'ids':>5} {'utts':>6} {'faces':>6} {'make s':>7} {'run':>5} {'manifest':>9} {'real faces':>11} "
              f"{'gen+judge':>10} {'scoring':>8} {'other':>7} {'total s':>8} {'results':>8}")
    print(header)
    for n in [int(x) for x in args.sizes.split(",")]:
        world = work / f"toy-n{n}"
        t = time.perf_counter()
        if not (world / "vox1_meta.csv").is_file():
            make_toy_world(world, n_identities=n, seed=0)
        made = time.perf_counter() - t
        cache = work / f"cache-n{n}"
        shutil.rmtree(cache, ignore_errors=True)
        for label in ("cold", "warm"):
            os.environ["VOICE2FACE_CACHE_DIR"] = str(cache)
            row = run(args.model, world, args.judge)
            print(f"{n:>5} {row['utts']:>6} {row['faces']:>6} {made:>7.1f} {label:>5} {row['manifest_s']:>9.2f} "
                  f"{row['real_faces_s']:>11.2f} {row['generate_and_embed_s']:>10.2f} {row['score_s']:>8.2f} "
                  f"{row['other_s']:>7.2f} {row['wall_s']:>8.2f} {row['results']:>8}", flush=True)
            made = 0.0
    print(f"load average {os.getloadavg()}")


def run(model: str, world: Path, judge: str) -> dict:
    """One ``run_many(model, ["all"], …)`` on the world; its timing plus the wall time and counts."""
    from benchmark import settings
    from benchmark.data.datasets import load_dataset
    from benchmark.engine.run import run_many

    getattr(settings, "reset_caches", lambda: None)()
    manifest = load_dataset("vox1-vggface", data_root=str(world))
    t = time.perf_counter()
    results = run_many(model, ["all"], "vox1-vggface", data_root=str(world), progress=False, write=False,
                       strict=False, judge=judge)
    wall = time.perf_counter() - t
    timing = results[0]["timing"]
    stages = {k: float(timing.get(k, 0.0)) for k in ("manifest_s", "real_faces_s", "generate_and_embed_s")}
    scoring = sum(float(r["timing"].get("score_s", 0.0)) for r in results)
    other = wall - sum(stages.values()) - scoring
    return {**stages, "score_s": scoring, "other_s": other, "wall_s": wall, "results": len(results),
            "utts": len(manifest.utterances), "faces": len(manifest.faces)}


if __name__ == "__main__":
    main()
