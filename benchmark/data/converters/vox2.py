"""Converter for VoxCeleb2 (Chung, Nagrani, Zisserman, Interspeech 2018), whose audio ships as AAC in .m4a files.

Layout read (the official download's)::

    <src>/vox2_meta.csv                       comma-separated: VoxCeleb2 ID, VGGFace2 ID, Gender, Set (dev / test)
    <src>/aac/<VoxCeleb2 ID>/<video>/<n>.m4a  speech (decoded with PyAV when scored, ``benchmark.data.av_audio``)
    <src>/vggface2/<VGGFace2 ID>/*.jpg        VGGFace2 photos (kind "photo"), optional
    <src>/faces/<VoxCeleb2 ID>/<video>/*.jpg  face-track frames (kind "frame"), optional

Split rule: the metadata's ``Set`` column, VoxCeleb2's own speaker split: "dev" is train, "test" is test (no
validation split). Genders come from the metadata ("human").
"""

from __future__ import annotations

import os
from pathlib import Path

from benchmark.data.converters.common import assemble, audio_files, image_files, rel_id
from benchmark.data.manifest import Face, Identity, Utterance
from benchmark.data.manifest_io import write_manifest
from benchmark.errors import DataError

VOX2_RULE = "VoxCeleb2's Set column (Chung et al. 2018): dev -> train, test -> test"


def convert_vox2(src: str | os.PathLike[str], out: str | os.PathLike[str], name: str | None = None,
                 fmt: str = "csv") -> Path:
    """Write the manifest of a VoxCeleb2 folder (module docstring).

    Args:
        src: the dataset root.
        out: the manifest folder to write.
        name: the dataset name (default "vox2").
        fmt: "csv" or "parquet".

    Returns:
        The path of the written ``manifest.json``.

    Raises:
        DataError: no metadata, missing columns, a Set other than dev/test, or no identity with voice and face.
    """
    import pandas as pd

    root = Path(src).expanduser().resolve()
    meta_path = root / "vox2_meta.csv"
    if not meta_path.is_file():
        raise DataError(f"{meta_path} not found: copy VoxCeleb2's vox2_meta.csv into the dataset root.")
    meta = pd.read_csv(meta_path, sep=",", dtype=str, keep_default_na=False, skipinitialspace=True)
    meta.columns = [c.strip() for c in meta.columns]
    need = {"VoxCeleb2 ID", "VGGFace2 ID", "Gender", "Set"}
    if not need <= set(meta.columns):
        raise DataError(f"{meta_path} must have the columns {sorted(need)}; it has {list(meta.columns)}.")
    identities, utterances, faces, excluded = [], [], [], []
    for n, row in enumerate(meta.to_dict("records"), start=2):
        vid, photo_name = row["VoxCeleb2 ID"].strip(), row["VGGFace2 ID"].strip()
        split = {"dev": "train", "test": "test"}.get(row["Set"].strip())
        gender = row["Gender"].strip().lower()
        if split is None or gender not in ("m", "f"):
            raise DataError(f"{meta_path}, line {n}: Set {row['Set']!r} / Gender {row['Gender']!r} must be dev or "
                            "test / m or f (VoxCeleb2's metadata).")
        identities.append(Identity(id=vid, name=photo_name, gender=gender, nationality="", split=split))
        utterances += [Utterance(id=rel_id(p, root / "aac"), identity=vid, path=str(p), video=p.parent.name)
                       for p in audio_files(root / "aac" / vid)]
        faces += [Face(id="vggface2/" + rel_id(p, root / "vggface2"), identity=vid, path=str(p), source="vggface",
                       kind="photo") for p in image_files(root / "vggface2" / photo_name)]
        faces += [Face(id="frames/" + rel_id(p, root / "faces"), identity=vid, path=str(p), source="voxceleb",
                       video=p.parent.name, kind="frame") for p in image_files(root / "faces" / vid)]
    manifest = assemble(name or "vox2", root, identities, utterances, faces, excluded, VOX2_RULE)
    return write_manifest(manifest, out, VOX2_RULE, fmt)
