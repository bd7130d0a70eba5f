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
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch

from baselines.recipes import DEFAULT_CHECKPOINT_EVERY, RECIPES
from benchmark.data.fingerprint import file_sha256
from benchmark.data.heldout import HOLDOUT_RULE
from benchmark.errors import BenchError

CHECKPOINT_FORMAT = "voice2face-bench/checkpoint"
CHECKPOINT_VERSION = 1


def recipe_class(name: str):
    """The recipe class of a trainable baseline. Raises ``BenchError`` ("did you mean") for an unknown name."""
    from benchmark.registry import import_object, lookup

    return import_object(lookup(name, RECIPES, "trainable baseline"))


def step_seed(seed: int, step: int) -> int:
    """63-bit seed of training step ``step`` (0-based) of a run seeded ``seed`` (sha256, order-independent)."""
    digest = hashlib.sha256(f"train:{int(seed)}:{int(step)}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def training_identities(manifest, identities: Sequence[str] | None = None) -> list:
    """The identities a run may learn from: the manifest's training split, or the named subset of it.

    Args:
        manifest: a ``benchmark.data.manifest.Manifest``.
        identities: VoxCeleb1 IDs to train on (None: the whole training split).

    Returns:
        ``Identity`` objects, sorted by id.

    Raises:
        BenchError: a named identity is unknown or belongs to the test split (refused: a baseline must never
            see a test identity), or fewer than two training identities remain.
    """
    train = {i.id: i for i in manifest.split("train")}
    if identities is None:
        chosen = list(train.values())
    else:
        known = {i.id: i for i in manifest.identities}
        unknown = sorted(set(identities) - set(known))
        if unknown:
            raise BenchError(f"dataset {manifest.dataset_id!r} has no identities {unknown}.")
        test = sorted(i for i in identities if known[i].split != "train")
        if test:
            raise BenchError(
                f"refusing to train on test identities {test} of {manifest.dataset_id!r} (VGGFace1 names A–E are "
                "the test split, Wen et al. 2019); name only training identities, or none for the whole training split.")
        chosen = [train[i] for i in sorted(set(identities))]
    if len(chosen) < 2:
        raise BenchError(f"dataset {manifest.dataset_id!r} has {len(chosen)} training identit"
                         f"{'y' if len(chosen) == 1 else 'ies'}; training a baseline needs at least two "
                         "(VGGFace1 names F–Z).")
    return sorted(chosen, key=lambda i: i.id)


@dataclass
class TrainData:
    """Everything a recipe learns from, all from training identities only.

    Attributes:
        dataset_id, manifest_sha256: provenance.
        identities: training VoxCeleb1 IDs, sorted; a label is an index into this list.
        genders: "m"/"f" per identity.
        utt_ids: training utterance ids, sorted.
        utt_label: int64 ``[U]`` identity label of each utterance.
        feats: U float32 tensors ``[64, F_u]``: normalised log mel of each whole utterance (``baselines.voice``).
        face_ids: training face ids (non-blank, every source), sorted.
        faces: uint8 ``[N, 3, S, S]`` face images (centre square, Pillow bicubic).
        face_label: int64 ``[N]``.
        judge: float32 ``[N, 128]`` judge embeddings of the original face images, or None.
        speaker: float32 ``[U, 256]`` resemblyzer embeddings of the utterances, or None.
    """

    dataset_id: str
    manifest_sha256: str
    identities: list[str]
    genders: list[str]
    utt_ids: list[str]
    utt_label: torch.Tensor
    feats: list[torch.Tensor]
    face_ids: list[str]
    faces: torch.Tensor
    face_label: torch.Tensor
    judge: torch.Tensor | None = None
    speaker: torch.Tensor | None = None

    @property
    def n_identities(self) -> int:
        return len(self.identities)

    def gender_index(self) -> torch.Tensor:
        """int64 ``[K]``: 1 for "f", 0 for "m", per identity."""
        return torch.tensor([1 if g == "f" else 0 for g in self.genders], dtype=torch.int64)


def load_train_data(manifest, identities: Sequence[str] | None = None, image_size: int = 64,
                    needs: frozenset[str] | set[str] = frozenset(), progress: bool = True) -> TrainData:
    """Build ``TrainData`` from a manifest's training identities (see ``training_identities``).

    Args:
        manifest: the dataset.
        identities: optional subset of training identities (test identities are refused).
        image_size: side of the face images in pixels.
        needs: "judge" for the judge's face embeddings, "speaker" for resemblyzer voice embeddings.
        progress: tqdm bars.

    Raises:
        BenchError: test identities asked for, too few identities, an identity without usable faces, or
            unreadable files (``DataError`` names the file).
    """
    from tqdm import tqdm

    from benchmark.data.audio import load_audio
    from benchmark.data.images import is_blank, load_image, square_resize, to_chw_tensor
    from baselines.voice import VoiceFrontEnd

    from benchmark.data.heldout import training_faces, training_utterances

    chosen = training_identities(manifest, identities)
    label = {ident.id: k for k, ident in enumerate(chosen)}
    # never the videos id-topk-seen holds out (benchmark.data.heldout, one rule for every training path)
    utts = [u for u in training_utterances(manifest) if u.identity in label]
    faces = [f for f in training_faces(manifest) if f.identity in label]
    front = VoiceFrontEnd()
    feats = []
    for utt in tqdm(utts, desc="train data: voices", disable=not progress, leave=False):
        wave = torch.from_numpy(load_audio(utt.path))
        f, n = front(wave[None], torch.tensor([len(wave)]))
        feats.append(f[0, :, : int(n[0])].contiguous())
    images, kept, originals = [], [], []
    for face in tqdm(faces, desc="train data: faces", disable=not progress, leave=False):
        image = load_image(face.path)
        if is_blank(image):
            continue
        kept.append(face)
        images.append(square_resize(image, image_size))
        if "judge" in needs:
            originals.append(image)
    missing = sorted(set(label) - {f.identity for f in kept})
    if missing:
        raise BenchError(f"training identities {missing} of {manifest.dataset_id!r} have no usable (non-blank) face.")
    data = TrainData(
        dataset_id=manifest.dataset_id, manifest_sha256=manifest.sha256(),
        identities=[i.id for i in chosen], genders=[i.gender for i in chosen],
        utt_ids=[u.id for u in utts], utt_label=torch.tensor([label[u.identity] for u in utts], dtype=torch.int64),
        feats=feats, face_ids=[f.id for f in kept], faces=to_chw_tensor(images),
        face_label=torch.tensor([label[f.identity] for f in kept], dtype=torch.int64),
    )
    if "judge" in needs:
        from benchmark.judges.cache import EmbeddingCache
        from benchmark.judges import DEFAULT_JUDGE, make_judge
        from benchmark.settings import cache_dir

        cache = EmbeddingCache(cache_dir() / "embeddings.sqlite")
        try:
            judge = make_judge(DEFAULT_JUDGE, cache=cache)
            try:
                emb = judge.embed(originals, progress="train data: judge" if progress else None)
            finally:
                judge.close()
        finally:
            cache.close()
        data.judge = torch.from_numpy(emb.vectors)
    if "speaker" in needs:
        from baselines.speaker import SpeakerEncoder, embed_files

        data.speaker = torch.from_numpy(embed_files(SpeakerEncoder(), [u.path for u in utts]))
    return data


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




def save_checkpoint(path: Path, recipe, state: dict) -> None:
    """Write a checkpoint atomically (``path.tmp`` then rename); weights are saved as CPU tensors."""
    from benchmark import __version__

    payload = {
        "format": CHECKPOINT_FORMAT, "format_version": CHECKPOINT_VERSION, "suite_version": __version__,
        **state,
        "modules": {k: {n: t.detach().cpu() for n, t in m.state_dict().items()} for k, m in recipe.modules.items()},
        "optimizers": {k: o.state_dict() for k, o in recipe.optimizers.items()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def export_weights(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> Path:
    """Write an inference-only copy of a finished checkpoint: the same file without the optimiser states
    (about a third of the size), marked ``"inference_only": True``. It scores like the original
    (``bench run --model-arg checkpoint=DST``) but cannot be resumed. Written atomically.

    Args:
        src: a ``checkpoint.pt`` written by ``bench train`` whose run finished (step == steps).
        dst: the output file; its folder is created.

    Returns:
        ``dst`` as a Path.

    Raises:
        BenchError: ``src`` unreadable or not a checkpoint (``load_checkpoint``), or its run not finished.
    """
    ck = load_checkpoint(src)
    if ck["step"] != ck["steps"]:
        raise BenchError(f"{src} stopped at step {ck['step']} of {ck['steps']}; finish it with bench train --resume "
                         "before exporting its weights.")
    ck = {k: v for k, v in ck.items() if k != "optimizers"}
    ck["inference_only"] = True
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".tmp")
    torch.save(ck, tmp)
    os.replace(tmp, dst)
    return dst


def load_checkpoint(path: str | os.PathLike[str]) -> dict:
    """Read a checkpoint written by ``save_checkpoint``.

    Raises:
        BenchError: the file is missing, unreadable, or not a voice2face-bench checkpoint of this format version.
    """
    path = Path(path)
    if not path.is_file():
        raise BenchError(f"checkpoint {path} not found; train one with: bench train --baseline NAME --out DIR.")
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise BenchError(f"cannot read checkpoint {path}: {exc}. Re-train or re-copy the file.") from exc
    if not isinstance(ck, dict) or ck.get("format") != CHECKPOINT_FORMAT:
        raise BenchError(f"{path} is not a voice2face-bench checkpoint (written by bench train).")
    if ck.get("format_version") != CHECKPOINT_VERSION:
        raise BenchError(f"checkpoint {path} has format version {ck.get('format_version')}; this suite reads "
                         f"version {CHECKPOINT_VERSION}. Re-train it with this version of bench train.")
    return ck


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
    if previous is not None and previous.get("inference_only"):
        raise BenchError(f"cannot resume {ckpt_path}: it is an inference-only export without optimiser states "
                         "(bench export-checkpoint); resume the original checkpoint instead.")
    if previous is not None:
        mismatch = {k: (previous[k], v) for k, v in (("baseline", baseline), ("seed", seed), ("config", cfg))
                    if previous[k] != v}
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
        data = load_train_data(manifest, identities, cls.image_size_of(cfg), cls.needs(cfg), progress)
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
