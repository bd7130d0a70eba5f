"""``bench train`` and ``bench export-checkpoint``: the command line of ``baselines.train``.

Building these parsers imports no torch (``bench --help`` builds them); the commands import the training when they
run. ``python -m baselines.train_cli ...`` (or ``python -m baselines.train ...``) is ``bench train ...`` on its own.
"""

from __future__ import annotations

import argparse
import json

from baselines.recipes import DEFAULT_CHECKPOINT_EVERY, RECIPES
from benchmark.errors import BenchError


def _config_pairs(pairs: list[str] | None) -> dict:
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise BenchError(f"--config {pair!r} must be KEY=VALUE (VALUE in JSON, e.g. g_channels=[256,128,64,32,16]).")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def cmd_train(args: argparse.Namespace) -> int:
    """``bench train``: run ``train`` and print where the checkpoint is and how to score it."""
    from baselines.train import train
    from benchmark.data.fingerprint import file_sha256

    identities = [i for i in (args.identities or "").split(",") if i] or None
    path = train(args.baseline, args.dataset, steps=args.steps, batch_size=args.batch_size, device=args.device,
                 seed=args.seed, out=args.out, resume=args.resume, checkpoint_every=args.checkpoint_every,
                 config=_config_pairs(args.config), preset=args.preset, identities=identities, data_root=args.data_root,
                 data_dir=args.data_dir, progress=not args.quiet)
    print(f"checkpoint {path} (sha256 {file_sha256(path)[:16]}…); losses in {path.parent / 'losses.jsonl'}")
    print(f"score it: bench run --model {args.baseline} --model-arg checkpoint={path} --dataset {args.dataset} "
          "--protocol stratified")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """``bench export-checkpoint SRC DST``: ``export_weights``, then print the file's sha256."""
    from baselines.train import export_weights
    from benchmark.data.fingerprint import file_sha256

    path = export_weights(args.src, args.dst)
    print(f"inference-only checkpoint {path} ({path.stat().st_size / 1e6:.1f} MB, sha256 {file_sha256(path)[:16]}…)")
    return 0


def add_parsers(subparsers) -> None:
    """Register the ``train`` subcommand on an argparse ``subparsers`` object (``func=cmd_train``)."""
    from benchmark.data.datasets import DEFAULT_DATASET
    from benchmark.engine.preflight import non_negative_int, positive_int

    p = subparsers.add_parser("train", help="train a learned baseline (wen-gan, speech2face, ar-spm)")
    p.add_argument("--baseline", required=True, help=f"one of: {', '.join(RECIPES)}")
    p.add_argument("--dataset", default=DEFAULT_DATASET, help=f"dataset name (default: {DEFAULT_DATASET})")
    p.add_argument("--data-root", help="the dataset's own directory")
    p.add_argument("--data-dir", help="folder holding <dataset>/ directories")
    p.add_argument("--steps", type=positive_int, help="total optimisation steps (default: the baseline's)")
    p.add_argument("--batch-size", type=positive_int, help="examples per step (default: the baseline's)")
    p.add_argument("--device", default="cpu", help="torch device: cpu, cuda (default cpu)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="seed, >= 0 (default 0)")
    p.add_argument("--out", help="output folder (default runs/<baseline>-<dataset>-seed<seed>)")
    p.add_argument("--resume", action="store_true", help="continue from <out>/checkpoint.pt")
    p.add_argument("--checkpoint-every", type=positive_int, default=DEFAULT_CHECKPOINT_EVERY, metavar="K",
                   help=f"write the checkpoint every K steps (default {DEFAULT_CHECKPOINT_EVERY}) and at the end")
    p.add_argument("--preset", help="named config preset of the baseline, e.g. 'cpu' (narrow networks for a CPU)")
    p.add_argument("--config", action="append", metavar="KEY=VALUE", help="override a config value (JSON value)")
    p.add_argument("--identities", help="comma-separated training identities (default: the whole training split)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)

    p = subparsers.add_parser("export-checkpoint",
                              help="copy a finished checkpoint without its optimiser states (to score, not resume)")
    p.add_argument("src", help="checkpoint.pt written by bench train")
    p.add_argument("dst", help="output file")
    p.set_defaults(func=cmd_export)


add_parser = add_parsers  # the name this registrar had in baselines.train


def main(argv: list[str] | None = None) -> int:
    """``python -m baselines.train ...``: the ``bench train`` subcommand on its own."""
    import sys

    parser = argparse.ArgumentParser(prog="python -m baselines.train")
    add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["train", *(sys.argv[1:] if argv is None else argv)])
    try:
        return args.func(args)
    except BenchError as exc:
        print(f"bench train: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
