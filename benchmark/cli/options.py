"""Arguments several ``bench`` subcommands share, and the small parsers of their values.

Nothing here imports torch, numpy, a judge or a dataset loader: ``bench --help`` and every ``bench <cmd> --help``
build their parsers from this module (tests/test_layout.py::test_help_imports_no_torch checks it). The defaults
shown in the help come from their owners: ``benchmark.data.datasets.DEFAULT_DATASET`` (a module of plain names) and
``benchmark.judges.DEFAULT_JUDGE`` (the judge registry, whose interface classes load on first use).
"""

from __future__ import annotations

import argparse

from benchmark.engine.preflight import non_negative_int, positive_int
from benchmark.errors import BenchError

__all__ = ["RESULTS_DIR_HELP", "comma_list", "data_args", "dataset_args", "judge_args", "model_args",
           "non_negative_int", "positive_int", "single"]

RESULTS_DIR_HELP = ("folder for result JSON files, as <dir>/<dataset>/<split>/<model>/<protocol>-seed<seed>.json, "
                    "with -judge-<judge> before .json for a judge other than the default (default "
                    "$VOICE2FACE_RESULTS_DIR or ./results; the committed leaderboard's folder, leaderboards/results, "
                    "only when named)")


def model_args(pairs: list[str] | None) -> dict:
    """``--model-arg KEY=VALUE`` pairs as a dict of strings. Raises ``BenchError`` for a pair without ``=``."""
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise BenchError(f"--model-arg {pair!r} must be KEY=VALUE.")
        out[key] = value
    return out


def comma_list(text: str) -> list[str]:
    """``"a,b,,c"`` -> ``["a", "b", "c"]``."""
    return [p for p in text.split(",") if p]


def single(protocols: list[str]) -> bool:
    """One named protocol: an error in it stops the command (strict); lists and 'all' skip what cannot run."""
    return len(protocols) == 1 and protocols[0] != "all"


def default_dataset() -> str:
    """The dataset a command uses unless told otherwise (``benchmark.data.datasets.DEFAULT_DATASET``)."""
    from benchmark.data.datasets import DEFAULT_DATASET

    return DEFAULT_DATASET


def dataset_args(p: argparse.ArgumentParser) -> None:
    """``--dataset``, ``--data-root``, ``--data-dir``."""
    default = default_dataset()
    p.add_argument("--dataset", default=default, help=f"dataset name (default: {default})")
    p.add_argument("--data-root", help="the dataset's own directory")
    p.add_argument("--data-dir", help="folder holding <dataset>/ directories (default $VOICE2FACE_DATA_DIR or ./data)")


def data_args(p: argparse.ArgumentParser) -> None:
    """``dataset_args`` plus ``--seed``, ``--split``, ``--no-cache`` and ``--quiet``."""
    dataset_args(p)
    p.add_argument("--seed", type=non_negative_int, default=0,
                   help="seeds the trials, per-utterance generator randomness and the bootstrap; >= 0 (default 0)")
    p.add_argument("--split", default=None,
                   help="evaluated split: test (default: each protocol's own, Wen et al.'s C-E identities), "
                        "validation, validation+test, all; recorded in the result and shown on leaderboards")
    p.add_argument("--no-cache", action="store_true",
                   help="read and write no on-disk cache (judge/speaker embeddings, trial files); slower")
    p.add_argument("--quiet", action="store_true", help="no progress bars (one line per stage stays, on stderr)")


def judge_args(p: argparse.ArgumentParser) -> None:
    """``--judge`` (default ``benchmark.judges.DEFAULT_JUDGE``) and ``--judge-device``."""
    from benchmark.judges import DEFAULT_JUDGE

    p.add_argument("--judge", default=DEFAULT_JUDGE,
                   help=f"the judge that embeds the faces (bench ls judges; default {DEFAULT_JUDGE}); recorded in the "
                        "result, which is ranked only beside results of the same judge")
    p.add_argument("--judge-device", default="cpu",
                   help="torch device for the judge (default cpu; judge dlib, dlib-bin, runs on the CPU only)")
