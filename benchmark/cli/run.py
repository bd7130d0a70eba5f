"""``bench run``, ``bench embed`` and ``bench ls``: score a generator, cache the real faces' embeddings, list what
is registered. Each command imports the engine, the judges and the datasets it needs when it runs, never earlier."""

from __future__ import annotations

import argparse

from benchmark.cli.options import (RESULTS_DIR_HELP, comma_list, data_args, dataset_args, judge_args, model_args,
                                   positive_int, single)
from benchmark.cli.printing import TOY_WARNING, nothing_scored, print_result, unsaved


def cmd_run(args: argparse.Namespace) -> int:
    from benchmark.engine.run import run_many

    protocols = comma_list(args.protocol)
    if args.plots:
        from benchmark.reports.sheet import run_with_plots  # run_many, plus a margin histogram per 1:2 protocol

        run_many = run_with_plots
    results = run_many(args.model, protocols, args.dataset, data_root=args.data_root, data_dir=args.data_dir,
                       device=args.device, seed=args.seed, batch_size=args.batch_size,
                       model_args=model_args(args.model_arg), out=args.out, results_dir=args.results_dir,
                       split=args.split, use_cache=not args.no_cache, progress=not args.quiet,
                       strict=single(protocols), skip_conformance=args.skip_conformance, judge=args.judge,
                       judge_device=args.judge_device, two_face_speakers=args.two_face_speakers)
    for result in results:
        print_result(result)
        if result.get("plot"):
            print(f"margin histogram written to {result['plot']}")
        print()
    if any(r.get("dataset", {}).get("synthetic") for r in results):
        print(TOY_WARNING)
    return unsaved(results) or nothing_scored(results)


def cmd_embed(args: argparse.Namespace) -> int:
    from benchmark.engine.embed_all import embed_dataset

    out = embed_dataset(args.dataset, args.judge, data_root=args.data_root, data_dir=args.data_dir,
                        device=args.device, batch_size=args.batch_size, shard_dir=args.shard_dir,
                        progress=not args.quiet)
    line = (f"rank {out['rank']} of {out['world']}: {out['shard_faces']} of {out['faces']} faces of {out['dataset']} "
            f"(judge {out['judge']}), {out['embedded_now']} embedded now, {out['elapsed_s']} s")
    if "merged_rows" in out:
        line += f"; merged {out['merged_rows']} rows into the cache, every face checked present"
    print(line)
    return 0


def cmd_ls(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    if args.what == "judges":
        from benchmark.judges import DEFAULT_JUDGE, JUDGES, judge_names, judge_status

        rows = []
        for name in judge_names():
            if name not in JUDGES:  # a third-party entry point: listed, never imported or built (no model loaded)
                rows.append([name, "", "", "", "entry point, not loaded by ls (bench run --judge NAME loads it)"])
                continue
            st = judge_status(name)
            info = st.info
            rows.append([name + (" (default)" if name == DEFAULT_JUDGE else ""), info.id if info else "",
                         info.embedding_dim if info else "", info.library if info else "",
                         "yes" if info else f"no: {st.reason}"])
        print(tabulate(rows, headers=["judge", "id", "dim", "library", "available"]))
    elif args.what == "models":
        from benchmark.generators.registry import MODELS, model_names

        rows = [[n, MODELS.get(n, "(entry point)")] for n in model_names()]
        print(tabulate(rows, headers=["model", "factory"]))
    elif args.what == "protocols":
        from protocols import PROTOCOLS, get_protocol

        rows = [[n, get_protocol(n).version, get_protocol(n).description, get_protocol(n).source] for n in PROTOCOLS]
        print(tabulate(rows, headers=["protocol", "version", "what", "source"]))
    else:
        from benchmark.data.datasets import dataset_rows

        print(tabulate(dataset_rows(), headers=["dataset", "train", "validation", "test", "what"]))
    return 0


def add_parsers(sub) -> None:
    """The subcommands run, embed and ls on an argparse ``subparsers`` object."""
    p = sub.add_parser("run", help="score a generator on a protocol and dataset")
    p.add_argument("--model", required=True, help="registered name, file.py:Factory or module:Factory")
    p.add_argument("--protocol", required=True,
                   help="protocol name (bench ls protocols), a comma-separated list, or 'all' (one result file each)")
    data_args(p)
    p.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:1 (default cpu)")
    p.add_argument("--batch-size", type=positive_int, default=16,
                   help="voices per generator call, >= 1 (default 16); changes speed and memory, never scores")
    p.add_argument("--model-arg", action="append", metavar="KEY=VALUE", help="argument for the model factory")
    p.add_argument("--out", help="result JSON file (one protocol only); default: see --results-dir")
    p.add_argument("--results-dir", default=None, help=RESULTS_DIR_HELP)
    p.add_argument("--two-face-speakers", action="store_true",
                   help="score only speakers with >= 2 gallery faces: the oracle's population on a VoxCeleb1-crop "
                        "gallery, so the ceiling has comparable rows "
                        "(result file: <protocol>-seed<N>-two-face-speakers)")
    p.add_argument("--skip-conformance", action="store_true",
                   help="score a plug-in generator without first checking its meta, output format, determinism "
                        "and batch independence (benchmark.generators.conformance); the result records that it was skipped")
    p.add_argument("--plots", action="store_true",
                   help="also save a histogram of similarity margins (true - imposter) next to each 1:2 result JSON")
    judge_args(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("embed", help="compute and cache every real face's judge embedding (sharded under torchrun)",
                       description="One process: bench embed --dataset D --judge J. Sharded over N processes "
                                   "(gloo on the CPU, nccl on CUDA): torchrun --standalone --nproc-per-node N -m "
                                   "benchmark.cli embed --dataset D --judge J (benchmark.engine.embed_all).")
    dataset_args(p)
    p.add_argument("--judge", default=None, help="the judge (bench ls judges; default: the default judge)")
    p.add_argument("--device", "--judge-device", dest="device", default="cpu",
                   help="torch device of the judge: cpu, cuda (default cpu); --judge-device is the same option under "
                        "the name run, score and check use")
    p.add_argument("--batch-size", type=positive_int, default=None, help="faces per judge batch (default: the judge's)")
    p.add_argument("--shard-dir", default=None,
                   help="folder for the per-rank files (default <cache dir>/embed-shards; on several machines a "
                        "shared filesystem)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_embed)

    p = sub.add_parser("ls", help="list models, protocols, datasets or judges")
    p.add_argument("what", choices=["models", "protocols", "datasets", "judges"])
    p.set_defaults(func=cmd_ls)
