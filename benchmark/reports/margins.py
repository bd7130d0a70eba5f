"""The similarity-margin histograms (``bench run --plots``) and what they and the contact sheet
(``benchmark.reports.sheet``) read from a run: ``Capture`` and the per-trial 1:2 similarities.

**Margin histogram**, per 1:2 matching protocol of a run: for every trial, the margin
``cos(generated, true face) − cos(generated, imposter face)`` of the judge embeddings (the trial is won when it is
> 0), overall and per speaker gender, saved next to the result JSON as ``<result stem>-margins.png`` (matplotlib,
Agg backend, 800×500 px). Other tasks have no margin and are skipped with a note. Faces counted as failed
(``bench score --allow-missing``) have no margin and are left out of the histogram (the count is printed on it).

Both (histograms and sheet) read what the engine scored through ``run_many``'s ``before_scoring`` hook
(``Capture``: the judge embeddings of the generated faces, of the real faces, and the frozen trials): nothing is
embedded twice, and the per-trial outcomes are recomputed with the task's own metric
(``benchmark.metrics.pairwise.match_1to2``), checked against the result's overall value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from benchmark.errors import BenchError

MATCH_TASK = "match-1to2"

HIST_SIZE = (8.0, 5.0)
HIST_DPI = 100


@dataclass
class Capture:
    """Collects what a run scored: ``before_scoring`` stores the embeddings and plans, ``on_batch`` keeps the
    images of the first ``keep_per_speaker`` probe utterances of each speaker (none by default)."""

    keep_per_speaker: int = 0
    generated: object = None
    real: object = None
    plans: dict = field(default_factory=dict)
    generator: object = None
    images: dict = field(default_factory=dict)

    def before_scoring(self, generator, generated, real, plans):
        self.generator, self.generated, self.real, self.plans = generator, generated, real, dict(plans)
        return None

    def on_batch(self, ids: list[str], faces) -> None:
        if not self.keep_per_speaker:
            return
        for utt, face in zip(ids, faces):
            kept = self.images.setdefault(utt.split("/", 1)[0], [])
            if len(kept) < self.keep_per_speaker:
                kept.append((utt, face.permute(1, 2, 0).contiguous().numpy().copy()))  # [H, W, 3] uint8


def match_similarities(plan, generated, real) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-trial similarities of a 1:2 matching plan.

    Args:
        plan: a match-1to2 ``Plan`` (``plan.trials`` with ``probe``, ``true_face``, ``imposter_face``).
        generated: the ``Generated`` the run scored (NaN rows for failed faces).
        real: the run's real-face ``FaceTable``.

    Returns:
        ``(s_true, s_imp, outcome)``: float64 ``[N]`` cosine of each trial's generated face with its true and its
        imposter face (NaN for a failed face), and float32 ``[N]`` outcome (1 won, 0 lost, 0.5 tie) by
        ``benchmark.metrics.pairwise.match_1to2``.
    """
    import torch

    from benchmark.metrics.pairwise import cosine_similarity_rows, match_1to2

    trials = plan.trials
    g_index, f_index = generated.index(), real.index()
    gen = torch.from_numpy(generated.vectors)[[g_index[p] for p in trials.probe]]  # [N, D]
    true = torch.from_numpy(real.vectors)[[f_index[f] for f in trials.true_face]]  # [N, D]
    imp = torch.from_numpy(real.vectors)[[f_index[f] for f in trials.imposter_face]]  # [N, D]
    s_true = cosine_similarity_rows(gen, true).double().numpy()  # [N]
    s_imp = cosine_similarity_rows(gen, imp).double().numpy()  # [N]
    return s_true, s_imp, match_1to2(gen, true, imp).numpy()


def _check_outcome(outcome: np.ndarray, result: dict) -> None:
    """Raise BenchError unless the mean of ``outcome`` (float ``[N]``, every trial of the plan) equals the result's
    accuracy over all its trials: the stratum ``true_face=all`` where the result has true-face tiers (its headline
    then scores one tier only, ``benchmark.tasks.base.aggregate``), else the headline ``scores.accuracy``."""
    pooled = result.get("strata", {}).get("true_face=all", {}).get("accuracy")
    value = (pooled or result["scores"].get("accuracy", {})).get("value")
    if value is not None and abs(float(outcome.astype(np.float64).mean()) - value) > 1e-9:
        which = "all-tier (true_face=all) accuracy" if pooled else "accuracy"
        raise BenchError(f"recomputed 1:2 outcomes ({outcome.mean():.6f}) differ from the result's {which} "
                         f"({value:.6f}) for protocol {result['protocol']['name']}: the picture would not show "
                         "what was scored.")


def margin_histogram(margins: np.ndarray, strata: Sequence[str], title: str, out: str | os.PathLike[str],
                     note: str = "") -> Path:
    """Save a histogram of similarity margins.

    Args:
        margins: float ``[N]`` margins (NaN entries are left out).
        strata: length-N stratum label per trial ("m"/"f"), drawn as separate outlines.
        title: the figure title.
        out: PNG path (parent folders are created).
        note: an extra line under the title.

    Returns:
        The path written (800×500 px).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    margins = np.asarray(margins, dtype=np.float64)
    ok = ~np.isnan(margins)
    strata = np.asarray(list(strata))
    values = margins[ok]
    span = max(0.05, float(np.abs(values).max()) if values.size else 0.05)
    bins = np.linspace(-span, span, 41)
    fig, ax = plt.subplots(figsize=HIST_SIZE, dpi=HIST_DPI)
    ax.hist(values, bins=bins, color="#9ecae1", edgecolor="#4292c6", label=f"all ({values.size} trials)")
    colours = {"f": "#d62728", "m": "#2ca02c"}
    for s in sorted(set(strata[ok].tolist())):
        part = margins[ok & (strata == s)]
        ax.hist(part, bins=bins, histtype="step", linewidth=1.6, color=colours.get(s, "#555555"),
                label=f"gender={s} ({part.size})")
    ax.axvline(0.0, color="black", linewidth=1.0, linestyle="--")
    won = float(((values > 0) + 0.5 * (values == 0)).mean()) if values.size else float("nan")
    ax.set_xlabel("margin = cos(generated, true face) − cos(generated, imposter face)")
    ax.set_ylabel("trials")
    ax.set_title(title, fontsize=11)
    lines = [f"won (margin > 0, ties ½): {won:.1%}", f"median margin {np.median(values):+.3f}" if values.size else ""]
    if note:
        lines.append(note)
    ax.text(0.02, 0.97, "\n".join(filter(None, lines)), transform=ax.transAxes, va="top", fontsize=9,
            bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "#cccccc"})
    ax.legend(loc="best", fontsize=9)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def margin_plots(results: list[dict], capture: Capture, out_dir: str | os.PathLike[str] | None = None,
                 log=print) -> dict[str, Path]:
    """Write one margin histogram per 1:2 matching protocol of a run (module docstring).

    Args:
        results: the run's result dicts (with ``"path"`` when written).
        capture: the ``Capture`` whose ``before_scoring`` the run called.
        out_dir: where to write; default next to each result file.
        log: where notes about skipped protocols go.

    Returns:
        protocol name -> PNG path.
    """
    written = {}
    for result in results:
        if "skipped" in result:
            continue
        spec = result["protocol"]["spec"]
        name = result["protocol"]["name"]
        if spec.get("task") != MATCH_TASK:
            log(f"plots: protocol {name} (task {spec.get('task')}) has no similarity margin; no histogram.")
            continue
        plan = capture.plans[name]
        s_true, s_imp, outcome = match_similarities(plan, capture.generated, capture.real)
        _check_outcome(outcome, result)
        margins = s_true - s_imp
        failed = int(np.isnan(margins).sum())
        if out_dir is not None:
            path = Path(out_dir) / f"{result['dataset']['id']}-{result['generator']['name']}-{name}-seed{result['seed']}-margins.png"
        elif result.get("path"):
            path = Path(result["path"]).with_name(Path(result["path"]).stem + "-margins.png")
        else:
            log(f"plots: result of {name} was not written and no plot folder was given; no histogram.")
            continue
        title = (f"{result['generator']['name']} · {name} v{result['protocol']['version']} · "
                 f"{result['dataset']['id']} · seed {result['seed']}")
        note = f"{failed} trial(s) of failed faces left out" if failed else ""
        written[name] = margin_histogram(margins, plan.trials.stratum, title, path, note)
    return written


def run_with_plots(model: str, protocols: Sequence[str], dataset: str = "toy", *, plots_dir=None, log=print,
                   **kwargs) -> list[dict]:
    """``benchmark.engine.run.run_many`` plus a margin histogram per 1:2 matching protocol (``bench run --plots``).

    Args:
        model, protocols, dataset, kwargs: as ``run_many`` (``before_scoring`` is taken).
        plots_dir: folder for the PNGs; default next to each result JSON.
        log: where notes go.

    Returns:
        The results, each with ``"plot"`` (the PNG path) where one was drawn.
    """
    from benchmark.engine.run import run_many

    capture = Capture()
    results = run_many(model, protocols, dataset, before_scoring=capture.before_scoring, **kwargs)
    plots = margin_plots(results, capture, plots_dir, log=log)
    for result in results:
        name = result.get("protocol", {}).get("name")
        if name in plots:
            result["plot"] = str(plots[name])
    return results
