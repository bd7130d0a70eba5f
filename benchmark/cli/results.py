"""``bench score``, ``trials``, ``leaderboard``, ``check`` and ``sheet``: submissions made elsewhere, the tables, the
regression check and pictures (``benchmark.engine.submission``, ``benchmark.reports``), each imported when its
command runs."""

from __future__ import annotations

import argparse
import sys

from benchmark.errors import BenchError

from benchmark.cli.options import (RESULTS_DIR_HELP, comma_list, data_args, judge_args, model_args, positive_int,
                                   single)
from benchmark.cli.printing import TOY_WARNING, nothing_scored, print_result, unsaved


def cmd_score(args: argparse.Namespace) -> int:
    from pathlib import Path

    from benchmark.engine.submission import score

    protocols = comma_list(args.protocol)
    results = score(args.faces, protocols, args.dataset, name=args.name or Path(args.faces).resolve().name,
                    allow_missing=args.allow_missing, citation=args.citation,
                    trained_against_judge=args.trained_against_judge,
                    training_datasets=comma_list(args.training_datasets or ""), data_root=args.data_root,
                    data_dir=args.data_dir, device=args.device, seed=args.seed, batch_size=args.batch_size,
                    out=args.out, results_dir=args.results_dir, split=args.split,
                    holdout_rule=args.holdout_rule, reference=args.reference or "", use_cache=not args.no_cache,
                    progress=not args.quiet, strict=single(protocols), judge=args.judge,
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
    return unsaved(results) or nothing_scored(results)


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


def default_out(args: argparse.Namespace, kind: str, stem: str, suffix: str) -> str:
    """The default ``--out`` of ``bench trials`` / ``bench sheet`` (issue 23 §5: never the current folder, which in a
    clone is the repository root): ``<results dir>/<dataset>/<kind>/<stem>-seed<seed><suffix>``, the results folder
    being ``--results-dir``, else ``$VOICE2FACE_RESULTS_DIR`` or ``./results`` (``benchmark.settings.results_dir``).

    Raises:
        BenchError: the dataset or ``stem`` is not safe as a file name (``benchmark.safety.path_component``).
    """
    from pathlib import Path

    from benchmark.data.identity import dataset_folder_hint
    from benchmark.safety import path_component
    from benchmark.settings import results_dir

    root = Path(args.results_dir) if args.results_dir else results_dir()
    folder = root / path_component(dataset_folder_hint(args.dataset), "dataset name") / kind
    return str(folder / f"{path_component(stem, kind[:-1] + ' name')}-seed{args.seed}{suffix}")


def cmd_trials(args: argparse.Namespace) -> int:
    from benchmark.engine.submission import export_trials

    protocols = comma_list(args.protocol)
    if not args.out:
        args.out = default_out(args, "trials", "_".join(protocols), ".csv")
    info = export_trials(protocols, args.dataset, args.out, seed=args.seed, data_root=args.data_root,
                         data_dir=args.data_dir, trials_dir=args.trials_dir, split=args.split,
                         use_cache=not args.no_cache, judge=args.judge, judge_device=args.judge_device,
                         progress=not args.quiet, strict=single(protocols))
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
    if args.sheets and (args.check or not args.html):
        raise BenchError("--sheets draws the web page's contact sheets: give it with --html DIR, without --check.")
    output = leaderboard(args.results_dir, args.out_dir, published=args.published, check=args.check)
    if args.html:
        from benchmark.cli.page import cmd_page

        if cmd_page(args):
            return 1
    if args.check:
        if output.stale:
            print("leaderboards out of date (run `bench leaderboard`): " + ", ".join(output.stale), file=sys.stderr)
            return 1
        plots = sum(1 for f in output.files if f.startswith("plots/") and f.endswith(".json"))
        print(f"leaderboards in {args.out_dir} are up to date ({len(output.files)} files, and {2 * plots} plot "
              "images checked by the numbers they carry)")
        return 0
    if args.judge and not args.quiet:
        from benchmark.reports.leaderboard import section_markdown

        shown = [t for t in output.tables if t.judge == args.judge]
        print("\n".join(section_markdown(t) for t in shown) if shown else f"no table of judge {args.judge!r}")
    elif not args.quiet:
        print(output.summary)
    print(written_lines(output, args.out_dir))
    return 0


def written_lines(output, out_dir: str) -> str:
    """What ``bench leaderboard`` wrote, in a few lines (not the README itself: issue 23 §5)."""
    from pathlib import Path

    files = output.files
    tables = [f for f in files if f.startswith("tables/") and f.endswith(".md")]
    plots = sorted(f for f in files if f.startswith("plots/") and not f.endswith(".json"))
    root = Path(out_dir)
    lines = [f"wrote {len(files)} files under {root}:",
             f"  {root / 'README.md'} ({output.readme.count(chr(10))} lines: the summary first, then every table)",
             f"  {len(tables)} detail tables under {root / 'tables'} (<data>/<protocol>.md, and .csv beside each)"]
    if plots:
        lines.append(f"  {len(plots)} plots under {root / 'plots'}: " + ", ".join(Path(p).name for p in plots))
    return "\n".join(lines)


def cmd_check(args: argparse.Namespace) -> int:
    from benchmark.reports.check import check

    report = check(args.results_dir, args.names, tolerance=args.tolerance, device=args.device,
                   data_root=args.data_root, data_dir=args.data_dir, use_cache=not args.no_cache,
                   progress=not args.quiet, judge=args.judge, allow_spec=args.allow_spec, dataset=args.dataset)
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

    if not args.out:
        from pathlib import Path

        args.out = default_out(args, "sheets", f"{Path(args.model.split(':')[0]).stem}-{args.protocol}", ".png")
    check_out_file(args.out, "--out", "Name a PNG file.")

    info = contact_sheet(args.model, args.dataset, args.out, protocol=args.protocol, k=args.k, voices=args.voices,
                         real=args.real, speakers=comma_list(args.speakers or ""), seed=args.seed,
                         model_args=model_args(args.model_arg), data_root=args.data_root, data_dir=args.data_dir,
                         device=args.device, batch_size=args.batch_size, use_cache=not args.no_cache,
                         progress=not args.quiet, tile=args.tile, split=args.split, judge=args.judge,
                         judge_device=args.judge_device)
    print(f"contact sheet of {len(info['speakers'])} speaker(s) ({', '.join(info['speakers'])}) written to "
          f"{info['path']} ({info['size'][0]}x{info['size'][1]} px)")
    return 0


def add_parsers(sub) -> None:
    """The subcommands score, trials, leaderboard, check and sheet on an argparse ``subparsers`` object."""
    p = sub.add_parser("score", help="score a folder of face images named by utterance id, as bench run would")
    p.add_argument("--faces", required=True, metavar="DIR",
                   help="folder of DIR/<utterance id>.png|.jpg (nested) or DIR/<id>__<video>__<n>.png (flat)")
    p.add_argument("--protocol", required=True, help="protocol name, a comma-separated list, or 'all'")
    data_args(p)
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
    judge_args(p)
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("trials", help="export the utterances (and frozen trials) a submission must make faces for")
    p.add_argument("--protocol", required=True, help="protocol name, a comma-separated list, or 'all'")
    data_args(p)
    p.add_argument("--out", help="CSV of utterances: utterance,identity,gender,audio,image,protocols (default: "
                   "<results dir>/<dataset>/trials/<protocol>[_<protocol>…]-seed<seed>.csv)")
    p.add_argument("--results-dir", default=None, help="results folder the default --out is under (default "
                   "$VOICE2FACE_RESULTS_DIR or ./results)")
    p.add_argument("--trials-dir", help="also copy each protocol's frozen trial file here")
    judge_args(p)
    p.set_defaults(func=cmd_trials)

    p = sub.add_parser("leaderboard", help="render the leaderboard (summary, plots, Markdown and CSV tables) from "
                                           "stored results")
    p.add_argument("--results-dir", default="leaderboards/results",
                   help="folder of result JSON files, searched recursively (default leaderboards/results, relative to "
                        "the current folder; a folder without results is refused)")
    p.add_argument("--out-dir", default="leaderboards", help="where README.md, tables/ and plots/ are written")
    p.add_argument("--published", help="published-numbers JSON (default leaderboards/published.json)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; fail if the files on disk are out of date (tables and plot numbers exactly; "
                        "each PNG/SVG by the sha256 of its numbers it carries)")
    p.add_argument("--quiet", action="store_true", help="do not print the summary (what was written is printed)")
    p.add_argument("--judge", default=None,
                   help="print only the tables of this judge (bench ls judges); the files of every judge are "
                        "always written, one table per judge")
    p.add_argument("--html", metavar="DIR", default=None,
                   help="also write the web page (DIR/index.html: summaries with sortable columns, filters, plots, "
                        "contact sheets; opens from disk); with --check, fail if DIR's page is out of date")
    p.add_argument("--sheets", action="store_true",
                   help="with --html: draw a contact sheet per generator and data by re-running each generator as "
                        "its result records (needs the data; slow); without it the page reuses DIR/sheets/")
    p.add_argument("--data-root", help="with --sheets: the dataset's own directory")
    p.add_argument("--data-dir", help="with --sheets: folder holding <dataset>/ directories")
    p.add_argument("--device", default="cpu", help="with --sheets: torch device for the generators (default cpu)")
    p.add_argument("--allow-spec", action="append", default=[], metavar="SPEC",
                   help="with --sheets: a model spec named by a result file that you trust to be imported")
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
    p.add_argument("--dataset", metavar="PATH",
                   help="the manifest (manifest.json or its folder) of results scored on one, when it is no longer "
                        "where they record; it must have the fingerprint they record")
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

    p = sub.add_parser("compare", help="paired difference of results scored on the same trials (95%% CI, p, Holm)")
    p.add_argument("results", nargs="+", help="two or more result JSON files of one table")
    p.add_argument("--metric", default=None, help="metric compared (default: the protocol's ranked metric)")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("sheet", help="contact sheet: generated faces next to real faces of K speakers")
    p.add_argument("--model", required=True, help="registered name, file.py:Factory or module:Factory")
    p.add_argument("--out", help="PNG path (default: <results dir>/<dataset>/sheets/<model>-<protocol>-seed<seed>.png)")
    p.add_argument("--results-dir", default=None, help="results folder the default --out is under (default "
                   "$VOICE2FACE_RESULTS_DIR or ./results)")
    p.add_argument("--protocol", default="stratified", help="protocol for probes and per-speaker scores")
    data_args(p)
    p.add_argument("--k", type=int, default=5, help="speakers (rows)")
    p.add_argument("--voices", type=int, default=2, help="generated faces per speaker")
    p.add_argument("--real", type=int, default=3, help="real faces per speaker")
    p.add_argument("--speakers", help="comma-separated identity ids instead of the first K")
    p.add_argument("--model-arg", action="append", metavar="KEY=VALUE", help="argument for the model factory")
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch-size", type=positive_int, default=16, help="voices per generator call (default 16)")
    p.add_argument("--tile", type=int, default=128, help="tile side in pixels")
    judge_args(p)
    p.set_defaults(func=cmd_sheet)
