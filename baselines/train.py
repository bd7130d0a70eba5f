"""``bench train``: train a learned baseline (``wen-gan``, ``speech2face``, ``ar-spm``) on a dataset's training split.

    bench train --baseline wen-gan --dataset toy --steps 2000 --batch-size 128 --seed 0 --out runs/wen-gan
    bench run --model wen-gan --model-arg checkpoint=runs/wen-gan/checkpoint.pt --protocol stratified

What a run does:

* **Data** (``TrainData``): only identities of ``manifest.split("train")`` (VGGFace1 names F–Z, Wen et al. 2019),
  and of those only the utterances and faces outside the videos that ``id-topk-seen`` holds out
  (``benchmark.data.heldout``; the checkpoint records ``HOLDOUT_RULE``);
  asking for a test identity (``identities=`` / ``--identities``) is refused with a ``BenchError``. Voices go
  through the Wen et al. front end (``baselines.voice``: VAD, 64-bin log mel, per-bin normalisation) once;
  faces (every source, blank ones excluded) are centre-cropped and resized to the recipe's image size. When a
  recipe needs them, the judge's embeddings of the training faces (the default judge,
  ``benchmark.judges.DEFAULT_JUDGE``, cached) and resemblyzer speaker embeddings of the training voices
  (``baselines.speaker``, cached) are added.
* **Recipe**: each baseline module defines a recipe class (``RECIPES``) with its defaults, its modules and
  optimisers, its stages (e.g. voice pre-training, then the GAN) as fractions of ``--steps``, one
  ``step(stage, data, batch_size, generator) -> {loss name: value}`` and ``infer``. The ``"loss"`` entry is the
  quantity each stage is expected to lower (tests check it does).
* **Seeding**: weights are initialised after ``torch.manual_seed(seed)``; step ``s`` draws every random number
  (batch indices, crops, flips, noise) from its own ``torch.Generator`` seeded with ``step_seed(seed, s)``. A
  run resumed from a checkpoint therefore ends in the same state as an uninterrupted one (bit for bit on the
  same machine and thread count).
* **Outputs** in ``--out`` (default ``runs/<baseline>-<dataset>-seed<seed>``): ``checkpoint.pt`` written every
  ``--checkpoint-every`` steps and at the end (atomically), and ``losses.jsonl``, one JSON object per step
  (``{"step", "stage", <losses>, "elapsed_s"}``). A checkpoint holds the format version, baseline, config,
  step counts, seed, the training dataset id, manifest sha256 and training identity ids, the modules' weights
  and the optimisers' states. Its file sha256 becomes ``GeneratorMeta.weights_sha256`` when it is scored.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Sequence

import torch

from baselines.checkpoints import (CHECKPOINT_FORMAT, CHECKPOINT_VERSION, export_weights, load_checkpoint,
                                   save_checkpoint)
from baselines.train_data import TrainData, load_train_data, training_identities
from baselines.recipes import DEFAULT_CHECKPOINT_EVERY, RECIPES
from benchmark.data.fingerprint import file_sha256
from benchmark.data.heldout import HOLDOUT_RULE
from benchmark.errors import BenchError

__all__ = ["CHECKPOINT_FORMAT", "CHECKPOINT_VERSION", "DEFAULT_CHECKPOINT_EVERY", "RECIPES", "TrainData",
           "build_recipe", "export_weights", "file_sha256", "load_checkpoint", "load_train_data", "recipe_class",
           "resolve_config", "save_checkpoint", "stage_at", "stage_plan", "step_seed", "train", "training_identities"]
"""The training data (``baselines.train_data``), the checkpoint files (``baselines.checkpoints``) and the recipe
names (``baselines.recipes``) have their own modules, the ``bench train`` parser too (``baselines.train_cli``); their
names are re-exported here, where they were first defined."""


def recipe_class(name: str):
    """The recipe class of a trainable baseline. Raises ``BenchError`` ("did you mean") for an unknown name."""
    from benchmark.registry import import_object, lookup

    return import_object(lookup(name, RECIPES, "trainable baseline"))


def step_seed(seed: int, step: int) -> int:
    """63-bit seed of training step ``step`` (0-based) of a run seeded ``seed`` (sha256, order-independent)."""
    digest = hashlib.sha256(f"train:{int(seed)}:{int(step)}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def stage_plan(stages: Sequence[tuple[str, float]], steps: int) -> list[tuple[str, int, int]]:
    """Split ``steps`` over stages by their fractions: ``[(stage, first step, end step), ...]``.

    Each stage gets ``round(steps * fraction)`` steps (at least one when ``steps`` allows), the last one the rest.
    """
    out, start = [], 0
    for i, (name, fraction) in enumerate(stages):
        if i == len(stages) - 1:
            n = steps - start
        else:
            n = min(steps - start, max(1 if steps >= len(stages) else 0, int(round(steps * fraction))))
        out.append((name, start, start + n))
        start += n
    return out


def stage_at(plan: list[tuple[str, int, int]], step: int) -> str:
    for name, start, end in plan:
        if start <= step < end:
            return name
    return plan[-1][0]


def build_recipe(name: str, config: dict, info: dict, device: str = "cpu"):
    """Instantiate a recipe (modules and optimisers) from its config and data info; modules go to ``device``."""
    cls = recipe_class(name)
    recipe = cls(config, info)
    for module in recipe.modules.values():
        module.to(device)
    recipe.make_optimizers()
    return recipe


def resolve_config(name: str, overrides: dict | None, preset: str | None = None) -> dict:
    """A recipe's defaults, updated with a named preset (``PRESETS``, e.g. "cpu") and then with ``overrides``.

    Raises:
        BenchError: unknown preset or config keys (the message lists the known ones).
    """
    cls = recipe_class(name)
    config = json.loads(json.dumps(cls.DEFAULTS))
    if preset:
        if preset not in cls.PRESETS:
            raise BenchError(f"{name}: unknown preset {preset!r}; known: {sorted(cls.PRESETS) or 'none'}.")
        config.update(json.loads(json.dumps(cls.PRESETS[preset])))
    unknown = sorted(set(overrides or {}) - set(config))
    if unknown:
        raise BenchError(f"{name}: unknown config keys {unknown}; known: {sorted(config)}.")
    config.update(json.loads(json.dumps(overrides or {})))
    return config


def train(baseline: str, dataset: str = "toy", *, steps: int | None = None, batch_size: int | None = None,
          device: str = "cpu", seed: int = 0, out: str | os.PathLike[str] | None = None, resume: bool = False,
          checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY, config: dict | None = None, preset: str | None = None,
          identities: Sequence[str] | None = None, data_root: str | os.PathLike[str] | None = None,
          data_dir: str | os.PathLike[str] | None = None, progress: bool = True, data: TrainData | None = None,
          stop_after: int | None = None) -> Path:
    """Train a baseline and return the path of its checkpoint (module docstring).

    Args:
        baseline: "wen-gan", "speech2face" or "ar-spm" (``RECIPES``).
        dataset: a registered dataset (``bench ls datasets``).
        steps: total optimisation steps over all stages (default: the recipe's ``steps``).
        batch_size: examples per step (default: the recipe's ``batch_size``).
        device: torch device ("cpu", "cuda").
        seed: seeds the initial weights and every step's randomness.
        out: output folder (default ``runs/<baseline>-<dataset>-seed<seed>``).
        resume: continue from ``<out>/checkpoint.pt``; without it an existing checkpoint is an error.
        checkpoint_every: write the checkpoint every this many steps (and always at the end).
        config: overrides of the recipe's defaults (e.g. smaller widths), applied after ``preset``.
        preset: a named set of overrides from the recipe's ``PRESETS`` ("cpu": narrow networks that train in
            minutes on a CPU; the defaults are the papers' sizes).
        identities: train on this subset of the training split (test identities are refused).
        data_root, data_dir: where the dataset is (see ``benchmark.data.datasets``).
        progress: tqdm bar with the losses.
        data: prebuilt ``TrainData`` (tests share one); it must come from the same dataset and identities.
        stop_after: stop (after checkpointing) once this many steps are done, as if interrupted (tests).

    Returns:
        Path of ``checkpoint.pt``.

    Raises:
        BenchError: unknown baseline/dataset/config key, test identities, an existing checkpoint without
            ``resume`` (or a resume whose baseline, dataset, seed, config or steps differ), CUDA asked for but
            absent.
    """
    from tqdm import tqdm

    from benchmark.data.datasets import load_dataset

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise BenchError(f"device {device!r} requested but torch sees no CUDA device; use --device cpu.")
    cls = recipe_class(baseline)
    out = Path(out) if out else Path("runs") / f"{baseline}-{dataset}-seed{seed}"
    ckpt_path, log_path = out / "checkpoint.pt", out / "losses.jsonl"
    previous = None
    if ckpt_path.exists():
        if not resume:
            raise BenchError(f"{ckpt_path} exists; pass --resume to continue it, or choose another --out.")
        previous = load_checkpoint(ckpt_path)
    elif resume:
        raise BenchError(f"--resume given but {ckpt_path} does not exist; drop --resume to start a new run.")

    cfg = resolve_config(baseline, config, preset)
    needs = cls.needs(cfg)  # checks the recipe's options before any work (BenchError names the key)
    if previous is not None and previous.get("inference_only"):
        raise BenchError(f"cannot resume {ckpt_path}: it is an inference-only export without optimiser states "
                         "(bench export-checkpoint); resume the original checkpoint instead.")
    if previous is not None:
        # a key the checkpoint's config lacks was added to the recipe later, with its default: the run is the same
        old_cfg = {**{k: v for k, v in cls.DEFAULTS.items() if k not in previous["config"]}, **previous["config"]}
        mismatch = {k: (old, v) for k, old, v in (("baseline", previous["baseline"], baseline),
                                                  ("seed", previous["seed"], seed), ("config", old_cfg, cfg))
                    if old != v}
        if previous["dataset"]["id"] != dataset:
            mismatch["dataset"] = (previous["dataset"]["id"], dataset)
        if mismatch:
            raise BenchError(f"cannot resume {ckpt_path}: it differs in {sorted(mismatch)} "
                             f"(checkpoint vs now: {mismatch}).")
        steps = previous["steps"] if steps is None else steps
        batch_size = previous["batch_size"] if batch_size is None else batch_size
        if steps != previous["steps"] or batch_size != previous["batch_size"]:
            raise BenchError(f"cannot resume {ckpt_path} with --steps {steps} --batch-size {batch_size}: it was "
                             f"started with --steps {previous['steps']} --batch-size {previous['batch_size']} "
                             "(stage boundaries depend on them).")
    steps = int(cfg["steps"] if steps is None else steps)
    batch_size = int(cfg["batch_size"] if batch_size is None else batch_size)
    if steps < 1 or batch_size < 1:
        raise BenchError("--steps and --batch-size must be positive.")

    if data is None:
        manifest = load_dataset(dataset, data_root=data_root, data_dir_override=data_dir)
        data = load_train_data(manifest, identities, cls.image_size_of(cfg), needs, progress,
                               face_align=cls.face_align_of(cfg))
    elif data.dataset_id != dataset:
        raise BenchError(f"prebuilt training data is from {data.dataset_id!r}, not {dataset!r}.")
    if previous is not None and previous["dataset"]["manifest_sha256"] != data.manifest_sha256:
        raise BenchError(f"cannot resume {ckpt_path}: dataset {dataset!r} changed since it was written.")
    if previous is not None and previous["dataset"]["identities"] != data.identities:
        raise BenchError(f"cannot resume {ckpt_path}: it was trained on other identities (--identities differs).")

    info = cls.info_from_data(cfg, data)
    torch.manual_seed(seed)
    recipe = build_recipe(baseline, cfg, info, device)
    start = 0
    if previous is not None:
        recipe.load_state(previous, device)
        start = int(previous["step"])
    else:
        recipe.fit_data(data)
    plan = stage_plan(cls.stages(cfg), steps)
    state = {
        "baseline": baseline, "config": cfg, "info": info, "steps": steps, "batch_size": batch_size, "seed": seed,
        "dataset": {"id": data.dataset_id, "manifest_sha256": data.manifest_sha256, "identities": data.identities,
                    "holdout_rule": HOLDOUT_RULE},
        "plan": [list(p) for p in plan],
    }
    out.mkdir(parents=True, exist_ok=True)
    kept_lines = []
    if start and log_path.exists():  # keep the steps the checkpoint has seen; drop a torn last line of a killed run
        for line in log_path.read_text().splitlines():
            try:
                if json.loads(line)["step"] <= start:
                    kept_lines.append(line)
            except (json.JSONDecodeError, KeyError, TypeError):
                continue
    log_path.write_text("".join(ln + "\n" for ln in kept_lines))
    end = steps if stop_after is None else min(steps, stop_after)
    bar = tqdm(total=steps, initial=start, desc=f"train {baseline}", unit="step", disable=not progress)
    t0 = time.perf_counter()
    with open(log_path, "a") as log:
        for step in range(start, end):
            stage = stage_at(plan, step)
            gen = torch.Generator().manual_seed(step_seed(seed, step))
            torch.manual_seed(step_seed(seed, step))
            losses = {k: float(v) for k, v in recipe.step(stage, data, batch_size, gen, device).items()}
            log.write(json.dumps({"step": step + 1, "stage": stage, **losses,
                                  "elapsed_s": round(time.perf_counter() - t0, 3)}) + "\n")
            bar.set_description(f"train {baseline} [{stage}]")
            bar.set_postfix({k: f"{v:.3f}" for k, v in losses.items()}, refresh=False)
            bar.update(1)
            if (step + 1) % checkpoint_every == 0 or step + 1 == end:
                log.flush()
                save_checkpoint(ckpt_path, recipe, {**state, "step": step + 1})
    bar.close()
    if start >= end and not ckpt_path.exists():
        save_checkpoint(ckpt_path, recipe, {**state, "step": start})
    return ckpt_path


if __name__ == "__main__":  # python -m baselines.train: the bench train command on its own
    from baselines.train_cli import main

    raise SystemExit(main())
