"""``bench leaderboard --html DIR``: the web page (``benchmark.reports.page``), written or checked after the
leaderboard's own files (``benchmark.cli.results.cmd_leaderboard``); its options are on the leaderboard parser."""

from __future__ import annotations

import argparse
import sys


def cmd_page(args: argparse.Namespace) -> int:
    """``bench leaderboard --html DIR`` (after the leaderboard's own files: the plots are copied from
    ``<out-dir>/plots``): write the web page (``benchmark.reports.page``), or with ``--check`` return 1 (and say
    which files) when ``DIR`` does not hold the page the results give."""
    from pathlib import Path

    from benchmark.reports.page import page_files, stale_page, write_page

    options = dict(data_root=args.data_root, data_dir=args.data_dir, device=args.device, progress=not args.quiet,
                   allow_spec=args.allow_spec)
    page = page_files(args.results_dir, args.html, plots_dir=Path(args.out_dir) / "plots", make_sheets=args.sheets,
                      sheet_options=options if args.sheets else None)
    if args.check:
        stale = stale_page(args.html, page)
        if stale:
            print(f"web page out of date (run `bench leaderboard --html {args.html}`): "
                  + ", ".join(str(Path(args.html) / rel) for rel in stale), file=sys.stderr)
            return 1
        print(f"web page in {args.html} is up to date ({len(page)} files)")
        return 0
    print(f"wrote the web page {write_page(args.html, page)} ({len(page)} files; open it in a browser)")
    return 0
