"""Faces per second of the dlib judge's two stages, dlib-bin against dlib-torch.

Run: ``python benchmarks/judge_speed.py`` (CPU; about 2–4 minutes on 2 cores) or
``python benchmarks/judge_speed.py --device cuda`` (adds dlib-torch on the GPU when torch sees one).

Stages, each timed on the same real faces (vox1-s2f and vox1-mini face crops from the data directory, repeated
to ``--n`` images; the models are loaded and warmed up before timing):

- detect+align: image -> 150×150 chip. dlib-bin: upscaling rule, HOG detector (one upsampling step), 5-point
  landmarks, ``dlib.get_face_chip``. dlib-torch: ``DlibTorchJudge.chips``: the same detector and landmarks
  over the process pool, chips by its "auto" backend (``dlib.get_face_chip`` in the workers on the CPU,
  ``extract_face_chips`` batched on a GPU).
- embed: chips -> 128-d descriptors, on dlib-bin's chips. dlib-bin: ``face_recognition_model_v1
  .compute_face_descriptor`` on lists of chips; dlib-torch: ``DlibTorchJudge.descriptors`` (``DlibResNet`` on
  batches of ``--batch-size`` chips; torch uses all its CPU threads).

Rows: dlib-bin in one process; dlib-bin over a process pool of ``--workers`` processes (default: all cores);
dlib-torch on the CPU (detection over the same pool; the network with torch's default threads, and again on one
thread); dlib-torch on CUDA (``--device cuda``). Timings on a shared machine vary with the other load (and
torch's intra-op threads suffer most from it); the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

CHIP = 150

_LOCATOR = None
_EMBEDDER = None


def _init_dlib_worker() -> None:
    global _LOCATOR, _EMBEDDER
    import dlib
    import face_recognition_models as frm

    from benchmark.judges.dlib_detect import Locator

    _LOCATOR = Locator()
    _EMBEDDER = dlib.face_recognition_model_v1(frm.face_recognition_model_location())


def _dlib_chip(image: np.ndarray) -> np.ndarray:
    """dlib-bin's detect+align of one image (the work of ``DlibJudge.chip``)."""
    import dlib

    loc = _LOCATOR(image)
    src = loc.upscaled if loc.upscaled is not None else image
    parts = [dlib.point(int(x), int(y)) for x, y in loc.landmarks]
    shape = dlib.full_object_detection(dlib.rectangle(0, 0, 1, 1), parts)
    return np.asarray(dlib.get_face_chip(src, shape, size=CHIP, padding=0.25))


def _dlib_chip_only(src: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    import dlib

    parts = [dlib.point(int(x), int(y)) for x, y in landmarks]
    shape = dlib.full_object_detection(dlib.rectangle(0, 0, 1, 1), parts)
    return np.asarray(dlib.get_face_chip(src, shape, size=CHIP, padding=0.25))


def _dlib_embed(chips: list[np.ndarray]) -> np.ndarray:
    return np.asarray(_EMBEDDER.compute_face_descriptor(chips, num_jitters=0), dtype=np.float32)


def _locate(image: np.ndarray):
    return _LOCATOR(image)


def load_faces(data_dir: Path, n: int) -> list[np.ndarray]:
    from benchmark.data.images import is_blank, load_image

    paths = sorted((data_dir / "vox1-s2f" / "voxceleb1" / "faces").glob("*/*/*.jpg"))
    paths += sorted((data_dir / "vox1-mini" / "vggface").glob("*/*.jpg"))
    paths += sorted((data_dir / "vox1-mini" / "voxceleb1" / "faces").glob("*/*/*.jpg"))
    if not paths:
        raise SystemExit(f"no face images under {data_dir}/vox1-s2f or {data_dir}/vox1-mini; pass --data-dir")
    images = [im for im in (load_image(p) for p in paths) if not is_blank(im)]
    return [images[i % len(images)] for i in range(n)]


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def main() -> None:
    import torch
    from tabulate import tabulate

    from benchmark.settings import data_dir

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=256, help="faces timed per stage (default 256)")
    parser.add_argument("--workers", type=int, default=os.cpu_count(),
                        help="processes of the pools (default: all cores)")
    parser.add_argument("--batch-size", type=int, default=64, help="chips per network call (default 64)")
    parser.add_argument("--device", default="cpu", help="'cuda' adds dlib-torch on the GPU")
    parser.add_argument("--data-dir", default=None, help="folder holding vox1-s2f/ and vox1-mini/")
    args = parser.parse_args()

    print(f"cores: {os.cpu_count()}, torch threads: {torch.get_num_threads()}, torch {torch.__version__}, "
          f"load average before: {os.getloadavg()[0]:.2f}")
    images = load_faces(data_dir(args.data_dir), args.n)
    n = len(images)
    rows = []

    # dlib-bin, one process
    _init_dlib_worker()
    _dlib_chip(images[0]), _dlib_embed([_dlib_chip(images[0])])  # warm-up
    t = time.perf_counter()
    chips = [_dlib_chip(im) for im in images]
    t_align = time.perf_counter() - t
    t = time.perf_counter()
    ref = np.concatenate([_dlib_embed(chips[i:i + args.batch_size]) for i in range(0, n, args.batch_size)])
    t_embed = time.perf_counter() - t
    rows.append(["dlib-bin, 1 process", rate(n, t_align), rate(n, t_embed), rate(n, t_align + t_embed)])
    dlib_embed_rate = rate(n, t_embed)

    # dlib-bin, process pool
    with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn"), initializer=_init_dlib_worker) as pool:
        list(pool.map(_dlib_chip, images[:args.workers]))  # start and warm up every worker
        t = time.perf_counter()
        pool_chips = list(pool.map(_dlib_chip, images, chunksize=4))
        t_align = time.perf_counter() - t
        t = time.perf_counter()
        step = max(1, -(-n // (args.workers * 4)))
        vecs = np.concatenate(list(pool.map(_dlib_embed, [pool_chips[i:i + step] for i in range(0, n, step)])))
        t_embed = time.perf_counter() - t
    assert np.allclose(vecs, ref, atol=1e-5)
    rows.append([f"dlib-bin, pool of {args.workers}", rate(n, t_align), rate(n, t_embed),
                 rate(n, t_align + t_embed)])

    # dlib-torch: DlibTorchJudge itself (detection over the pool; chips by its "auto" backend; network on device)
    from benchmark.judges.dlib_torch import DlibTorchJudge

    devices = ["cpu"]
    if args.device.startswith("cuda"):
        if torch.cuda.is_available():
            devices.append(args.device)
        else:
            print(f"--device {args.device}: torch sees no CUDA device; GPU row skipped")
    chip_tensor = torch.from_numpy(np.stack(chips))
    for device in devices:
        with DlibTorchJudge(batch_size=args.batch_size, device=device, workers=args.workers) as judge:
            judge.chips(images[:2 * args.workers])  # start and warm up the workers
            judge.descriptors(chip_tensor[:args.batch_size])
            sync = torch.cuda.synchronize if device != "cpu" else (lambda: None)
            sync()
            t = time.perf_counter()
            torch_chips, _ = judge.chips(images)
            sync()
            t_align = time.perf_counter() - t
            t = time.perf_counter()
            vecs = judge.descriptors(chip_tensor)  # the same chips as dlib-bin's
            t_embed = time.perf_counter() - t
            if device == "cpu":  # one intra-op thread: what a CPU shared with other work often runs best
                threads = torch.get_num_threads()
                torch.set_num_threads(1)
                judge.descriptors(chip_tensor[:8])
                t = time.perf_counter()
                judge.descriptors(chip_tensor)
                t_embed1 = time.perf_counter() - t
                torch.set_num_threads(threads)
        cos = (vecs * ref).sum(1) / np.linalg.norm(vecs, axis=1) / np.linalg.norm(ref, axis=1)
        diff = np.abs(torch_chips.cpu().numpy().astype(int) - np.stack(chips).astype(int)).max()
        print(f"dlib-torch on {device} (chips: {judge.chip_backend}): descriptor cosine to dlib-bin on the same "
              f"chips min {cos.min():.7f}; chip max |diff| to dlib-bin's {diff}")
        rows.append([f"dlib-torch {device} (pool of {args.workers}, {judge.chip_backend} chips)", rate(n, t_align),
                     rate(n, t_embed), rate(n, t_align + t_embed)])
        if device == "cpu":
            rows.append(["dlib-torch cpu, network on 1 thread", None, rate(n, t_embed1), None])
            torch_cpu_embed_rate = rate(n, t_embed)
            torch_cpu1_embed_rate = rate(n, t_embed1)

    # for reference: torch chips on the CPU (what chip_backend="torch" costs there)
    from benchmark.judges.dlib_torch.chips import extract_face_chips

    located = [_locate(im) for im in images[:args.batch_size]]
    sources = [loc.upscaled if loc.upscaled is not None else im for im, loc in zip(images, located)]
    t = time.perf_counter()
    extract_face_chips(sources, np.stack([loc.landmarks for loc in located]))
    t_torch = time.perf_counter() - t
    t = time.perf_counter()
    [_dlib_chip_only(src, loc.landmarks) for src, loc in zip(sources, located)]
    t_dlib = time.perf_counter() - t
    print(f"chip cutting alone, {len(located)} chips: dlib.get_face_chip {rate(len(located), t_dlib):.0f}/s, "
          f"extract_face_chips on the CPU {rate(len(located), t_torch):.0f}/s")

    print(f"\n{n} faces; faces/s (higher is better)")
    print(tabulate(rows, headers=["judge", "detect+align", "embed", "both"], floatfmt=".1f", missingval="-"))
    print(f"\nembed speed-up of dlib-torch on the CPU over dlib-bin in one process: "
          f"{torch_cpu_embed_rate / dlib_embed_rate:.1f}x with {torch.get_num_threads()} torch threads, "
          f"{torch_cpu1_embed_rate / dlib_embed_rate:.1f}x with 1 (target: 3x)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
