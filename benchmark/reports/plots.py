"""Summary plots (issue 23 §2): for each summary (one data, one judge), the headline metric of each protocol for
every generator with its 95 % CI, chance (dashed) and ceiling (dotted) drawn as lines — PNG and SVG by matplotlib.

Files, under the leaderboard folder: ``plots/<summary slug>.json`` (the plotted numbers: ``plot_data``),
``plots/<slug>.png`` and ``plots/<slug>.svg``. The images are drawn from the JSON only.

How ``bench leaderboard --check`` checks them (robust to the matplotlib and FreeType versions, which change an
image's bytes but not what it shows): the JSON is compared exactly, like every table; each image must exist and
carry the sha256 of that JSON in its metadata (PNG ``Description`` text chunk, SVG ``<dc:description>``:
``image_digest``), so an image drawn from other numbers fails. The images themselves are also rendered
deterministically (no date, no software version, fixed ``svg.hashsalt``), so re-running ``bench leaderboard`` with
the same library versions gives the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path

from benchmark.reports.summary import SummaryTable

DIGEST_PREFIX = "voice2face-bench plotted numbers sha256 "
"""Text before the sidecar's sha256 in an image's metadata (``image_digest``)."""

METHOD, REFERENCE, CHANCE, CEILING = "#1f77b4", "#7f7f7f", "#d62728", "#2ca02c"


def plot_data(table: SummaryTable) -> dict:
    """The numbers a summary's plot shows (JSON-ready; values as fractions or the metric's unit).

    Returns:
        ``{"title", "judge", "columns": [{"protocol", "label", "metric", "percent", "lower_is_better", "chance",
        "ceiling", "rows": [{"generator", "reference", "value", "ci95": [lo, hi], "band", "flag", "population"}]}]}``;
        rows in the summary's order (methods, then references); ``population`` is "" or the subset a reference was
        scored on (marked † on the plot).
    """
    columns = []
    for c in table.columns:
        rows = [{"generator": r.generator, "reference": r.reference, "value": cell.value,
                 "ci95": [cell.ci_low, cell.ci_high], "band": cell.band, "flag": bool(cell.flag),
                 "population": cell.population}
                for r in table.rows + table.references if (cell := r.cells.get(c.protocol)) is not None]
        columns.append({"protocol": c.protocol, "label": c.label, "metric": c.metric, "percent": c.percent,
                        "lower_is_better": c.lower_is_better, "chance": c.chance, "ceiling": c.ceiling, "rows": rows})
    return {"title": table.heading, "judge": table.judge, "columns": columns}


def sidecar_text(data: dict) -> str:
    """The JSON file of ``plot_data`` (2-space indented, keys in order, final newline)."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def digest(text: str) -> str:
    """sha256 (hex) of a sidecar's text, as the images carry it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def render(data: dict) -> tuple[bytes, bytes]:
    """Draw ``plot_data``'s numbers: ``(png bytes, svg bytes)``.

    One panel per column (3 per row): a horizontal interval per generator (methods blue, references grey, "⚠"
    flagged), the value as a dot, chance as a red dashed line, ceiling as a green dotted line; proportions in %.
    Both files carry ``DIGEST_PREFIX`` + ``digest(sidecar_text(data))`` in their metadata and no date or version.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    text = sidecar_text(data)
    stamp = DIGEST_PREFIX + digest(text)
    cols = data["columns"]
    ncols = min(3, max(1, len(cols)))
    nrows = max(1, -(-len(cols) // ncols))
    height = max((len(c["rows"]) for c in cols), default=1)
    with matplotlib.rc_context({"svg.hashsalt": "voice2face-bench", "font.size": 8, "svg.fonttype": "path",
                              "text.parse_math": False, "text.usetex": False}):
        fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 0.9 + (0.28 * height + 0.9) * nrows),
                                 squeeze=False)
        for ax in axes.flat[len(cols):]:
            ax.set_visible(False)
        for ax, col in zip(axes.flat, cols):
            _panel(ax, col)
        fig.suptitle(f"{data['title']} — judge {data['judge']} (95 % CI)", fontsize=10)
        subsets = sorted({r["population"] for c in cols for r in c["rows"] if r["population"]})
        notes = ["⚠ interval not to be trusted (see the table)"] + [f"† scored on {p} only" for p in subsets]
        fig.text(0.01, 0.005, "   ".join(notes), fontsize=7, ha="left", va="bottom")
        fig.tight_layout(rect=(0, 0.03, 1, 1))
        png, svg = io.BytesIO(), io.BytesIO()
        fig.savefig(png, format="png", dpi=100, metadata={"Software": None, "Description": stamp})
        fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None, "Description": stamp})
        plt.close(fig)
    return png.getvalue(), svg.getvalue()


def _panel(ax, col: dict) -> None:
    scale = 100.0 if col["percent"] else 1.0
    rows = col["rows"]
    ys = list(range(len(rows)))[::-1]
    for y, r in zip(ys, rows):
        colour = REFERENCE if r["reference"] else METHOD
        lo, hi = (v * scale for v in r["ci95"])
        value = r["value"] * scale
        ax.plot([lo, hi], [y, y], color=colour, linewidth=2, solid_capstyle="butt")
        ax.plot([value], [y], "o", color=colour, markersize=4)
    labels = [_short(r["generator"]) + (f" ({_short(r['reference'], 12)})" if r["reference"] else "") + (" †" if r["population"] else "")
              + (" ⚠" if r["flag"] else "") for r in rows]
    ax.set_yticks(ys, labels)
    if col["chance"] is not None:
        ax.axvline(col["chance"] * scale, color=CHANCE, linestyle="--", linewidth=1, label="chance")
    if col["ceiling"] is not None:
        ax.axvline(col["ceiling"] * scale, color=CEILING, linestyle=":", linewidth=1.2, label="ceiling")
    unit = " (%)" if col["percent"] else ""
    ax.set_xlabel(f"{col['metric']}{unit}" + (" — lower is better" if col["lower_is_better"] else ""))
    ax.set_title(f"{col['label']} ({col['protocol']})")
    ax.grid(axis="x", linewidth=0.3)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    if col["chance"] is not None or col["ceiling"] is not None:
        ax.legend(loc="best", fontsize=6, frameon=False)


def _short(text: str, n: int = 36) -> str:
    """A label cut to ``n`` characters (with "…"), on one line: a long name must not squeeze the panels."""
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[:n - 1] + "…"


def image_digest(path: Path) -> str | None:
    """The sidecar sha256 an image carries (``render``), or None (no file, no stamp, unreadable)."""
    path = Path(path)
    if not path.is_file():
        return None
    if path.suffix == ".png":
        from PIL import Image

        try:
            with Image.open(path) as im:
                text = im.text.get("Description", "")  # type: ignore[attr-defined]
        except (OSError, ValueError):
            return None
    else:
        text = path.read_text(encoding="utf-8", errors="replace")
    match = re.search(re.escape(DIGEST_PREFIX) + r"([0-9a-f]{64})", text)
    return match.group(1) if match else None


def plot_files(tables: list[SummaryTable], draw: bool = True) -> dict[str, str | bytes]:
    """``plots/<slug>.json`` (text) for every summary and, with ``draw``, ``plots/<slug>.png`` and ``.svg`` (bytes);
    without ``draw`` (``--check``) only the JSON, which is what the images are checked against."""
    from benchmark.reports.summary_md import PLOTS_DIR

    files: dict[str, str | bytes] = {}
    for table in tables:
        data = plot_data(table)
        base = f"{PLOTS_DIR}/{table.slug}"
        files[f"{base}.json"] = sidecar_text(data)
        if draw:
            files[f"{base}.png"], files[f"{base}.svg"] = render(data)
    return files
