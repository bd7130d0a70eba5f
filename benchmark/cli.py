"""The ``bench`` command line: thin argparse subcommands over ``benchmark.engine.run`` and the registries."""

from __future__ import annotations

import argparse
import sys

from benchmark.errors import BenchError

TOY_WARNING = ("NOTE: dataset 'toy' is the synthetic known-answer world: these numbers test the pipeline and "
               "say nothing about real voices.")


def _model_args(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise BenchError(f"--model-arg {pair!r} must be KEY=VALUE.")
        out[key] = value
    return out


def format_scores(result: dict) -> str:
    """A tabulate table of a result's scores: one row per metric and stratum, value, 95 % CI, trials, identities."""
    from tabulate import tabulate

    rows = []
    for stratum, scores in [("all", result["scores"])] + list(result["strata"].items()):
        for metric, s in scores.items():
            rows.append([metric, stratum, f"{s['value']:.4f}", f"[{s['ci95'][0]:.4f}, {s['ci95'][1]:.4f}]",
                         s["n"], s["n_identities"]])
    return tabulate(rows, headers=["metric", "stratum", "value", "95% CI", "trials", "identities"])


def print_result(result: dict) -> None:
    """Print one protocol's result as ``bench run`` shows it (header, score table, provenance lines)."""
    if "skipped" in result:
        print(f"protocol {result['protocol']['name']} skipped: {result['skipped']}")
        return
    gen, proto, data, inputs = result["generator"], result["protocol"], result["dataset"], result["inputs"]
    print(f"model {gen['name']} | protocol {proto['name']} v{proto['version']} | dataset {data['id']} | "
          f"seed {result['seed']} | device {result['device']}")
    print(format_scores(result))
    print(f"trials sha256 {result['trials']['sha256'][:16]}… ({result['trials']['count']} trials, "
          f"{result['trials']['probes']} probe utterances); excluded identities: "
          f"{len(result['trials']['excluded_identities'])}")
    print(f"real faces: {inputs['real_faces_embedded']} embedded ({inputs['real_faces_aligned']} aligned, "
          f"{inputs['real_faces_centre_crop']} centre-crop), {inputs['real_faces_blank_excluded']} blank excluded; "
          f"generated: {inputs['generated_aligned']} aligned, {inputs['generated_centre_crop']} centre-crop")
    print(f"time {result['timing']['total_s']:.1f} s; result written to {result.get('path')}")


def cmd_run(args: argparse.Namespace) -> int:
    from benchmark.engine import run_many

    protocols = [p for p in args.protocol.split(",") if p]
    results = run_many(args.model, protocols, args.dataset, data_root=args.data_root, data_dir=args.data_dir,
                       device=args.device, seed=args.seed, batch_size=args.batch_size,
                       model_args=_model_args(args.model_arg), out=args.out, results_dir=args.results_dir,
                       use_cache=not args.no_cache, progress=not args.quiet,
                       strict=len(protocols) == 1 and protocols[0] != "all")
    for result in results:
        print_result(result)
        print()
    if any(r.get("dataset", {}).get("synthetic") for r in results):
        print(TOY_WARNING)
    return 0


def cmd_ls(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    if args.what == "models":
        from benchmark.registry import MODELS, model_names

        rows = [[n, MODELS.get(n, "(entry point)")] for n in model_names()]
        print(tabulate(rows, headers=["model", "factory"]))
    elif args.what == "protocols":
        from protocols import PROTOCOLS, get_protocol

        rows = [[n, get_protocol(n).version, get_protocol(n).description, get_protocol(n).source] for n in PROTOCOLS]
        print(tabulate(rows, headers=["protocol", "version", "what", "source"]))
    else:
        from benchmark.datasets import DATASETS

        print(tabulate([[n, d] for n, d in DATASETS.items()], headers=["dataset", "what"]))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from benchmark import __version__
    from benchmark.datasets import DEFAULT_DATASET

    parser = argparse.ArgumentParser(prog="bench", description="voice2face-bench: score face-from-voice generators.")
    parser.add_argument("--version", action="version", version=f"voice2face-bench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="score a generator on a protocol and dataset")
    p.add_argument("--model", required=True, help="registered name, file.py:Factory or module:Factory")
    p.add_argument("--protocol", required=True,
                   help="protocol name (bench ls protocols), a comma-separated list, or 'all' (one result file each)")
    p.add_argument("--dataset", default=DEFAULT_DATASET, help=f"dataset name (default: {DEFAULT_DATASET})")
    p.add_argument("--data-root", help="the dataset's own directory")
    p.add_argument("--data-dir", help="folder holding <dataset>/ directories (default $VOICE2FACE_DATA_DIR or ./data)")
    p.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:1 (default cpu)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--model-arg", action="append", metavar="KEY=VALUE", help="argument for the model factory")
    p.add_argument("--out", help="result JSON path")
    p.add_argument("--results-dir", default="leaderboards/results")
    p.add_argument("--no-cache", action="store_true", help="do not use the on-disk judge cache")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("ls", help="list models, protocols or datasets")
    p.add_argument("what", choices=["models", "protocols", "datasets"])
    p.set_defaults(func=cmd_ls)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BenchError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
