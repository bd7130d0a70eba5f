"""Converter for HQ-VoxCeleb faces with VoxCeleb1/2 voices, in the layout of SF2F (Bai et al., "Speech Fusion to
Face", ICME 2022; github.com/BAI-Yeqi/SF2F_PyTorch, GETTING_STARTED.md and datasets/vox_dataset.py).

Layout read (SF2F's ``data/VoxCeleb``; voices as audio instead of SF2F's pickled mel-spectrograms)::

    <src>/vox1/vox1_meta.csv                          tab-separated: VoxCeleb1 ID, VGGFace1 ID, Gender, ... (VoxCeleb1's)
    <src>/vox1/<face type>_faces/<VGGFace1 ID>/*.jpg  HQ-VoxCeleb face crops (face type "masked" or "origin")
    <src>/vox1/wav/<VoxCeleb1 ID>/<video>/<n>.wav     VoxCeleb1 speech
    <src>/vox2/full_vox2_meta.csv                     comma-separated: Name, VoxCeleb2 ID, Gender (optional), ...
    <src>/vox2/<face type>_faces/<Name>/*.jpg
    <src>/vox2/aac/<VoxCeleb2 ID>/<video>/<n>.m4a     VoxCeleb2 speech (decoded with PyAV)

Either sub-dataset may be absent. Split rule, SF2F's ``scripts/create_split_json.py``: within each metadata file,
the row at 0-based position i is test when i % 10 == 8, validation when i % 10 == 9, else train (by row order of
the file, all rows counted, whether or not the identity has faces). Genders come from the metadata ("human"); the
faces are frames of VoxCeleb videos (kind "frame", video unknown).
"""

from __future__ import annotations

import os
from pathlib import Path

from benchmark.data.converters.common import assemble, audio_files, image_files, rel_id
from benchmark.data.manifest import Face, Identity, Utterance
from benchmark.data.manifest_io import write_manifest
from benchmark.errors import DataError

SF2F_RULE = ("SF2F (Bai et al. ICME 2022, scripts/create_split_json.py): metadata row i (0-based, per sub-dataset) "
             "test if i % 10 == 8, validation if i % 10 == 9, else train")
SUBSETS = {"vox1": ("vox1_meta.csv", "\t", "VGGFace1 ID", "VoxCeleb1 ID", "wav"),
           "vox2": ("full_vox2_meta.csv", ",", "Name", "VoxCeleb2 ID", "aac")}


def sf2f_split(row: int) -> str:
    """SF2F's split of the metadata row at 0-based position ``row`` (module docstring)."""
    return "test" if row % 10 == 8 else "validation" if row % 10 == 9 else "train"


def convert_hq_voxceleb(src: str | os.PathLike[str], out: str | os.PathLike[str], name: str | None = None,
                        fmt: str = "csv", face_type: str = "masked") -> Path:
    """Write the manifest of an HQ-VoxCeleb tree (module docstring).

    Args:
        src: SF2F's ``data/VoxCeleb`` folder.
        out: the manifest folder to write.
        name: the dataset name (default "hq-voxceleb").
        fmt: "csv" or "parquet".
        face_type: "masked" or "origin" (SF2F's ``face_type``).

    Returns:
        The path of the written ``manifest.json``.

    Raises:
        DataError: no sub-dataset found, a metadata file without its columns, or no identity with voice and face.
    """
    import pandas as pd

    root = Path(src).expanduser().resolve()
    if face_type not in ("masked", "origin"):
        raise DataError(f"face type {face_type!r}: use masked or origin (HQ-VoxCeleb's two folders).")
    identities, utterances, faces, excluded = [], [], [], []
    found = False
    for subset, (meta_name, sep, name_col, id_col, audio_dir) in SUBSETS.items():
        meta_path = root / subset / meta_name
        if not meta_path.is_file():
            continue
        found = True
        meta = pd.read_csv(meta_path, sep=sep, dtype=str, keep_default_na=False)
        meta.columns = [c.strip() for c in meta.columns]
        if not {name_col, id_col} <= set(meta.columns):
            raise DataError(f"{meta_path} must have the columns {name_col!r} and {id_col!r}; it has "
                            f"{list(meta.columns)}.")
        for i, row in enumerate(meta.to_dict("records")):
            vid, face_name = row[id_col].strip(), row[name_col].strip()
            gender = row.get("Gender", "").strip().lower()
            identities.append(Identity(id=vid, name=face_name, gender=gender if gender in ("m", "f") else "",
                                       nationality=row.get("Nationality", "").strip(), split=sf2f_split(i),
                                       gender_source="human" if gender in ("m", "f") else ""))
            wav_dir = root / subset / audio_dir
            utterances += [Utterance(id=rel_id(p, wav_dir), identity=vid, path=str(p),
                                     video=p.parent.name if p.parent != wav_dir / vid else "")
                           for p in audio_files(wav_dir / vid)]
            face_dir = root / subset / f"{face_type}_faces"
            faces += [Face(id=f"{subset}/{rel_id(p, face_dir)}", identity=vid, path=str(p), source="voxceleb",
                           kind="frame") for p in image_files(face_dir / face_name)]
    if not found:
        raise DataError(f"{root} holds neither vox1/vox1_meta.csv nor vox2/full_vox2_meta.csv (SF2F's layout; "
                        "see benchmark.data.converters.hq_voxceleb).")
    manifest = assemble(name or "hq-voxceleb", root, identities, utterances, faces, excluded, SF2F_RULE)
    return write_manifest(manifest, out, SF2F_RULE, fmt)
