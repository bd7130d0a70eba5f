"""What ``bench train --preset paper`` costs: floating-point operations per step of each stage (forward and backward,
counted by ``torch.utils.flop_counter.FlopCounterMode``), the run's total, and the time that total takes at a stated
sustained throughput. It is an estimate for planning a GPU run (issue 24), not a measurement: the measured seconds
per step on CUDA come from ``benchmarks/gpu_check.sh`` (its "paper preset" rows) when a GPU is lent.

    python benchmarks/paper_preset_cost.py              # a markdown table, one row per baseline
    python benchmarks/paper_preset_cost.py --tflops 20  # the sustained throughput to divide by (default: 10 and 50)

The batches are synthetic, sized like vox1-s2f's training data (95 identities; crops drawn from 8 s utterances, the
preset's crop range); only the operation count matters, not the values. Convolutions and matrix products are counted
(FlopCounterMode's registry); element-wise work (BatchNorm, activations, MS-SSIM's pooling) is not, so the estimate is
a lower bound on work.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

N_IDENTITIES = 95  # vox1-s2f's training split
UTTERANCE_FRAMES = 800  # 8 s at the front end's 10 ms hop


def synthetic_data(image_size: int):
    """A TrainData of N_IDENTITIES identities with 2 utterances and 2 faces each (values random; sizes real)."""
    from baselines.train_data import TrainData

    g = torch.Generator().manual_seed(0)
    label = torch.arange(N_IDENTITIES).repeat_interleave(2)
    return TrainData(
        dataset_id="synthetic", manifest_sha256="0" * 64, identities=[f"id{k:05d}" for k in range(N_IDENTITIES)],
        genders=["m" if k % 2 else "f" for k in range(N_IDENTITIES)], utt_ids=[f"u{i}" for i in range(len(label))],
        utt_label=label, feats=[torch.randn(64, UTTERANCE_FRAMES, generator=g) for _ in label],
        face_ids=[f"f{i}" for i in range(len(label))],
        faces=torch.randint(0, 256, (len(label), 3, image_size, image_size), generator=g, dtype=torch.uint8),
        face_label=label.clone(), judge=F.normalize(torch.randn(len(label), 128, generator=g), dim=1),
        speaker=F.normalize(torch.rand(len(label), 256, generator=g), dim=1))


def stage_costs(name: str) -> dict:
    """{"config", "plan": [(stage, steps, flops per step, cpu seconds of that one step)]} of ``name``'s paper preset."""
    from torch.utils.flop_counter import FlopCounterMode

    from baselines.train import build_recipe, recipe_class, resolve_config, stage_plan

    cfg = resolve_config(name, None, "paper")
    cls = recipe_class(name)
    data = synthetic_data(cls.image_size_of(cfg))
    torch.manual_seed(0)
    recipe = build_recipe(name, cfg, cls.info_from_data(cfg, data))
    recipe.fit_data(data)
    plan = []
    for stage, start, end in stage_plan(cls.stages(cfg), int(cfg["steps"])):
        if end <= start:
            continue
        counter = FlopCounterMode(display=False)
        t0 = time.perf_counter()
        with counter:
            recipe.step(stage, data, int(cfg["batch_size"]), torch.Generator().manual_seed(1), "cpu")
        plan.append((stage, end - start, counter.get_total_flops(), time.perf_counter() - t0))
    return {"config": cfg, "plan": plan}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tflops", type=float, nargs="*", default=[10.0, 50.0],
                    help="sustained TFLOP/s to divide by (default 10 and 50)")
    ap.add_argument("--baselines", default="wen-gan,speech2face,ar-spm")
    args = ap.parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    head = ["baseline", "batch", "image", "steps (per stage)", "TFLOP per step (per stage)", "total PFLOP",
            *[f"hours at {t:g} TFLOP/s" for t in args.tflops], "CPU s for one step (per stage)"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for name in args.baselines.split(","):
        cost = stage_costs(name)
        cfg, plan = cost["config"], cost["plan"]
        total = sum(steps * flops for _, steps, flops, _ in plan)
        row = [name, str(cfg["batch_size"]), f"{cfg.get('image_size', 64)}",
               ", ".join(f"{s} {n}" for s, n, _, _ in plan),
               ", ".join(f"{s} {f / 1e12:.3f}" for s, _, f, _ in plan), f"{total / 1e15:.1f}",
               *[f"{total / (t * 1e12) / 3600:.2f}" for t in args.tflops],
               ", ".join(f"{s} {sec:.1f}" for s, _, _, sec in plan)]
        print("| " + " | ".join(row) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
