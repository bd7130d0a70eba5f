"""The contact sheet (``bench sheet``); the similarity-margin histograms (``bench run --plots``) are in
``benchmark.reports.margins``.

**Contact sheet**, as in Wen, Singh, Raj (NeurIPS 2019), Fig. 3: one row per speaker (K test speakers of the
protocol, sorted by id, or the ones named), showing the faces the generator made from the speaker's first V
probe utterances, then R real faces of the speaker (usable gallery-source faces, sorted by id; on a VoxCeleb1-crop
gallery such as vox1-s2f, the crops of the shown voices' own clips come first: voice → face → true face), with under each
row the identity, name, gender and the speaker's own score under the protocol (for 1:2 matching: the share of
the speaker's trials won, and the count). Pixels: Pillow; every tile is centre-cropped and resized to
``tile`` px for display only (scoring never sees the sheet); each tile has a 1 px dark frame. The image size is
``sheet_size(k, voices, real, tile)``, exactly.

It reads what the engine scored through ``run_many``'s ``before_scoring`` hook
(``benchmark.reports.margins.Capture``: the judge embeddings of the generated faces, of the real faces, and the
frozen trials): nothing is embedded twice, and the per-trial outcomes are recomputed with the task's own metric
(``benchmark.metrics.pairwise.match_1to2``), checked against the result's overall value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from benchmark.errors import BenchError
from benchmark.reports.margins import (MATCH_TASK, Capture, _check_outcome, margin_histogram, margin_plots,
                                       match_similarities, run_with_plots)

__all__ = ["BACKGROUND", "CAPTION", "FRAME", "GAP", "HEADER", "MATCH_TASK", "MIN_WIDTH", "PAD", "TEXT", "TILE",
           "Capture", "SheetRow", "contact_sheet", "draw_sheet", "generated_label", "margin_histogram", "margin_plots",
           "match_similarities", "run_with_plots", "sheet_size", "tile_boxes"]
"""The margin histograms and ``Capture`` live in ``benchmark.reports.margins``; their names are re-exported here,
where they were first defined (``bench run --plots`` imports ``run_with_plots`` from here)."""

TILE = 128
PAD = 8
GAP = 24
HEADER = 58
CAPTION = 36
MIN_WIDTH = 520
BACKGROUND = (255, 255, 255)
FRAME = (20, 20, 20)
TEXT = (30, 30, 30)


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
        # with true-face tiers the headline scores one tier (e.g. other-video), the per-speaker lines every trial
        tier = (result.get("trials", {}).get("true_face") or {}).get("headline")
        scope = f"(headline: {tier} trials)" if tier and tier != "all" else "overall"
        title += (f" · {overall[0]} {value:.1%} {scope}" if is_percent(overall[0])
                  else f" · {overall[0]} {value:.4g} {scope}")
    path = draw_sheet(rows, title, voices, real, out, gen_label=generated_label(result["generator"], voices),
                      real_label=f"real faces ({gallery})", tile=tile)
    return {"path": str(path), "size": sheet_size(len(rows), voices, real, tile), "speakers": chosen, "result": result}
