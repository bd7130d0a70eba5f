"""Converter for Speech2Face / AVSpeech-style clip folders: one identity per clip.

Layout read::

    <src>/<clip id>/<any name>.wav|.flac|.m4a    the clip's speech (one or more files)
    <src>/<clip id>/<any name>.jpg|.jpeg|.png    face crop(s) from the same clip (kind "clip")

AVSpeech (Ephrat et al., SIGGRAPH 2018) gives no identity labels, so Speech2Face (Oh et al., CVPR 2019, §4) and
AR-SPM treat each clip as its own speaker; so does this converter (identity = clip id, video = clip id). Genders and
ages are left unlabelled ("bench label" predicts them, marked as model labels). Split rule: a seeded hash of the clip
id (``benchmark.data.converters.common.hash_split``), by default 60 % train, 20 % validation, 20 % test, so the chance
references have a training pool and nothing depends on folder order.
"""

from __future__ import annotations

import os
from pathlib import Path

from benchmark.data.converters.common import assemble, audio_files, hash_split, image_files, rel_id
from benchmark.data.manifest import Face, Identity, Utterance
from benchmark.data.manifest_io import write_manifest
from benchmark.errors import DataError


def convert_clips(src: str | os.PathLike[str], out: str | os.PathLike[str], name: str | None = None,
                  fmt: str = "csv", validation: float = 0.2, test: float = 0.2) -> Path:
    """Write the manifest of a clip folder (module docstring).

    Args:
        src: the folder holding one sub-folder per clip.
        out: the manifest folder to write.
        name: the dataset name (default: ``src``'s folder name, lower case).
        fmt: "csv" or "parquet".
        validation: fraction of clips in the validation split, in [0, 1].
        test: fraction of clips in the test split, in [0, 1].

    Returns:
        The path of the written ``manifest.json``.

    Raises:
        DataError: ``src`` is not a folder, or no clip has both speech and a face.
    """
    root = Path(src).expanduser().resolve()
    if not root.is_dir():
        raise DataError(f"clip folder {root} does not exist.")
    identities, utterances, faces, excluded = [], [], [], []
    for clip in sorted(p for p in root.iterdir() if p.is_dir()):
        identities.append(Identity(id=clip.name, name=clip.name, gender="", nationality="",
                                   split=hash_split(clip.name, validation, test), gender_source=""))
        utterances += [Utterance(id=rel_id(p, root), identity=clip.name, path=str(p), video=clip.name)
                       for p in audio_files(clip)]
        faces += [Face(id=rel_id(p, root), identity=clip.name, path=str(p), source="voxceleb", video=clip.name,
                       kind="clip") for p in image_files(clip)]
    rule = (f"one identity per clip (Speech2Face, Oh et al. CVPR 2019); split by sha256 of the clip id: "
            f"test {test:g}, validation {validation:g}, train the rest")
    manifest = assemble((name or root.name).lower(), root, identities, utterances, faces, excluded, rule)
    return write_manifest(manifest, out, rule, fmt)
