"""``bench dataset validate|convert`` and ``bench label``: thin argparse commands over ``benchmark.data.validate``,
``benchmark.data.converters`` and ``benchmark.judges.labels`` (docs/ADDING_A_DATASET.md)."""

from __future__ import annotations

import argparse
import json
import time


def cmd_dataset_validate(args: argparse.Namespace) -> int:
    from benchmark.data.validate import format_report, validate_dataset

    report = validate_dataset(args.path, args.data_root, args.data_dir)
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 1 if report["problems"] else 0


def cmd_dataset_convert(args: argparse.Namespace) -> int:
    from benchmark.data.converters import converter
    from benchmark.data.validate import format_report, validate_manifest

    options = {}
    for text in args.option or ():
        key, sep, value = text.partition("=")
        if not sep:
            from benchmark.errors import BenchError

            raise BenchError(f"--option {text!r} must be KEY=VALUE (e.g. test=0.2).")
        options[key.replace("-", "_")] = float(value) if key in ("test", "validation") else value
    t0 = time.perf_counter()
    path = converter(args.layout)(args.src, args.out, name=args.name, fmt=args.format, **options)
    seconds = time.perf_counter() - t0
    print(format_report(validate_manifest(path)))
    print(f"wrote {path} in {seconds:.1f} s; score it with --dataset {path.parent}")
    return 0


def cmd_label(args: argparse.Namespace) -> int:
    from benchmark.judges.labels import label_manifest

    t0 = time.perf_counter()
    out = label_manifest(args.manifest, tuple(f for f in args.fields.split(",") if f), overwrite=args.overwrite)
    print(f"labelled {', '.join(f'{f}: {n}' for f, n in out['labelled'].items())} identities "
          f"(kept: {', '.join(f'{f}: {n}' for f, n in out['kept'].items())}) as {out['source']} "
          f"in {time.perf_counter() - t0:.1f} s")
    if out["failed"]:
        print(f"no usable face (left unlabelled): {', '.join(out['failed'])}")
    return 0


def add_dataset_commands(sub) -> None:
    """Add ``dataset`` (validate, convert) and ``label`` to the ``bench`` subparsers."""
    from benchmark.data.converters import LAYOUTS

    p = sub.add_parser("dataset", help="check a dataset manifest, or write one from a known layout")
    dsub = p.add_subparsers(dest="dataset_command", required=True)
    v = dsub.add_parser("validate", help="report missing or duplicate files, unknown labels and counts per split")
    v.add_argument("path", help="manifest.json or the folder holding it, or a dataset name (bench ls datasets)")
    v.add_argument("--data-root", help="the dataset's own directory (a dataset name only)")
    v.add_argument("--data-dir", help="folder holding <dataset>/ directories (a dataset name only)")
    v.add_argument("--json", action="store_true", help="print the report as JSON")
    v.set_defaults(func=cmd_dataset_validate)
    c = dsub.add_parser("convert", help="write a manifest from one of the field's layouts",
                        description="layouts: " + "; ".join(f"{k}: {d}" for k, d in LAYOUTS.items()))
    c.add_argument("layout", choices=sorted(LAYOUTS))
    c.add_argument("src", help="the dataset's folder in that layout")
    c.add_argument("--out", required=True, help="manifest folder to write (paths inside are relative to it)")
    c.add_argument("--name", default=None, help="dataset name recorded in results (default: the layout's)")
    c.add_argument("--format", default="csv", choices=["csv", "parquet"], help="table format (parquet needs pyarrow)")
    c.add_argument("--option", action="append", metavar="KEY=VALUE",
                   help="layout option: clips: test=0.2, validation=0.2; hq-voxceleb: face_type=masked|origin")
    c.set_defaults(func=cmd_dataset_convert)

    p = sub.add_parser("label", help="predict gender and age of a manifest's identities from their real faces")
    p.add_argument("manifest", help="manifest.json or its folder; its identities table is rewritten in place")
    p.add_argument("--fields", default="gender,age", help="comma-separated: gender, age (default both)")
    p.add_argument("--overwrite", action="store_true", help="replace labels already there (human ones included)")
    p.set_defaults(func=cmd_label)


add_parsers = add_dataset_commands
"""The registrar ``benchmark.cli.COMMANDS`` calls."""
