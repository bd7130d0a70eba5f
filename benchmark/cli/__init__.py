"""The ``bench`` command line: thin argparse subcommands over the engine, the reports and the registries.

One module per group of subcommands, each with an ``add_parsers(subparsers)`` that registers its commands
(``set_defaults(func=cmd_...)``); ``COMMANDS`` lists them in the order ``bench --help`` shows them. To add a
subcommand, write ``benchmark/cli/<name>.py`` with ``add_parsers`` and its ``cmd_<name>(args) -> int``, and add the
module to ``COMMANDS``.

Building the parser imports no torch, numpy, judge or dataset loader (``benchmark.cli.options``): ``bench --help``,
``bench <cmd> --help`` and argument errors answer at once (benchmarks/cli_speed.py measures them). A command imports
what it needs when it runs.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from benchmark.cli.printing import TOY_WARNING, format_scores, print_result
from benchmark.cli.results import score_command
from benchmark.errors import BenchError

__all__ = ["COMMANDS", "TOY_WARNING", "build_parser", "format_scores", "main", "print_result", "score_command"]

COMMANDS: tuple[str, ...] = (
    "benchmark.cli.run",      # run, embed, ls
    "benchmark.cli.results",  # score, trials, leaderboard, check, compare, sheet
    "benchmark.cli.datasets",  # dataset validate|convert, label
    "baselines.train_cli",    # train, export-checkpoint
)
"""Modules whose ``add_parsers(subparsers)`` register the subcommands, in the order the help lists them."""


def build_parser() -> argparse.ArgumentParser:
    """The ``bench`` argument parser: every subcommand of ``COMMANDS``, each with ``func`` set to its command."""
    from benchmark import __version__

    parser = argparse.ArgumentParser(prog="bench", description="voice2face-bench: score face-from-voice generators.")
    parser.add_argument("--version", action="version", version=f"voice2face-bench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(name).add_parsers(sub)
    return parser


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
