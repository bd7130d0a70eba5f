"""Datasets as manifests, and the loader for the official VoxCeleb1 + VGGFace layouts.

Layout read (the same for the full data, the vox1-mini sample and the generated toy world)::

    <root>/vox1_meta.csv                                  tab-separated: VoxCeleb1 ID, VGGFace1 ID, Gender,
                                                          Nationality, Set (VoxCeleb1's own metadata file)
    <root>/voxceleb1/wav/<VoxCeleb1 ID>/<video id>/<NNNNN>.wav        utterances
    <root>/vggface/<VGGFace1 ID>/<NNNNNNNN>.jpg|png                   VGGFace1 face crops  (source "vggface")
    <root>/voxceleb1/faces/<VoxCeleb1 ID>/<video id>/<frame>.jpg|png  VoxCeleb1 face-track frames
                                                                      (source "voxceleb"), optional

Split rule of Wen, Singh, Raj, "Reconstructing faces from voices" (NeurIPS 2019, §4): identities whose
VGGFace1 name starts with A–E are validation/test, F–Z are training. The VoxCeleb1 ``Set`` column
(dev/test, for speaker verification) is kept but not used for the split.

Identities with voices but no face, or faces but no voice, or not in the metadata, are *reported and
excluded* (``Manifest.excluded``), never silently dropped.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmark.errors import DataError

AUDIO_EXTS = (".wav", ".flac")
IMAGE_EXTS = (".jpg", ".jpeg", ".png")
TEST_INITIALS = frozenset("ABCDE")


@dataclass(frozen=True)
class Identity:
    """One person. ``split`` is "test" or "train" by the Wen et al. rule; ``gender`` is "m" or "f"."""

    id: str
    name: str
    gender: str
    nationality: str
    split: str


@dataclass(frozen=True)
class Utterance:
    """One speech recording. ``id`` is ``<VoxCeleb1 ID>/<video id>/<NNNNN>`` (the VoxCeleb1 convention)."""

    id: str
    identity: str
    path: str
    video: str


@dataclass(frozen=True)
class Face:
    """One face image. ``source`` is "vggface" (VGGFace1 crops) or "voxceleb" (VoxCeleb1 face-track frames)."""

    id: str
    identity: str
    path: str
    source: str
    video: str = ""


@dataclass
class Manifest:
    """A dataset's identities, utterances and faces, plus what was excluded and why.

    Lists are sorted by id, so everything derived from a manifest (trials, hashes) is order-stable.
    """

    dataset_id: str
    root: str
    identities: list[Identity]
    utterances: list[Utterance]
    faces: list[Face]
    excluded: list[dict] = field(default_factory=list)

    def identity(self, identity_id: str) -> Identity:
        """Return the identity with that VoxCeleb1 ID. Raises KeyError if absent."""
        return self._by_id()[identity_id]

    def _by_id(self) -> dict[str, Identity]:
        cached = self.__dict__.get("_id_index")
        if cached is None:
            cached = {i.id: i for i in self.identities}
            self.__dict__["_id_index"] = cached
        return cached

    def split(self, split: str) -> list[Identity]:
        """Identities of one split ("test" or "train"), sorted by id."""
        return [i for i in self.identities if i.split == split]

    def utterances_of(self, identity_id: str) -> list[Utterance]:
        return [u for u in self.utterances if u.identity == identity_id]

    def faces_of(self, identity_id: str, source: str | None = None) -> list[Face]:
        return [f for f in self.faces if f.identity == identity_id and (source is None or f.source == source)]

    def sha256(self) -> str:
        """sha256 of the manifest's content (ids, paths relative to the root, splits) — not of the file bytes."""
        payload = {
            "identities": [asdict(i) for i in self.identities],
            "utterances": [(u.id, u.identity, u.video) for u in self.utterances],
            "faces": [(f.id, f.identity, f.source) for f in self.faces],
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    def summary(self) -> dict:
        """Counts per split, for printing and for the result file."""
        out = {}
        for split in ("train", "test"):
            ids = {i.id for i in self.split(split)}
            out[split] = {
                "identities": len(ids),
                "utterances": sum(u.identity in ids for u in self.utterances),
                "faces": sum(f.identity in ids for f in self.faces),
            }
        out["excluded"] = len(self.excluded)
        return out


def wen_split(name: str) -> str:
    """Return "test" if a VGGFace1 name starts with A–E (case-insensitive), else "train" (Wen et al. 2019, §4)."""
    return "test" if name[:1].upper() in TEST_INITIALS else "train"


def read_meta(path: Path) -> dict[str, dict[str, str]]:
    """Read VoxCeleb1's ``vox1_meta.csv`` (tab-separated) into ``{VoxCeleb1 ID: row}``.

    Raises:
        DataError: the file is missing or lacks the columns VoxCeleb1 ID, VGGFace1 ID, Gender.
    """
    if not path.is_file():
        raise DataError(f"metadata file {path} not found: copy VoxCeleb1's vox1_meta.csv into the dataset root.")
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        rows = [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in reader]
    need = {"VoxCeleb1 ID", "VGGFace1 ID", "Gender"}
    if not rows or not need <= set(rows[0]):
        raise DataError(
            f"metadata file {path} must be tab-separated with columns {sorted(need)} (VoxCeleb1's vox1_meta.csv)."
        )
    return {r["VoxCeleb1 ID"]: r for r in rows}


def _files(folder: Path, exts: tuple[str, ...]) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in exts and p.is_file())


def load_vox1_layout(root: str | os.PathLike[str], dataset_id: str) -> Manifest:
    """Build a manifest from a directory in the official VoxCeleb1 + VGGFace layout (module docstring).

    Args:
        root: the dataset root.
        dataset_id: the registered name, recorded in results ("vox1-vggface", "vox1-mini", "toy").

    Returns:
        A ``Manifest`` holding only identities with at least one utterance and one face; the others are
        listed in ``Manifest.excluded`` with the reason.

    Raises:
        DataError: the root, its metadata file or its ``voxceleb1/wav`` folder is missing, or a gender is
            neither m nor f.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"dataset root {root} does not exist.")
    meta = read_meta(root / "vox1_meta.csv")
    wav_root = root / "voxceleb1" / "wav"
    if not wav_root.is_dir():
        raise DataError(f"{wav_root} not found: the dataset root must hold voxceleb1/wav/<id>/<video>/<n>.wav.")

    utterances: dict[str, list[Utterance]] = {}
    for vox_dir in sorted(p for p in wav_root.iterdir() if p.is_dir()):
        for path in _files(vox_dir, AUDIO_EXTS):
            rel = path.relative_to(wav_root)
            utt_id = str(rel.with_suffix("")).replace(os.sep, "/")
            video = rel.parts[1] if len(rel.parts) > 2 else ""
            utterances.setdefault(vox_dir.name, []).append(
                Utterance(id=utt_id, identity=vox_dir.name, path=str(path), video=video)
            )

    name_to_id = {row["VGGFace1 ID"]: vid for vid, row in meta.items()}
    faces: dict[str, list[Face]] = {}
    excluded: list[dict] = []
    vgg_root = root / "vggface"
    if vgg_root.is_dir():
        for name_dir in sorted(p for p in vgg_root.iterdir() if p.is_dir()):
            vid = name_to_id.get(name_dir.name)
            if vid is None:
                excluded.append({"identity": name_dir.name, "reason": "VGGFace folder not in vox1_meta.csv"})
                continue
            for path in _files(name_dir, IMAGE_EXTS):
                rel = path.relative_to(vgg_root)
                faces.setdefault(vid, []).append(
                    Face(id="vggface/" + str(rel.with_suffix("")).replace(os.sep, "/"), identity=vid,
                         path=str(path), source="vggface")
                )
    frame_root = root / "voxceleb1" / "faces"
    if frame_root.is_dir():
        for vox_dir in sorted(p for p in frame_root.iterdir() if p.is_dir()):
            for path in _files(vox_dir, IMAGE_EXTS):
                rel = path.relative_to(frame_root)
                video = rel.parts[1] if len(rel.parts) > 2 else ""
                faces.setdefault(vox_dir.name, []).append(
                    Face(id="voxceleb/" + str(rel.with_suffix("")).replace(os.sep, "/"), identity=vox_dir.name,
                         path=str(path), source="voxceleb", video=video)
                )

    identities: list[Identity] = []
    for vid in sorted(set(utterances) | set(faces)):
        row = meta.get(vid)
        if row is None:
            excluded.append({"identity": vid, "reason": "not in vox1_meta.csv"})
            continue
        if vid not in utterances:
            excluded.append({"identity": vid, "reason": "faces but no voice"})
            continue
        if vid not in faces:
            excluded.append({"identity": vid, "reason": "voice but no face"})
            continue
        gender = row["Gender"].lower()
        if gender not in ("m", "f"):
            raise DataError(f"{root / 'vox1_meta.csv'}: identity {vid} has gender {row['Gender']!r}; use m or f.")
        name = row["VGGFace1 ID"]
        identities.append(Identity(id=vid, name=name, gender=gender,
                                   nationality=row.get("Nationality", ""), split=wen_split(name)))
    kept = {i.id for i in identities}
    return Manifest(
        dataset_id=dataset_id,
        root=str(root),
        identities=identities,
        utterances=sorted((u for v in utterances.values() for u in v if u.identity in kept), key=lambda u: u.id),
        faces=sorted((f for v in faces.values() for f in v if f.identity in kept), key=lambda f: f.id),
        excluded=excluded,
    )
