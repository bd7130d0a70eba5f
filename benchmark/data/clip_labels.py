"""Human labels per clip: ``clip_attributes.csv`` of the vox1-s2f dataset.

The file (``<dataset root>/clip_attributes.csv``, comma-separated, UTF-8, one row per clip) carries the labels the
Speech2Face authors attached to each VoxCeleb1 clip of their supplementary material (Oh et al., "Speech2Face:
Learning the Face Behind a Voice", CVPR 2019; speech2face/speech2face.github.io @ ceb7cfa9ef75, figures/voxceleb;
the 4-digit file prefix ``s2f_code`` encodes gender, native, age band and ethnicity). Columns read:

* ``utterance``: ``<VoxCeleb1 ID>/<YouTube ID>/<NNNNN>``, the utterance id of the clip;
* ``gender``: "m" / "f" (equal to vox1_meta.csv for every clip);
* ``native``: "native" / "non-native" English speaker;
* ``age_band``: "20-39", "40-59", ">=60", or empty (two identities whose code has no annotated example);
* ``ethnicity``: the source's words.

They are the only human age labels for these identities; the ``age`` protocol on vox1-s2f scores against them
(``benchmark.data.datasets.HUMAN_AGE_BANDS``, ``benchmark.tasks.age``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from benchmark.errors import DataError

FILE = "clip_attributes.csv"
AGE_BANDS = ("20-39", "40-59", ">=60")
"""The human age bands, in band-index order (0, 1, 2): ``benchmark.metrics.pairwise.age_band`` with edges (40, 59) on whole
years maps a predicted age to the same indices (under 40 → 0, 40–59 → 1, 60 and over → 2)."""


@dataclass(frozen=True)
class ClipLabel:
    """The human labels of one clip (module docstring). ``age_band`` is "" when not annotated."""

    utterance: str
    gender: str
    native: str
    age_band: str
    ethnicity: str

    @property
    def band_index(self) -> int | None:
        """Index of ``age_band`` in ``AGE_BANDS``, or None when not annotated."""
        return AGE_BANDS.index(self.age_band) if self.age_band else None


def read_clip_labels(root: str | Path) -> dict[str, ClipLabel]:
    """Read ``<root>/clip_attributes.csv`` into ``{utterance id: ClipLabel}``.

    Args:
        root: the dataset root (vox1-s2f).

    Returns:
        One entry per row.

    Raises:
        DataError: the file is missing, lacks a column, lists an utterance twice, or has an age band outside
            ``AGE_BANDS`` (the message names the file, the line and the fix).
    """
    path = Path(root) / FILE
    if not path.is_file():
        raise DataError(f"{path} not found: the age protocol on this dataset scores against its human age bands; "
                        "restore clip_attributes.csv from the vox1-s2f sample (see its README).")
    need = {"utterance", "gender", "native", "age_band", "ethnicity"}
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not need <= set(reader.fieldnames or ()):
            raise DataError(f"{path} must have the columns {sorted(need)}; it has {reader.fieldnames}. Restore the "
                            "file from the vox1-s2f sample.")
        out: dict[str, ClipLabel] = {}
        for row in reader:
            band = (row["age_band"] or "").strip()
            if band and band not in AGE_BANDS:
                raise DataError(f"{path}, line {reader.line_num}: age band {band!r} is not one of {AGE_BANDS} (or "
                                "empty); restore the file from the vox1-s2f sample.")
            utt = row["utterance"].strip()
            if utt in out:
                raise DataError(f"{path}, line {reader.line_num}: utterance {utt} is listed twice; keep one row.")
            out[utt] = ClipLabel(utterance=utt, gender=row["gender"].strip(), native=row["native"].strip(),
                                 age_band=band, ethnicity=row["ethnicity"].strip())
    return out
