"""The folder adapter: a "generator" that reads pre-made faces from a submission folder (``bench score``).

A submission is a folder of face images named by utterance id. ``FolderGenerator`` is a generator like any other
(``benchmark.generators.base``): built from a ``GeneratorContext``, whose ``utterance_ids`` are the probes the run
needs, it checks the folder up front and then returns the images' pixels as they are, so a submission is scored
exactly as ``bench run`` scores a generator that returned the same bytes (``benchmark.engine.submission.score``
runs the engine's phases with it).

Folder layout (one image per probe utterance; ``bench trials`` lists them)::

    DIR/<VoxCeleb1 ID>/<video id>/<NNNNN>.png      nested: the utterance id is the path (recommended)
    DIR/<VoxCeleb1 ID>__<video id>__<NNNNN>.png     flat: '/' written as '__', all files in DIR itself

Extensions ``.png``, ``.jpg``, ``.jpeg`` (any case). Images may have any size of at least 32×32 px, and sizes
may differ between images (then they are scored one at a time; nothing is resized here — the judge's own
preprocessing, ``benchmark.judges``, does what it does to every generator's faces). Modes are converted as
``benchmark.data.images.load_image`` documents: greyscale and palette images are expanded to RGB, RGBA / LA are
composited onto white, EXIF orientation is not applied. PNG is lossless; a JPEG is scored as it decodes.
Files and folders whose names start with '.' are ignored (``.DS_Store``, ``.ipynb_checkpoints``).

Checks (all found at once, before any face is generated or scored, in one ``SubmissionError``):
  * missing: a probe utterance with no image;
  * unreadable: a file that cannot be decoded, or is smaller than 32×32;
  * extra: any other file — a name that is not a probe of this run (including utterances of the dataset the
    protocol does not use), a second image for the same utterance, or a file that is not .png/.jpg/.jpeg.

With ``allow_missing`` (``bench score --allow-missing``) missing and unreadable images are *failures*: the
generator lists them in ``failed_utterances`` (the engine's failed-face hook, ``benchmark.generators.base``), the
engine scores every trial they take part in as wrong, and ``info_record`` gives the ``info.submission`` record
the result stores. Extra files are always an error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Sequence

import numpy as np

from benchmark.data.images import MIN_FACE_SIDE, load_image, to_chw_tensor
from benchmark.errors import BenchError, DataError, GeneratorOutputError
from benchmark.generators.base import GeneratorContext, GeneratorMeta
from benchmark.generators.folder_names import (DATASET_ROOT_PREFIX, FLAT_SEP, flat_index, flat_name,  # noqa: F401
                                               portable_faces_dir, resolve_faces_dir)

FACE_EXTS = (".png", ".jpg", ".jpeg")
"""Image file extensions read from a submission folder (compared case-insensitively)."""


MIN_SIDE = MIN_FACE_SIDE
"""Smallest image side accepted: ``benchmark.data.images.MIN_FACE_SIDE``, the one rule for every face."""

PLACEHOLDER_SIDE = 128
"""Side of the grey image handed to the engine for a failed face when image sizes vary (never scored)."""

FOLDER_SPEC = "benchmark.submission:FolderGenerator"
"""The model spec a submission's result records (``bench check`` re-scores the folder with it)."""

FAILURE_RULE = "nan-embedding"
"""The ``failure_rule`` ``bench score`` gives a ``FolderGenerator``: a failed face's judge embedding (and float
analyses) become NaN (``benchmark.engine.embed.mark_failed``), so every trial it takes part in scores as wrong."""

LIST_LIMIT = 25
"""At most this many entries of each kind are printed in the error (the count is always given)."""


class SubmissionError(BenchError):
    """A submission folder does not match the probes of the run (missing, unreadable or extra files)."""


def _as_bool(value: object) -> bool:
    if isinstance(value, str):
        if value.strip().lower() in ("1", "true", "yes", "y", "on"):
            return True
        if value.strip().lower() in ("0", "false", "no", "n", "off", ""):
            return False
        raise BenchError(f"{value!r} is not a yes/no value (use true or false).")
    return bool(value)


def _walk(faces_dir: Path) -> list[PurePosixPath]:
    """Relative POSIX paths of the files under ``faces_dir``, sorted, hidden files and folders skipped.

    Raises:
        BenchError: a file is not a regular file (a FIFO, socket or device: ``benchmark.safety.require_regular_file``).
    """
    from benchmark.safety import require_regular_file

    out = []
    for top, dirs, files in os.walk(faces_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        rel_top = Path(top).relative_to(faces_dir)
        out += [PurePosixPath(rel_top.as_posix()) / f for f in files if not f.startswith(".")]
    for rel in out:
        require_regular_file(Path(faces_dir) / rel, "submission file")
    return sorted(out)


@dataclass
class FolderScan:
    """What a submission folder holds for a run's probes.

    Attributes:
        faces_dir: the folder.
        found: probe utterance id -> its image file (readable, at least 32×32).
        missing: probe ids with no image.
        unreadable: (probe id, message) for image files that cannot be used.
        extra: (file, reason) for every other file.
        sizes: probe id -> (H, W) of its image.
    """

    faces_dir: Path
    found: dict[str, Path] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    extra: list[tuple[str, str]] = field(default_factory=list)
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def failed(self) -> list[str]:
        """Probe ids without a usable face (missing or unreadable), sorted."""
        return sorted(set(self.missing) | {u for u, _ in self.unreadable})

    def message(self, n_probes: int, allow_missing: bool, what: str) -> str | None:
        """The one error message for this scan, or None when the folder can be scored.

        Args:
            n_probes: how many probes the run needs.
            allow_missing: missing/unreadable faces are allowed (only extra files are errors).
            what: the run, for the first line (e.g. "protocol stratified on vox1-mini, seed 0").
        """
        kinds = [("extra", [f"{f}: {why}" for f, why in self.extra])]
        if not allow_missing:
            expected = [f"{u}  (expected {self.faces_dir / u}.png or .jpg, or {flat_name(u)}.png)"
                        for u in self.missing]
            kinds = [("missing", expected), ("unreadable", [f"{u}: {msg}" for u, msg in self.unreadable])] + kinds
        if not any(items for _, items in kinds):
            return None
        lines = [f"submission folder {self.faces_dir} does not match the {n_probes} probe utterances of {what}:"]
        for kind, items in kinds:
            if items:
                lines.append(f"  {kind} ({len(items)}):")
                lines += [f"    {item}" for item in items[:LIST_LIMIT]]
                if len(items) > LIST_LIMIT:
                    lines.append(f"    ... and {len(items) - LIST_LIMIT} more")
        unused = sum(why.startswith("an utterance of the dataset") for _, why in self.extra)
        if unused:
            lines.append(f"{unused} extra file(s) are faces of this dataset's utterances that this run does not probe "
                         "(outside the evaluated split, or not used by these protocols): to score them too, name the "
                         "split with --split (e.g. --split all, or validation+test) or add the protocols that use "
                         "them; do not delete them.")
        fix = "Remove extra files" if not unused else "Remove the other extra files" if len(self.extra) > unused else ""
        allow = "--allow-missing scores missing and unreadable faces as failed trials."
        fix = (fix + ("." if allow_missing else "; " + allow)) if fix else ("" if allow_missing else allow[:1].upper()
                                                                             + allow[1:])
        lines.append("Name each image DIR/<utterance id>.png (nested folders) or DIR/<id>__<video>__<n>.png (flat); "
                     "`bench trials` lists the utterances. " + fix)
        return "\n".join(lines)


def scan_folder(faces_dir: str | os.PathLike[str], utterance_ids: Sequence[str],
                dataset_utterances: Sequence[str] = (), decode: bool = True) -> FolderScan:
    """Match the files of a submission folder to the probe utterances (layout: module docstring).

    Args:
        faces_dir: the submission folder.
        utterance_ids: the probe utterance ids of the run.
        dataset_utterances: every utterance id of the dataset (only to say why an extra file is extra).
        decode: decode every image (``benchmark.data.images.load_image``) to find unreadable ones; if False only
            the names are matched.

    Returns:
        A ``FolderScan``.

    Raises:
        SubmissionError: ``faces_dir`` is not a folder.
    """
    root = Path(faces_dir)
    if not root.is_dir():
        raise SubmissionError(f"submission folder {root} does not exist or is not a folder.")
    probes = set(utterance_ids)
    known = set(dataset_utterances)
    flat, ambiguous = flat_index(sorted(known | probes))  # unique over the dataset, not only this run's probes
    scan = FolderScan(faces_dir=root)
    claimed: dict[str, list[str]] = {}
    for rel in _walk(root):
        if rel.suffix.lower() not in FACE_EXTS:
            scan.extra.append((str(rel), f"not a {'/'.join(FACE_EXTS)} file"))
            continue
        stem = str(rel.with_suffix(""))
        utt = stem if stem in probes else flat.get(stem) if "/" not in stem else None
        if "/" not in stem and stem in ambiguous and stem not in probes:
            scan.extra.append((str(rel), f"a flat name that {len(ambiguous[stem])} utterance ids share ("
                               + ", ".join(ambiguous[stem]) + "): name it by the nested layout, "
                               + " or ".join(f"{u}.png" for u in ambiguous[stem])))
            continue
        if utt is not None and utt not in probes:
            utt = None
        if utt is None:
            key = stem if "/" in stem else flat.get(stem, stem.replace(FLAT_SEP, "/"))
            why = ("an utterance of the dataset that this run's protocol(s) do not use" if key in known
                   else "names no probe utterance of this run")
            scan.extra.append((str(rel), why))
            continue
        claimed.setdefault(utt, []).append(str(rel))
    for utt in sorted(probes):
        files = claimed.get(utt, [])
        if not files:
            scan.missing.append(utt)
            continue
        for dup in files[1:]:
            scan.extra.append((dup, f"a second image for {utt} (also {files[0]})"))
        path = root / files[0]
        if decode:
            try:
                image = load_image(path)
            except DataError as exc:
                scan.unreadable.append((utt, f"{path} cannot be decoded as an image ({exc.__cause__ or exc})"))
                continue
            h, w = image.shape[:2]
            if min(h, w) < MIN_SIDE:
                scan.unreadable.append((utt, f"{path} is {w}×{h} px; the judge needs at least {MIN_SIDE}×{MIN_SIDE}."))
                continue
            scan.sizes[utt] = (h, w)
        scan.found[utt] = path
    scan.extra.sort()
    return scan


def header_sizes(faces_dir: str | os.PathLike[str]) -> set[tuple[int, int]]:
    """The distinct (H, W) of the image files in a folder, read from their headers only (unreadable ones skipped)."""
    from PIL import Image

    root = Path(faces_dir)
    sizes = set()
    if not root.is_dir():
        return sizes
    for rel in _walk(root):
        if rel.suffix.lower() in FACE_EXTS:
            try:
                with Image.open(root / rel) as img:
                    sizes.add((img.size[1], img.size[0]))
            except Exception:  # reported by scan_folder, with the file name
                continue
    return sizes


REFERENCE_ROLES = ("", "ceiling", "chance")
"""The values of ``GeneratorMeta.reference`` a submission may declare (leaderboards mark reference rows)."""


def check_reference(reference: str) -> str:
    """Return ``reference`` if it is one of ``REFERENCE_ROLES``.

    Raises:
        SubmissionError: any other value (the message lists the valid ones).
    """
    if reference not in REFERENCE_ROLES:
        raise SubmissionError(f"--reference {reference!r}: use ceiling or chance (or leave it out).")
    return reference


class FolderGenerator:
    """A "generator" that reads pre-made faces from a folder (module docstring for the layout and the checks).

    Args:
        ctx: the run's context; ``ctx.utterance_ids`` are the probes to find images for.
        faces_dir: the submission folder.
        name: the submission's name (leaderboard row, result file name).
        allow_missing: count missing/unreadable faces as failed trials instead of raising.
        citation, revision: recorded in the result's generator meta.
        trained_against_judge: the model behind the images was trained on the judge's embedding space.
        training_datasets: comma-separated dataset ids the model was trained on.
        reference: "" or a reference role shown on leaderboards: "ceiling" (e.g. Speech2Face's face2face: the
            decoder applied to the true face's feature — a ceiling for the method, not a voice-to-face result) or
            "chance" (``REFERENCE_ROLES``).
        failure_rule: set by ``bench score`` (``FAILURE_RULE``, "nan-embedding"); without it ``allow_missing`` is
            refused when a face is missing (only ``bench score`` checks, up front, that every task of the run can
            score a failed face).

    Attributes:
        meta: the submission's ``GeneratorMeta``.
        scan: the ``FolderScan`` of the folder.
        failed: probe ids without a usable face (sorted), also ``failed_utterances``.
        recorded_dir: the folder as results record it (``portable_faces_dir`` form, as given).

    Raises:
        SubmissionError: the folder is missing, or does not match the probes (one message listing every
            missing, unreadable and extra file), or faces are missing outside ``bench score``.
    """

    def __init__(self, ctx: GeneratorContext, faces_dir: str, name: str = "submission",
                 allow_missing: bool | str = False, citation: str = "", revision: str = "0",
                 trained_against_judge: bool | str = False, training_datasets: str | Sequence[str] = "",
                 failure_rule: str = "", holdout_rule: str = "", reference: str = ""):
        if not ctx.utterance_ids:
            raise SubmissionError("FolderGenerator needs the run's probe utterances (GeneratorContext.utterance_ids).")
        shown = str(faces_dir)  # as the result records it (``portable_faces_dir``)
        self.recorded_dir = shown
        faces_dir = str(resolve_faces_dir(faces_dir, ctx.manifest.root))
        self.allow_missing = _as_bool(allow_missing)
        self.scan = scan_folder(faces_dir, ctx.utterance_ids, [u.id for u in ctx.manifest.utterances])
        error = self.scan.message(len(ctx.utterance_ids), self.allow_missing,
                                  f"this run (dataset {ctx.manifest.dataset_id}, seed {ctx.seed})")
        if error:
            raise SubmissionError(error)
        self.failed = tuple(self.scan.failed)
        if self.failed and failure_rule != FAILURE_RULE:
            raise SubmissionError(f"{len(self.failed)} face(s) missing or unreadable in {faces_dir}: only "
                                  "`bench score --allow-missing` can score them (as failed trials).")
        sizes = set(self.scan.sizes.values())
        self.size = next(iter(sizes)) if len(sizes) == 1 else (PLACEHOLDER_SIDE, PLACEHOLDER_SIDE)
        if isinstance(training_datasets, str):
            training_datasets = [d for d in training_datasets.split(",") if d]
        notes = f"{len(self.scan.found)} images read from {shown} by bench score"
        if self.failed:
            notes += f"; {len(self.failed)} missing or unreadable, scored as failed trials"
        self.meta = GeneratorMeta(
            name=name, revision=str(revision),
            image_size=self.size[0] if len(sizes) == 1 and self.size[0] == self.size[1] else None,
            training_datasets=tuple(training_datasets), citation=citation or "submission scored with bench score",
            trained_against_judge=_as_bool(trained_against_judge), notes=notes, holdout_rule=holdout_rule,
            reference=check_reference(reference),
        )

    def generate(self, waveforms, lengths, utterance_ids: Sequence[str]):
        """Return the folder's images for ``utterance_ids`` as uint8 ``[B, 3, H, W]``, pixels unchanged.

        A failed face (``allow_missing``) is handed over as a mid-grey image of the common size; its embedding
        is listed in ``failed_utterances``, and the engine replaces its embedding by NaN before scoring
        (``benchmark.engine.embed.mark_failed``), so what it shows never counts.

        Raises:
            GeneratorOutputError: images of different sizes in one batch (score with batch size 1).
            DataError: an image became unreadable since the check.
        """
        failed = set(self.failed)
        images = []
        for utt in utterance_ids:
            if utt in failed:
                images.append(np.full((*self.size, 3), 128, dtype=np.uint8))
            else:
                images.append(load_image(self.scan.found[utt]))
        shapes = sorted({im.shape[:2] for im in images})
        if len(shapes) > 1:
            raise GeneratorOutputError(
                f"generator {self.meta.name!r}: images of different sizes {shapes} in one batch; use batch size 1 "
                "(bench score does so by itself when a folder's sizes differ).")
        return to_chw_tensor(images)

    @property
    def failed_utterances(self) -> tuple[str, ...]:
        """The engine's failed-face hook (``benchmark.generators.base``): probe ids without a usable face (missing
        or unreadable, sorted); their embeddings become NaN and their trials score as failures."""
        return self.failed

    def info_record(self, probes: Sequence[str]) -> dict[str, dict]:
        """The engine's record hook (``benchmark.generators.base``): ``{"submission": {...}}``, added to the
        ``info`` of the result of a protocol whose probe utterances are ``probes``.

        The record holds ``faces_dir`` (as given, ``portable_faces_dir`` form), ``images_used`` and
        ``failed_count`` (of this protocol's probes), the ``missing`` and ``unreadable`` probe ids, and the
        ``failure_rule`` in words ("" when nothing failed).
        """
        probes = set(probes)
        failed = [u for u in self.failed if u in probes]
        return {"submission": {
            "faces_dir": self.recorded_dir,
            "images_used": len(probes) - len(failed),
            "failed_count": len(failed),
            "missing": [u for u in self.scan.missing if u in probes],
            "unreadable": [u for u, _ in self.scan.unreadable if u in probes],
            "failure_rule": "every trial of a missing or unreadable face counts as wrong" if failed else "",
        }}
