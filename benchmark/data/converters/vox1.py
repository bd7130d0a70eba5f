"""Converters for the VoxCeleb1 + VGGFace1 layout (``benchmark.data.manifest.load_vox1_layout``): ``vox1`` (the full
data or vox1-mini, VGGFace1 photos and optional face-track frames) and ``vox1-s2f`` (one face crop from each clip).

Split rule: Wen, Singh, Raj, "Reconstructing faces from voices" (NeurIPS 2019, §4, Table 1): VGGFace1 names starting
A-B are validation, C-E test, the rest train (``benchmark.data.manifest.wen_split``). The manifest holds exactly the
identities, utterances and faces the registered loader gives, so a run through it draws the same trials.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from benchmark.data.manifest import load_vox1_layout
from benchmark.data.manifest_io import write_manifest

WEN_RULE = ("Wen et al. 2019 (NeurIPS, §4, Table 1): VGGFace1 name initial A-B validation, C-E test, other train")


def convert_vox1(src: str | os.PathLike[str], out: str | os.PathLike[str], name: str | None = None,
                 fmt: str = "csv") -> Path:
    """Write the manifest of a VoxCeleb1 + VGGFace1 folder (module docstring).

    Args:
        src: the dataset root (``vox1_meta.csv``, ``voxceleb1/wav``, ``vggface/``, optional ``voxceleb1/faces``).
        out: the manifest folder to write (may be ``src`` itself).
        name: the dataset name recorded in results (default "vox1-vggface").
        fmt: table format, "csv" or "parquet".

    Returns:
        The path of the written ``manifest.json``.

    Raises:
        DataError: the layout is missing or malformed (``load_vox1_layout``).
    """
    manifest = load_vox1_layout(src, name or "vox1-vggface")
    return write_manifest(manifest, out, WEN_RULE, fmt)


def convert_vox1_s2f(src: str | os.PathLike[str], out: str | os.PathLike[str], name: str | None = None,
                     fmt: str = "csv") -> Path:
    """Write the manifest of the vox1-s2f sample: as ``convert_vox1``, each face marked a crop of its own clip
    ("clip"); genders from vox1_meta.csv ("human"). Its age protocol reads ``clip_attributes.csv`` from the root.

    Args:
        src: the vox1-s2f folder.
        out: the manifest folder to write.
        name: the dataset name (default "vox1-s2f": it keeps the registered dataset's gallery and age-band rules,
            ``benchmark.data.datasets.dataset_spec``).
        fmt: "csv" or "parquet".

    Returns:
        The path of the written ``manifest.json``.
    """
    manifest = load_vox1_layout(src, name or "vox1-s2f")
    manifest = replace(manifest, faces=[replace(f, kind="clip" if f.source == "voxceleb" else f.kind)
                                        for f in manifest.faces])
    return write_manifest(manifest, out, WEN_RULE, fmt)
