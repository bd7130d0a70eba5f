"""What the converters share: listing files, a seeded hash split, and building a ``Manifest`` from rows."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from benchmark.data.manifest import IMAGE_EXTS, Face, Identity, Manifest, Utterance, refuse_duplicate_ids
from benchmark.data.manifest_io import MANIFEST_AUDIO_EXTS
from benchmark.errors import DataError


def files(folder: Path, exts: tuple[str, ...]) -> list[Path]:
    """Files under ``folder`` (recursive) whose suffix (lower case) is in ``exts``, sorted; [] if no folder."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in exts and p.is_file())


def audio_files(folder: Path) -> list[Path]:
    """Audio files a manifest may name (.wav, .flac, .m4a, .aac) under ``folder``."""
    return files(folder, MANIFEST_AUDIO_EXTS)


def image_files(folder: Path) -> list[Path]:
    """Face images (.jpg, .jpeg, .png) under ``folder``."""
    return files(folder, IMAGE_EXTS)


def hash_split(key: str, validation: float, test: float) -> str:
    """A split drawn from the sha256 of ``key``: ``u = int(sha256(key)[:8], 16) / 2**32`` in [0, 1); u < test is
    "test", u < test + validation "validation", else "train". The same key gets the same split on every machine,
    whatever else is in the folder (adding clips moves none).

    Raises:
        DataError: fractions outside [0, 1] or summing above 1.
    """
    if not (0 <= validation <= 1 and 0 <= test <= 1 and validation + test <= 1):
        raise DataError(f"split fractions validation={validation}, test={test} must be in [0, 1] and sum to <= 1.")
    u = int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:8], 16) / 2 ** 32
    return "test" if u < test else "validation" if u < test + validation else "train"


def rel_id(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` without its suffix, '/'-separated (an utterance or face id)."""
    return str(path.relative_to(base).with_suffix("")).replace(os.sep, "/")


def assemble(name: str, root: Path, identities: list[Identity], utterances: list[Utterance], faces: list[Face],
             excluded: list[dict], split_rule: str) -> Manifest:
    """A ``Manifest`` of the identities that have an utterance and a face (the others join ``excluded`` with the
    reason), lists sorted by id.

    Raises:
        DataError: an utterance or face id given by two files; no identity left.
    """
    refuse_duplicate_ids(utterances, "utterance")
    refuse_duplicate_ids(faces, "face")
    voiced, pictured = {u.identity for u in utterances}, {f.identity for f in faces}
    kept = []
    for ident in sorted(identities, key=lambda i: i.id):
        if ident.id not in voiced:
            excluded.append({"identity": ident.id, "reason": "no voice"})
        elif ident.id not in pictured:
            excluded.append({"identity": ident.id, "reason": "no face"})
        else:
            kept.append(ident)
    if not kept:
        raise DataError(f"no identity of {root} has both a voice and a face; check the layout (bench dataset convert "
                        "--help describes each).")
    ids = {i.id for i in kept}
    return Manifest(dataset_id=name, root=str(root), identities=kept,
                    utterances=sorted((u for u in utterances if u.identity in ids), key=lambda u: u.id),
                    faces=sorted((f for f in faces if f.identity in ids), key=lambda f: f.id),
                    excluded=excluded, split_rule=split_rule)
