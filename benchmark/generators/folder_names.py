"""Names and paths of a submission folder's files: the flat layout's names (``__`` for ``/``) and how a result
records a folder inside the dataset's own directory. Used by ``benchmark.generators.folder``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

FLAT_SEP = "__"
"""In the flat layout, '/' of the utterance id is written as this."""


def flat_name(utterance_id: str) -> str:
    """The flat file stem of an utterance id: ``id10001/1zcIwhmdeo4/00001`` -> ``id10001__1zcIwhmdeo4__00001``."""
    return utterance_id.replace("/", FLAT_SEP)


def flat_index(utterance_ids: Sequence[str]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The flat stems of utterance ids, and those that are ambiguous.

    ``flat_name`` writes '/' as '__', and an id may itself hold '__' (a YouTube id such as ``1IH__QbYhIM``; any
    folder name a converter keeps), so two ids can share one flat stem (``a__b/c`` and ``a/b__c``). A stem that one id
    alone gives names it unambiguously, whatever '__' it holds; a stem two ids give names neither, and such an image is
    refused with the fix (the nested layout, whose path is the id).

    Args:
        utterance_ids: the utterance ids (e.g. every utterance of the dataset).

    Returns:
        ({flat stem: utterance id} for the stems one id gives, {flat stem: [the ids]} for the others).
    """
    given: dict[str, list[str]] = {}
    for utt in utterance_ids:
        given.setdefault(flat_name(utt), []).append(utt)
    unique = {stem: ids[0] for stem, ids in given.items() if len(ids) == 1}
    return unique, {stem: sorted(ids) for stem, ids in given.items() if len(ids) > 1}


DATASET_ROOT_PREFIX = "<dataset root>/"
"""How a result records a submission folder inside the dataset's own directory (e.g. the released Speech2Face
outputs in ``vox1-s2f/speech2face/v2f-exg0.0``): relative to the dataset root, so ``bench check`` finds it on any
machine that has the dataset, wherever its copy lives."""


def portable_faces_dir(faces_dir: Path, dataset_root: str | os.PathLike[str]) -> str:
    """``faces_dir`` as a result records it: ``<dataset root>/<relative path>`` when it lies inside the dataset
    root (both resolved, so links do not matter), else its absolute path."""
    root = Path(dataset_root).resolve()
    faces_dir = Path(faces_dir).resolve()
    if faces_dir.is_relative_to(root):
        return DATASET_ROOT_PREFIX + faces_dir.relative_to(root).as_posix()
    return str(faces_dir)


def resolve_faces_dir(faces_dir: str | os.PathLike[str], dataset_root: str | os.PathLike[str]) -> Path:
    """The folder a recorded ``faces_dir`` names (``portable_faces_dir``'s inverse on this machine)."""
    text = str(faces_dir)
    if text.startswith(DATASET_ROOT_PREFIX):
        return Path(dataset_root) / text[len(DATASET_ROOT_PREFIX):]
    return Path(text)
