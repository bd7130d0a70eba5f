"""Pictures: the contact sheet (``bench sheet``) and the similarity-margin histograms (``bench run --plots``).

**Contact sheet**, as in Wen, Singh, Raj (NeurIPS 2019), Fig. 3: one row per speaker (K test speakers of the
protocol, sorted by id, or the ones named), showing the faces the generator made from the speaker's first V
probe utterances, then R real faces of the speaker (usable gallery-source faces, sorted by id; on a VoxCeleb1-crop
gallery such as vox1-s2f, the crops of the shown voices' own clips come first: voice → face → true face), with under each
row the identity, name, gender and the speaker's own score under the protocol (for 1:2 matching: the share of
the speaker's trials won, and the count). Pixels: Pillow; every tile is centre-cropped and resized to
``tile`` px for display only (scoring never sees the sheet); each tile has a 1 px dark frame. The image size is
``sheet_size(k, voices, real, tile)``, exactly.

**Margin histogram**, per 1:2 matching protocol of a run: for every trial, the margin
``cos(generated, true face) − cos(generated, imposter face)`` of the judge embeddings (the trial is won when it is
> 0), overall and per speaker gender, saved next to the result JSON as ``<result stem>-margins.png`` (matplotlib,
Agg backend, 800×500 px). Other tasks have no margin and are skipped with a note. Faces counted as failed
(``bench score --allow-missing``) have no margin and are left out of the histogram (the count is printed on it).

Both read what the engine scored through ``run_many``'s ``before_scoring`` hook (the judge embeddings of the
generated faces, of the real faces, and the frozen trials): nothing is embedded twice, and the per-trial
outcomes are recomputed with the task's own metric (``benchmark.metrics.pairwise.match_1to2``), checked against the
result's overall value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from benchmark.errors import BenchError

MATCH_TASK = "match-1to2"

TILE = 128
PAD = 8
GAP = 24
HEADER = 58
CAPTION = 36
MIN_WIDTH = 520
BACKGROUND = (255, 255, 255)
FRAME = (20, 20, 20)
TEXT = (30, 30, 30)
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
    value = result["scores"].get("accuracy", {}).get("value")
    if value is not None and abs(float(outcome.astype(np.float64).mean()) - value) > 1e-9:
        raise BenchError(f"recomputed 1:2 outcomes ({outcome.mean():.6f}) differ from the result's accuracy "
                         f"({value:.6f}) for protocol {result['protocol']['name']}: the picture would not show "
                         "what was scored.")


# --- margin histograms ---------------------------------------------------------------------------------------


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


# --- contact sheet ------------------------------------------------------------------------------------------


def sheet_size(k: int, voices: int, real: int, tile: int = TILE) -> tuple[int, int]:
    """(width, height) in pixels of a contact sheet of ``k`` rows, ``voices`` generated and ``real`` real tiles."""
    width = max(MIN_WIDTH, PAD + voices * (tile + PAD) + GAP + real * (tile + PAD))
    return width, HEADER + k * (tile + CAPTION + PAD) + PAD


def tile_boxes(k: int, voices: int, real: int, tile: int = TILE) -> list[list[tuple[int, int, int, int]]]:
    """Per row, the (left, top, right, bottom) pixel box of each tile, generated first (right/bottom exclusive)."""
    rows = []
    for r in range(k):
        top = HEADER + r * (tile + CAPTION + PAD)
        lefts = [PAD + i * (tile + PAD) for i in range(voices)]
        lefts += [PAD + voices * (tile + PAD) + GAP + j * (tile + PAD) for j in range(real)]
        rows.append([(x, top, x + tile, top + tile) for x in lefts])
    return rows


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: bitmap font only
        return ImageFont.load_default()


@dataclass
class SheetRow:
    """One speaker's row: identity, name, gender, generated images ``[H, W, 3]``, real images, and score text."""

    identity: str
    name: str
    gender: str
    generated: list
    real: list
    score: str


def generated_label(generator: dict, voices: int) -> str:
    """The heading of a sheet's generated columns, from the result's generator record.

    A row marked ``reference: "ceiling"`` (e.g. Speech2Face's face2face, the face decoder applied to the true face's
    feature; ``bench score --reference ceiling``) was not drawn from the voice, and the heading says so.
    """
    shown = f"first {voices} utterance{'s' if voices > 1 else ''}"
    if generator.get("reference") == "ceiling":
        return f"ceiling reference, NOT drawn from the voice ({shown})"
    return f"generated from the voice ({shown})"


def draw_sheet(rows: list[SheetRow], title: str, voices: int, real: int, out: str | os.PathLike[str],
               gen_label: str = "generated from the voice", real_label: str = "real faces", tile: int = TILE) -> Path:
    """Draw a contact sheet (module docstring) and save it as PNG; returns the path.

    Args:
        rows: one ``SheetRow`` per speaker (at most ``voices`` generated and ``real`` real images each; empty
            slots stay blank).
        title: the first header line.
        voices, real: tile columns of each kind.
        out: PNG path.
        gen_label, real_label: the column-group labels.
        tile: tile side in pixels.
    """
    from PIL import Image, ImageDraw

    from benchmark.data.images import square_resize

    width, height = sheet_size(len(rows), voices, real, tile)
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    big, small = _font(15), _font(12)
    draw.text((PAD, 8), title, fill=TEXT, font=big)
    real_left = PAD + voices * (tile + PAD) + GAP
    room = real_left - PAD - 6  # the generated group's label must end before the real group's begins
    for label in (gen_label, gen_label.split(" (")[0], "generated"):
        if draw.textlength(label, font=small) <= room:
            break
    draw.text((PAD, HEADER - 20), label, fill=TEXT, font=small)
    draw.text((real_left, HEADER - 20), real_label, fill=TEXT, font=small)
    for row, boxes in zip(rows, tile_boxes(len(rows), voices, real, tile)):
        images = list(row.generated[:voices]) + [None] * (voices - len(row.generated[:voices]))
        images += list(row.real[:real]) + [None] * (real - len(row.real[:real]))
        for image, (left, top, right, bottom) in zip(images, boxes):
            draw.rectangle((left - 1, top - 1, right, bottom), outline=FRAME, width=1)
            if image is not None:
                canvas.paste(Image.fromarray(square_resize(np.asarray(image, dtype=np.uint8), tile)), (left, top))
        top = boxes[0][3] + 4
        draw.text((PAD, top), f"{row.identity} · {row.name.replace('_', ' ')} · {row.gender}", fill=TEXT, font=small)
        draw.text((PAD, top + 16), row.score, fill=TEXT, font=small)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(out)
    return out


def contact_sheet(model: str, dataset: str, out: str | os.PathLike[str], *, protocol: str = "stratified",
                  k: int = 5, voices: int = 2, real: int = 3, speakers: Sequence[str] = (), seed: int = 0,
                  model_args: dict | None = None, data_root=None, data_dir=None, device: str = "cpu",
                  batch_size: int = 16, use_cache: bool = True, progress: bool = False, tile: int = TILE,
                  split: str | None = None, judge: str | None = None, judge_device: str = "cpu") -> dict:
    """Run a generator on a protocol and draw the contact sheet (``bench sheet``; module docstring).

    Args:
        model: any model spec ``bench run`` accepts.
        dataset: the dataset.
        out: PNG path.
        protocol: the protocol whose probes, trials and per-speaker score are shown.
        k: rows (speakers); at most the protocol's speaker count.
        voices: generated faces per row (the speaker's first probe utterances, sorted by id).
        real: real faces per row (usable gallery-source faces, sorted by id).
        speakers: identity ids to show instead of the first ``k``.
        seed, model_args, data_root, data_dir, device, batch_size, use_cache, progress, split, judge_device: as
            ``run_many``.
        judge: the judge whose embeddings give the per-speaker scores (registry name; None: the default).
        tile: tile side in pixels.

    Returns:
        ``{"path", "size": (w, h), "speakers": [...], "result": the run's result (not written)}``.

    Raises:
        BenchError: k < 1, unknown speakers, or anything ``run_many`` raises.
    """
    from benchmark.engine.run import run_many
    from benchmark.data.datasets import load_dataset
    from benchmark.data.images import load_image

    if k < 1 or voices < 1 or real < 0:
        raise BenchError("bench sheet needs --k ≥ 1, --voices ≥ 1 and --real ≥ 0.")
    capture = Capture(keep_per_speaker=voices)
    result = run_many(model, [protocol], dataset, data_root=data_root, data_dir=data_dir, device=device, seed=seed,
                      batch_size=batch_size, model_args=model_args, use_cache=use_cache, progress=progress,
                      split=split, write=False, on_batch=capture.on_batch, before_scoring=capture.before_scoring,
                      **({"judge": judge} if judge else {}), judge_device=judge_device)[0]
    plan = capture.plans[protocol]
    eligible = sorted({p.split("/", 1)[0] for p in plan.probes})
    if speakers:
        unknown = [s for s in speakers if s not in eligible]
        if unknown:
            raise BenchError(f"speaker(s) {', '.join(unknown)} are not probes of protocol {protocol} on {dataset}; "
                             f"choose among {', '.join(eligible)}.")
        chosen = list(speakers)
    else:
        chosen = eligible[:k]
    per_speaker: dict[str, tuple[float, int]] = {}
    task = result["protocol"]["spec"].get("task")
    if task == MATCH_TASK:
        _, _, outcome = match_similarities(plan, capture.generated, capture.real)
        _check_outcome(outcome, result)
        speakers_col = np.asarray(plan.trials.speaker)
        for s in chosen:
            mine = outcome[speakers_col == s]
            per_speaker[s] = (float(mine.astype(np.float64).mean()), int(mine.size))
    manifest = load_dataset(dataset, data_root=data_root, data_dir_override=data_dir)
    usable = set(capture.real.ids)
    gallery = result["protocol"]["spec"].get("gallery_source", "vggface")
    rows = []
    for s in chosen:
        ident = manifest.identity(s)
        faces = [f for f in manifest.faces_of(s, gallery) if f.id in usable]
        if gallery == "voxceleb":  # vox1-s2f: first the crops of the clips whose voices are shown (the true faces)
            own = ["voxceleb/" + utt for utt, _ in capture.images.get(s, [])]
            faces = sorted(faces, key=lambda f: (own.index(f.id) if f.id in own else len(own), f.id))
        faces = faces[:real]
        if s in per_speaker:
            value, n = per_speaker[s]
            score = f"{protocol}: {value:.1%} of {n} trials won"
        else:
            score = f"{protocol}: no per-speaker score for task {task}"
        rows.append(SheetRow(identity=s, name=ident.name, gender={"m": "male", "f": "female"}.get(ident.gender, ident.gender),
                             generated=[img for _, img in capture.images.get(s, [])],
                             real=[load_image(f.path) for f in faces], score=score))
    overall = next(iter(result["scores"].items()), None)
    title = f"{result['generator']['name']} on {dataset} · {protocol} v{result['protocol']['version']} · seed {seed}"
    from benchmark.judges import DEFAULT_JUDGE

    if judge and judge != DEFAULT_JUDGE:
        title += f" · judge {judge}"
    if overall:
        from benchmark.reports.leaderboard import is_percent

        value = overall[1]["value"]
        title += f" · {overall[0]} {value:.1%} overall" if is_percent(overall[0]) else f" · {overall[0]} {value:.4g} overall"
    path = draw_sheet(rows, title, voices, real, out, gen_label=generated_label(result["generator"], voices),
                      real_label=f"real faces ({gallery})", tile=tile)
    return {"path": str(path), "size": sheet_size(len(rows), voices, real, tile), "speakers": chosen, "result": result}
