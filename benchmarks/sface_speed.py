"""Faces/s of the sface judge's stages on vox1-s2f's 328 real faces (a measurement, not a test).

Stages: detect+align (YuNet + ``alignCrop``, OpenCV, this process) and embed (SFace: OpenCV's
``FaceRecognizerSF.feature`` one crop at a time — the reference — and onnxruntime batched at several batch sizes).
Each embedding variant runs ``--rounds`` times, interleaved, and the best round is printed (the machine is shared).

    OMP_NUM_THREADS=1 python benchmarks/sface_speed.py [--data-dir data] [--rounds 3] [--device cpu]
"""

from __future__ import annotations

import argparse
import glob
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-sizes", default="1,8,32,128")
    args = parser.parse_args()

    import cv2
    import onnxruntime as ort

    from benchmark.data.images import is_blank, load_image
    from benchmark.judges.sface import SFaceJudge

    files = sorted(glob.glob(f"{args.data_dir}/vox1-s2f/voxceleb1/faces/*/*/*.jpg"))
    images = [im for im in map(load_image, files) if not is_blank(im)]
    print(f"{len(images)} real faces of vox1-s2f; opencv {cv2.__version__} ({cv2.getNumThreads()} threads), "
          f"onnxruntime {ort.__version__}, device {args.device}")
    judges = {bs: SFaceJudge(device=args.device, batch_size=bs, backend="onnxruntime")
              for bs in map(int, args.batch_sizes.split(","))}
    judge = next(iter(judges.values()))

    t = time.perf_counter()
    crops, detected = judge.aligned_crops(images)
    dt = time.perf_counter() - t
    print(f"detect+align (YuNet at 224, alignCrop; 1 process): {len(images) / dt:7.1f} faces/s "
          f"({detected.sum()} of {len(images)} detected)")

    variants = {"embed, OpenCV FaceRecognizerSF.feature, one at a time": judge.reference_features}
    variants.update({f"embed, onnxruntime batched, batch {bs}": j.features for bs, j in judges.items()})
    best = {name: 0.0 for name in variants}
    for _ in range(args.rounds):
        for name, fn in variants.items():
            t = time.perf_counter()
            fn(crops)
            best[name] = max(best[name], len(crops) / (time.perf_counter() - t))
    for name, rate in best.items():
        print(f"{name}: {rate:7.1f} faces/s")


if __name__ == "__main__":
    main()
