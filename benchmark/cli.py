"""The ``bench`` command line: thin argparse subcommands over ``benchmark.engine.run.run`` and the registries."""

from __future__ import annotations

import argparse
import os
import sys

from benchmark.errors import BenchError
from benchmark.engine.preflight import non_negative_int, positive_int

RESULTS_DIR_HELP = ("folder for result JSON files, as <dir>/<dataset>/<split>/<model>/<protocol>-seed<seed>.json, with "
                    "-judge-<judge> before .json for a judge other than the default (default "
                    "$VOICE2FACE_RESULTS_DIR or ./results; the committed leaderboard's folder, leaderboards/results, "
                    "only when named)")

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
    """A tabulate table of a result's scores: one row per metric and stratum, value, 95 % CI, trials, identities.

    A summary whose interval cannot be trusted (``"flag"``, rules in ``benchmark.metrics.aggregate``) gets a numbered mark
    in the ``flag`` column and its reason under the table; a line names the bootstrap(s) the intervals came from.
    """
    from tabulate import tabulate

    rows, reasons, kinds = [], {}, []
    for stratum, scores in [("all", result["scores"])] + list(result["strata"].items()):
        for metric, s in scores.items():
            mark = ""
            for reason in filter(None, (s.get("flag") or "").split("; ")):
                mark += f"[{reasons.setdefault(reason, len(reasons) + 1)}]"
            if s.get("bootstrap") and s["bootstrap"] not in kinds:
                kinds.append(s["bootstrap"])
            rows.append([metric, stratum, f"{s['value']:.4f}", f"[{s['ci95'][0]:.4f}, {s['ci95'][1]:.4f}]",
                         s["n"], s["n_identities"], mark])
    lines = [tabulate(rows, headers=["metric", "stratum", "value", "95% CI", "trials", "identities", "flag"])]
    if kinds:
        lines.append("95% CI: percentile bootstrap over identities (" + "; ".join(kinds) + ")")
    lines += [f"[{k}] CI not to be trusted: {reason}" for reason, k in reasons.items()]
    return "\n".join(lines)


def _excluded_line(result: dict) -> str:
    """Identities left out, from the dataset (no face, no voice, not in the metadata) and from the trials."""
    dataset = result["dataset"].get("excluded_identities", [])
    trials = result["trials"].get("excluded_identities", [])

    def names(items) -> str:
        shown = [str(i.get("identity", i)) if isinstance(i, dict) else str(i) for i in items[:5]]
        return ", ".join(shown) + (" …" if len(items) > 5 else "")

    parts = [f"{len(dataset)} by the dataset" + (f" ({names(dataset)}; reasons in the result JSON)" if dataset else ""),
             f"{len(trials)} by this protocol's trials" + (f" ({names(trials)})" if trials else "")]
    return "; ".join(parts)


def print_result(result: dict) -> None:
    """Print one protocol's result as ``bench run`` shows it (header, score table, provenance lines).

    The result is read through the typed schema (``benchmark.results.schema.Result``): a malformed one gets one
    error naming the field, not a ``KeyError``.
    """
    if "skipped" in result:
        print(f"protocol {result['protocol']['name']} skipped: {result['skipped']}")
        return
    from benchmark.results.schema import ABSENT, Result

    typed = Result.from_dict(result, "", str(result.get("path") or "of this run"))
    gen, proto, data, trials = typed.generator, typed.protocol, typed.dataset, typed.trials
    inputs, info = typed.inputs, typed.info or {}
    print(f"model {gen.name} | protocol {proto.name} v{proto.version} | dataset {data.id}"
          f"{' (PARTIAL)' if data.partial else ''} | seed {typed.seed} | device {typed.device}")
    if data.partial:
        print(f"WARNING: {data.partial['note']}; ranked apart from full runs on leaderboards")
    print(format_scores(result))
    for key in ("cap_reason", "gallery_note"):  # capped N / K values and small galleries: say so here too
        if info.get(key):
            print(f"note: {info[key]}")
    print(f"trials sha256 {trials.sha256[:16]}… ({trials.count} trials, {trials.probes} probe utterances)")
    print("excluded identities: " + _excluded_line(result))
    tiers = (trials.extra.get("true_face") or {}).get("trials")
    if tiers:  # a VoxCeleb1-crop gallery (vox1-s2f): benchmark.trials.builders.TRUE_FACE_RULE
        print(f"true faces ({trials.extra['true_face']['rule']}): " + ", ".join(f"{n} {t}" for t, n in tiers.items())
              + " trials")
    if inputs.real_faces_this_protocol is not ABSENT:
        scope = inputs.real_faces_scope or []
        print(f"gallery: {inputs.real_faces_this_protocol} real faces used by this protocol, of the "
              f"{inputs.real_faces_embedded} embedded for the {len(scope)} protocol(s) of this run"
              + (f" ({', '.join(scope)})" if 1 < len(scope) <= 4 else "")
              + (f"; {inputs.real_faces_small_excluded} smaller than 32 px excluded"
                 if inputs.real_faces_small_excluded else ""))
    conformance = typed.conformance
    if conformance and conformance.status in ("passed", "skipped"):
        print(f"conformance: {conformance.status}"
              + (f" ({', '.join(conformance.checks)})" if conformance.checks else f" ({conformance.reason or ''})"))
    print(f"real faces (all protocols of this run): {inputs.real_faces_embedded} embedded "
          f"({inputs.real_faces_detected} detected, "
          f"{inputs.real_faces_fallback_box} centre-box fallback), {inputs.real_faces_blank_excluded} blank "
          f"excluded; generated: {inputs.generated_detected} detected, {inputs.generated_fallback_box} "
          f"centre-box fallback, {inputs.generated_failed_blank or 0} blank (failed faces)")
    print(f"time {typed.timing['total_s']:.1f} s; result written to {result.get('path')}")


def nothing_scored(results: list[dict]) -> int:
    """2 (with every reason on stderr) when every protocol of a run was skipped and nothing was scored, else 0."""
    if results and all("skipped" in r for r in results):
        reasons = "\n  ".join(f"{r['protocol']['name']}: {r['skipped']}" for r in results)
        print(f"bench: error: nothing was scored; every protocol was skipped:\n  {reasons}", file=sys.stderr)
        return 2
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from benchmark.engine.run import run_many

    protocols = _comma_list(args.protocol)
    if args.plots:
        from benchmark.reports.sheet import run_with_plots  # run_many, plus a margin histogram per 1:2 protocol

        run_many = run_with_plots
    results = run_many(args.model, protocols, args.dataset, data_root=args.data_root, data_dir=args.data_dir,
                       device=args.device, seed=args.seed, batch_size=args.batch_size,
                       model_args=_model_args(args.model_arg), out=args.out, results_dir=args.results_dir,
                       split=args.split, use_cache=not args.no_cache, progress=not args.quiet,
                       strict=_single(protocols), skip_conformance=args.skip_conformance, judge=args.judge,
                       judge_device=args.judge_device, two_face_speakers=args.two_face_speakers)
    for result in results:
        print_result(result)
        if result.get("plot"):
            print(f"margin histogram written to {result['plot']}")
        print()
    if any(r.get("dataset", {}).get("synthetic") for r in results):
        print(TOY_WARNING)
    return _unsaved(results) or nothing_scored(results)


def _unsaved(results: list[dict]) -> int:
    """2 (with one error line naming the files) when a result file could not be written, else 0."""
    from benchmark.results.save import unsaved_message

    message = unsaved_message(results)
    if message:
        print(f"bench: error: {message}", file=sys.stderr)
        return 2
    return 0


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


def build_parser() -> argparse.ArgumentParser:
    from benchmark import __version__
    from benchmark.data.datasets import DEFAULT_DATASET

    parser = argparse.ArgumentParser(prog="bench", description="voice2face-bench: score face-from-voice generators.")
    parser.add_argument("--version", action="version", version=f"voice2face-bench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="score a generator on a protocol and dataset")
    p.add_argument("--model", required=True, help="registered name, file.py:Factory or module:Factory")
    p.add_argument("--protocol", required=True,
                   help="protocol name (bench ls protocols), a comma-separated list, or 'all' (one result file each)")
    _data_args(p, DEFAULT_DATASET)
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
    _judge_args(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("embed", help="compute and cache every real face's judge embedding (sharded under torchrun)",
                       description="One process: bench embed --dataset D --judge J. Sharded over N processes "
                                   "(gloo on the CPU, nccl on CUDA): torchrun --standalone --nproc-per-node N -m "
                                   "benchmark.cli embed --dataset D --judge J (benchmark.engine.embed_all).")
    _dataset_args(p, DEFAULT_DATASET)
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

    add_results_commands(sub, DEFAULT_DATASET)

    from benchmark.cli_datasets import add_dataset_commands

    add_dataset_commands(sub)

    from baselines.train import add_parser as add_train_parser

    add_train_parser(sub)
    return parser


# --- submissions, leaderboards, regression checks, pictures (benchmark.engine.submission, .leaderboard, .check, .sheet)


def _comma_list(text: str) -> list[str]:
    return [p for p in text.split(",") if p]


def _single(protocols: list[str]) -> bool:
    """One named protocol: an error in it stops the command (strict); lists and 'all' skip what cannot run."""
    return len(protocols) == 1 and protocols[0] != "all"


def cmd_score(args: argparse.Namespace) -> int:
    from pathlib import Path

    from benchmark.engine.submission import score

    protocols = _comma_list(args.protocol)
    results = score(args.faces, protocols, args.dataset, name=args.name or Path(args.faces).resolve().name,
                    allow_missing=args.allow_missing, citation=args.citation,
                    trained_against_judge=args.trained_against_judge,
                    training_datasets=_comma_list(args.training_datasets or ""), data_root=args.data_root,
                    data_dir=args.data_dir, device=args.device, seed=args.seed, batch_size=args.batch_size,
                    out=args.out, results_dir=args.results_dir, split=args.split,
                    holdout_rule=args.holdout_rule, reference=args.reference or "", use_cache=not args.no_cache,
                    progress=not args.quiet, strict=_single(protocols), judge=args.judge,
                    judge_device=args.judge_device)
    for result in results:
        print_result(result)
        sub = result.get("info", {}).get("submission", {})
        if sub.get("failed_count"):
            print(f"INCOMPLETE: {sub['failed_count']} face(s) missing or unreadable, their trials counted wrong: "
                  + ", ".join((sub["missing"] + sub["unreadable"])[:10]) + (" ..." if sub["failed_count"] > 10 else ""))
        print()
    if any(r.get("dataset", {}).get("synthetic") for r in results):
        print(TOY_WARNING)
    return _unsaved(results) or nothing_scored(results)


def score_command(args: argparse.Namespace) -> str:
    """The ``bench score`` command that scores faces made for what ``bench trials`` exported with ``args``:
    the same protocol, dataset, seed, and the data location and split options the user gave (shell-quoted)."""
    import shlex

    words = ["bench", "score", "--faces", "DIR", "--protocol", args.protocol, "--dataset", args.dataset,
             "--seed", str(args.seed)]
    from benchmark.judges import DEFAULT_JUDGE

    for option in ("data_root", "data_dir", "split", "judge"):
        value = getattr(args, option, None)
        if value and not (option == "judge" and value == DEFAULT_JUDGE):
            words += ["--" + option.replace("_", "-"), str(value)]
    return " ".join(shlex.quote(w) if w != "DIR" else w for w in words)


def cmd_trials(args: argparse.Namespace) -> int:
    from benchmark.engine.submission import export_trials

    protocols = _comma_list(args.protocol)
    info = export_trials(protocols, args.dataset, args.out, seed=args.seed, data_root=args.data_root,
                         data_dir=args.data_dir, trials_dir=args.trials_dir, split=args.split,
                         use_cache=not args.no_cache, judge=args.judge, judge_device=args.judge_device,
                         progress=not args.quiet, strict=_single(protocols))
    print(f"{info['utterances']} utterances to make faces for written to {info['path']} "
          f"(save each as <faces dir>/<utterance id>.png, then: {score_command(args)})")
    for name, p in info["protocols"].items():
        print(f"  {name} v{p['version']}: {p['trials']} trials over {p['probes']} probes, trials sha256 "
              f"{p['sha256']}" + (f", file {p['file']}" if p["file"] else ""))
    for name, reason in info["skipped"].items():
        print(f"  {name} skipped: {reason}")
    return 0


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from benchmark.reports.leaderboard import leaderboard

    if args.judge:
        from benchmark.judges import judge_names
        from benchmark.registry import lookup

        lookup(args.judge, dict.fromkeys(judge_names()), "judge")  # "did you mean" for a misspelt name
    output = leaderboard(args.results_dir, args.out_dir, published=args.published, check=args.check)
    if args.check:
        if output.stale:
            print("leaderboards out of date (run `bench leaderboard`): " + ", ".join(output.stale), file=sys.stderr)
            return 1
        print(f"leaderboards in {args.out_dir} are up to date ({len(output.files)} files)")
        return 0
    if args.judge and not args.quiet:
        from benchmark.reports.leaderboard import section_markdown

        shown = [t for t in output.tables if t.judge == args.judge]
        print("\n".join(section_markdown(t) for t in shown) if shown else f"no table of judge {args.judge!r}")
    elif not args.quiet:
        print(output.readme)
    print(f"wrote {len(output.files)} files under {args.out_dir} (README.md, tables/<dataset>/<protocol>.md|.csv)")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from benchmark.reports.check import check

    report = check(args.results_dir, args.names, tolerance=args.tolerance, device=args.device,
                   data_root=args.data_root, data_dir=args.data_dir, use_cache=not args.no_cache,
                   progress=not args.quiet, judge=args.judge, allow_spec=args.allow_spec)
    if args.all_rows or not report.ok:
        print()
        print(report.table(only_failures=not args.all_rows))
    failed = [f for f, ok in report.files.items() if not ok]
    print(f"\nbench check: {len(report.files) - len(failed)} of {len(report.files)} result file(s) reproduced"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 0 if report.ok else 1


def cmd_compare(args: argparse.Namespace) -> int:
    """``bench compare``: ``benchmark.reports.compare``."""
    from benchmark.reports.compare import compare_many, format_comparisons

    if len(args.results) < 2:
        raise BenchError("bench compare needs at least two result files.")
    print(format_comparisons(compare_many(args.results, args.metric)))
    return 0


def cmd_sheet(args: argparse.Namespace) -> int:
    from benchmark.engine.preflight import check_out_file
    from benchmark.reports.sheet import contact_sheet

    check_out_file(args.out, "--out", "Name a PNG file.")

    info = contact_sheet(args.model, args.dataset, args.out, protocol=args.protocol, k=args.k, voices=args.voices,
                         real=args.real, speakers=_comma_list(args.speakers or ""), seed=args.seed,
                         model_args=_model_args(args.model_arg), data_root=args.data_root, data_dir=args.data_dir,
                         device=args.device, batch_size=args.batch_size, use_cache=not args.no_cache,
                         progress=not args.quiet, tile=args.tile, split=args.split, judge=args.judge,
                         judge_device=args.judge_device)
    print(f"contact sheet of {len(info['speakers'])} speaker(s) ({', '.join(info['speakers'])}) written to "
          f"{info['path']} ({info['size'][0]}x{info['size'][1]} px)")
    return 0


def _dataset_args(p: argparse.ArgumentParser, default_dataset: str) -> None:
    p.add_argument("--dataset", default=default_dataset, help=f"dataset name (default: {default_dataset})")
    p.add_argument("--data-root", help="the dataset's own directory")
    p.add_argument("--data-dir", help="folder holding <dataset>/ directories (default $VOICE2FACE_DATA_DIR or ./data)")


def _data_args(p: argparse.ArgumentParser, default_dataset: str) -> None:
    _dataset_args(p, default_dataset)
    p.add_argument("--seed", type=non_negative_int, default=0,
                   help="seeds the trials, per-utterance generator randomness and the bootstrap; >= 0 (default 0)")
    p.add_argument("--split", default=None,
                   help="evaluated split: test (default: each protocol's own, Wen et al.'s C-E identities), "
                        "validation, validation+test, all; recorded in the result and shown on leaderboards")
    p.add_argument("--no-cache", action="store_true",
                   help="read and write no on-disk cache (judge/speaker embeddings, trial files); slower")
    p.add_argument("--quiet", action="store_true", help="no progress bars (one line per stage stays, on stderr)")


def _judge_args(p: argparse.ArgumentParser) -> None:
    from benchmark.judges import DEFAULT_JUDGE

    p.add_argument("--judge", default=DEFAULT_JUDGE,
                   help=f"the judge that embeds the faces (bench ls judges; default {DEFAULT_JUDGE}); recorded in the "
                        "result, which is ranked only beside results of the same judge")
    p.add_argument("--judge-device", default="cpu",
                   help="torch device for the judge (default cpu; judge dlib, dlib-bin, runs on the CPU only)")


def add_results_commands(sub, default_dataset: str) -> None:
    """The subcommands score, trials, leaderboard, check and sheet."""
    p = sub.add_parser("score", help="score a folder of face images named by utterance id, as bench run would")
    p.add_argument("--faces", required=True, metavar="DIR",
                   help="folder of DIR/<utterance id>.png|.jpg (nested) or DIR/<id>__<video>__<n>.png (flat)")
    p.add_argument("--protocol", required=True, help="protocol name, a comma-separated list, or 'all'")
    _data_args(p, default_dataset)
    p.add_argument("--name", help="the submission's name on leaderboards (default: the folder's name)")
    p.add_argument("--reference", choices=["ceiling", "chance"],
                   help="mark the row as a reference, not a method (e.g. ceiling: faces drawn from the true face)")
    p.add_argument("--allow-missing", action="store_true",
                   help="score missing or unreadable faces as failed trials instead of stopping")
    p.add_argument("--citation", default="", help="paper or source of the model that made the faces")
    p.add_argument("--trained-against-judge", action="store_true",
                   help="the model was trained on the judge's embedding space (marked on leaderboards)")
    p.add_argument("--training-datasets", help="comma-separated dataset ids the model was trained on")
    p.add_argument("--holdout-rule", default="",
                   help="declare that the model never trained on the videos id-topk-seen holds out (give the rule "
                        "name, benchmark.data.heldout.HOLDOUT_RULE); without it id-topk-seen is refused")
    p.add_argument("--device", default="cpu", help="torch device for the metrics (default cpu)")
    p.add_argument("--batch-size", type=positive_int, default=16,
                   help="faces per judge batch, >= 1 (default 16); never changes scores")
    p.add_argument("--out", help="result JSON file (one protocol only); default: see --results-dir")
    p.add_argument("--results-dir", default=None, help=RESULTS_DIR_HELP)
    _judge_args(p)
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("trials", help="export the utterances (and frozen trials) a submission must make faces for")
    p.add_argument("--protocol", required=True, help="protocol name, a comma-separated list, or 'all'")
    _data_args(p, default_dataset)
    p.add_argument("--out", required=True, help="CSV of utterances: utterance,identity,gender,audio,image,protocols")
    p.add_argument("--trials-dir", help="also copy each protocol's frozen trial file here")
    _judge_args(p)
    p.set_defaults(func=cmd_trials)

    p = sub.add_parser("leaderboard", help="render Markdown and CSV leaderboards from stored results")
    p.add_argument("--results-dir", default="leaderboards/results")
    p.add_argument("--out-dir", default="leaderboards", help="where README.md and tables/ are written")
    p.add_argument("--published", help="published-numbers JSON (default leaderboards/published.json)")
    p.add_argument("--check", action="store_true", help="write nothing; fail if the files on disk are out of date")
    p.add_argument("--quiet", action="store_true", help="do not print the tables")
    p.add_argument("--judge", default=None,
                   help="print only the tables of this judge (bench ls judges); the files of every judge are "
                        "always written, one table per judge")
    p.set_defaults(func=cmd_leaderboard)

    p = sub.add_parser("check", help="re-run stored results and fail where a score moved beyond tolerance")
    p.add_argument("names", nargs="*", help="generator names, model specs, result files or folders (default: all)")
    p.add_argument("--results-dir", default="leaderboards/results")
    p.add_argument("--tolerance", default="auto", choices=["auto", "numeric", "exact", "ci"],
                   help="auto: numeric (the judge's measured cross-CPU drift per metric, counts and trial hashes "
                        "exact; benchmark/reports/tolerance.py) unless --device names a GPU, then each run within "
                        "the other's 95%% CI; never chosen by the result file; exact: bit-equal")
    p.add_argument("--device", help="re-run on this device instead of each result's own")
    p.add_argument("--data-root", help="the dataset's own directory")
    p.add_argument("--data-dir", help="folder holding <dataset>/ directories")
    p.add_argument("--no-cache", action="store_true", help="do not use the on-disk judge cache")
    p.add_argument("--all-rows", action="store_true", help="print every compared number, not only failures")
    p.add_argument("--judge", default=None,
                   help="check only the results scored by this judge (default: every result, each re-scored with "
                        "the judge it records; never compared with another judge's)")
    p.add_argument("--allow-spec", action="append", default=[], metavar="SPEC",
                   help="a model spec (file.py:Factory, module:Factory) you trust to be imported when a result names "
                        "it; without it bench check runs only registered generators and entry points (repeatable)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("compare", help="paired difference of results scored on the same trials (95% CI, p, Holm)")
    p.add_argument("results", nargs="+", help="two or more result JSON files of one table")
    p.add_argument("--metric", default=None, help="metric compared (default: the protocol's ranked metric)")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("sheet", help="contact sheet: generated faces next to real faces of K speakers")
    p.add_argument("--model", required=True, help="registered name, file.py:Factory or module:Factory")
    p.add_argument("--out", required=True, help="PNG path")
    p.add_argument("--protocol", default="stratified", help="protocol for probes and per-speaker scores")
    _data_args(p, default_dataset)
    p.add_argument("--k", type=int, default=5, help="speakers (rows)")
    p.add_argument("--voices", type=int, default=2, help="generated faces per speaker")
    p.add_argument("--real", type=int, default=3, help="real faces per speaker")
    p.add_argument("--speakers", help="comma-separated identity ids instead of the first K")
    p.add_argument("--model-arg", action="append", metavar="KEY=VALUE", help="argument for the model factory")
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch-size", type=positive_int, default=16, help="voices per generator call (default 16)")
    p.add_argument("--tile", type=int, default=128, help="tile side in pixels")
    _judge_args(p)
    p.set_defaults(func=cmd_sheet)


def main(argv: list[str] | None = None) -> int:
    """Run one ``bench`` command. Returns the exit status: 0 success, 1 a check failed, 2 an error the suite
    names (``BenchError``: bad input, missing data, bad generator output), 130 interrupted (Ctrl-C; the
    caches are transactional and stay consistent, and finished result files are complete)."""
    from benchmark.log import install_stderr_handler

    args = build_parser().parse_args(argv)
    install_stderr_handler()
    try:
        return args.func(args)
    except BenchError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench: interrupted; nothing half-written was kept (the cache keeps what was embedded so far)",
              file=sys.stderr)
        return 130
    except BrokenPipeError:  # `bench ls models | head -2`: the reader left; end quietly (Python docs, signal, SIGPIPE)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit-time flush cannot raise again
        return 141  # 128 + SIGPIPE, what a shell tool stopped by a closed pipe reports


if __name__ == "__main__":
    sys.exit(main())
