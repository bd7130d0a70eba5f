"""Datasets as manifests, and the loader for the official VoxCeleb1 + VGGFace layouts.

Layout read (the same for the full data, the vox1-mini sample and the generated toy world)::

    <root>/vox1_meta.csv                                  tab-separated: VoxCeleb1 ID, VGGFace1 ID, Gender,
                                                          Nationality, Set (VoxCeleb1's own metadata file)
    <root>/voxceleb1/wav/<VoxCeleb1 ID>/<video id>/<NNNNN>.wav        utterances
    <root>/vggface/<VGGFace1 ID>/<NNNNNNNN>.jpg|png                   VGGFace1 face crops  (source "vggface")
    <root>/voxceleb1/faces/<VoxCeleb1 ID>/<video id>/<frame>.jpg|png  VoxCeleb1 face-track frames
                                                                      (source "voxceleb"), optional

Split rule of Wen, Singh, Raj, "Reconstructing faces from voices" (NeurIPS 2019, §4 and Table 1: 924 / 112 /
189 train / validation / test identities): VGGFace1 names starting F–Z are training, A–B validation, C–E test —
the rule that reproduces Table 1's counts on the VoxCeleb1 ∩ VGGFace1 identities (A–E as one set gives about
301). The VoxCeleb1 ``Set`` column (dev/test, for speaker verification) is kept but not used for the split.

A *split expression* names one split or several joined by "+" ("validation+test"); "all" is
"train+validation+test". Protocols score "test" unless a run names another expression explicitly
(``bench run --split``), which the result records.

Identities with voices but no face, or faces but no voice, or not in the metadata, are *reported and
excluded* (``Manifest.excluded``), never silently dropped.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmark.errors import DataError

AUDIO_EXTS = (".wav", ".flac")
IMAGE_EXTS = (".jpg", ".jpeg", ".png")
VALIDATION_INITIALS = frozenset("AB")
TEST_INITIALS = frozenset("CDE")
SPLITS = ("train", "validation", "test")
"""The three splits of Wen et al. 2019 (Table 1), in this order everywhere (summaries, leaderboards)."""


@dataclass(frozen=True)
class Identity:
    """One person. ``split`` is "train", "validation" or "test" (by the dataset's split rule); ``gender`` is "m",
    "f" or "" (unlabelled).

    Every label carries its source (``benchmark.data.manifest_io``, "Labels and their source"): ``gender_source`` and
    ``age_source`` are "human", "model:<name>@<weights sha256>" or "" (no label). ``age`` is "" (unlabelled), whole
    years ("34") or a band ("20-39", ">=60").
    """

    id: str
    name: str
    gender: str
    nationality: str
    split: str
    gender_source: str = "human"
    age: str = ""
    age_source: str = ""


@dataclass(frozen=True)
class Utterance:
    """One speech recording. ``id`` is ``<VoxCeleb1 ID>/<video id>/<NNNNN>`` (the VoxCeleb1 convention)."""

    id: str
    identity: str
    path: str
    video: str


@dataclass(frozen=True)
class Face:
    """One face image. ``source`` is "vggface" (a separate photo: VGGFace1 crops) or "voxceleb" (a frame of a video:
    VoxCeleb1 face-track frames). ``kind`` says which as a manifest does ("photo", "frame" of another video or "clip",
    a crop of the utterance's own clip; ``benchmark.data.manifest_io.FACE_KINDS``); "" when the layout did not say."""

    id: str
    identity: str
    path: str
    source: str
    video: str = ""
    kind: str = ""


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
    split_rule: str = ""
    """How identities were split (recorded in results); "" for the registered layouts' documented rule."""
    origin: str = ""
    """Where the manifest came from: "" for a registered layout, "manifest" for a manifest file
    (``benchmark.data.manifest_io.read_manifest``)."""

    def identity(self, identity_id: str) -> Identity:
        """Return the identity with that VoxCeleb1 ID. Raises KeyError if absent."""
        return self._index().by_id[identity_id]

    def _index(self) -> ManifestIndex:
        """The lookup tables of this manifest, built once (O(identities + utterances + faces)) and rebuilt only if
        one of the lists was replaced or changed length since (the lists are not meant to change after loading)."""
        key = (id(self.identities), len(self.identities), id(self.utterances), len(self.utterances),
               id(self.faces), len(self.faces))
        cached = self.__dict__.get("_lookup")
        if cached is None or cached.key != key:
            cached = ManifestIndex.build(self, key)
            self.__dict__["_lookup"] = cached
        return cached

    def split(self, split: str) -> list[Identity]:
        """Identities of a split expression ("test", "validation+test", "all"; ``parse_split``), sorted by id.

        Raises:
            DataError: an unknown split name.
        """
        names = parse_split(split)
        return [i for i in self.identities if i.split in names]

    def utterances_of(self, identity_id: str) -> list[Utterance]:
        """The utterances of an identity, in manifest order (sorted by id); [] for an unknown id. O(answer)."""
        return list(self._index().utterances.get(identity_id, ()))

    def faces_of(self, identity_id: str, source: str | None = None) -> list[Face]:
        """The faces of an identity (of one ``source`` if given), in manifest order; [] if none. O(answer)."""
        index = self._index()
        if source is None:
            return list(index.faces.get(identity_id, ()))
        return list(index.faces_by_source.get((identity_id, source), ()))

    def sha256(self) -> str:
        """sha256 of the manifest's content (ids, paths relative to the root, splits) — not of the file bytes."""
        payload = {
            "identities": [identity_payload(i) for i in self.identities],
            "utterances": [(u.id, u.identity, u.video) for u in self.utterances],
            "faces": [(f.id, f.identity, f.source) for f in self.faces],
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    def summary(self) -> dict:
        """Counts per split, for printing and for the result file."""
        out = {}
        for split in SPLITS:
            ids = {i.id for i in self.split(split)}
            out[split] = {
                "identities": len(ids),
                "utterances": sum(u.identity in ids for u in self.utterances),
                "faces": sum(f.identity in ids for f in self.faces),
            }
        out["excluded"] = len(self.excluded)
        return out


LABEL_DEFAULTS = {"gender_source": "human", "age": "", "age_source": ""}
"""Identity fields added with the manifest format, and their defaults (the registered layouts' labels: genders from
VoxCeleb1's metadata, no ages)."""


def identity_payload(identity: Identity) -> dict:
    """The fields of an identity that ``Manifest.sha256`` hashes: id, name, gender, nationality, split, plus each label
    field of ``LABEL_DEFAULTS`` only where it differs from its default — so a manifest of a registered layout hashes as
    it did before labels had sources (stored results keep their ``manifest_sha256``), and a model label or an age
    changes the hash."""
    out = asdict(identity)
    for key, default in LABEL_DEFAULTS.items():
        if out.get(key) == default:
            out.pop(key)
    return out


@dataclass
class ManifestIndex:
    """Lookup tables of a ``Manifest`` (``Manifest._index``): identity by id, utterances and faces by identity (and
    by identity and source), each list in manifest order."""

    key: tuple
    by_id: dict[str, Identity]
    utterances: dict[str, list[Utterance]]
    faces: dict[str, list[Face]]
    faces_by_source: dict[tuple[str, str], list[Face]]

    @classmethod
    def build(cls, manifest: Manifest, key: tuple) -> ManifestIndex:
        utterances: dict[str, list[Utterance]] = {}
        for utt in manifest.utterances:
            utterances.setdefault(utt.identity, []).append(utt)
        faces: dict[str, list[Face]] = {}
        by_source: dict[tuple[str, str], list[Face]] = {}
        for face in manifest.faces:
            faces.setdefault(face.identity, []).append(face)
            by_source.setdefault((face.identity, face.source), []).append(face)
        return cls(key=key, by_id={i.id: i for i in manifest.identities}, utterances=utterances,
                   faces=faces, faces_by_source=by_source)


def wen_split(name: str) -> str:
    """The split of a VGGFace1 name by its first letter (case-insensitive): A–B "validation", C–E "test",
    anything else "train" (Wen et al. 2019, §4; the rule that gives Table 1's 924 / 112 / 189 identities)."""
    initial = name[:1].upper()
    if initial in VALIDATION_INITIALS:
        return "validation"
    return "test" if initial in TEST_INITIALS else "train"


def parse_split(expression: str) -> tuple[str, ...]:
    """The split names of a split expression: "test" -> ("test",); "validation+test" -> ("validation", "test");
    "all" -> ("train", "validation", "test"). Names come back in ``SPLITS`` order, without repeats.

    Raises:
        DataError: empty expression or an unknown name (the message lists the valid ones).
    """
    parts = {p.strip() for p in str(expression).split("+")}
    if parts == {"all"}:
        return SPLITS
    unknown = sorted(p for p in parts if p not in SPLITS)
    if unknown or not parts:
        raise DataError(f"unknown split {expression!r}: use one of {', '.join(SPLITS)}, several joined by '+' "
                        "(e.g. validation+test), or all.")
    return tuple(s for s in SPLITS if s in parts)


def split_name(expression: str) -> str:
    """The canonical form of a split expression ("test+validation" -> "validation+test"; "all" stays "all")."""
    names = parse_split(expression)
    return "all" if names == SPLITS else "+".join(names)


def read_meta(path: Path) -> dict[str, dict[str, str]]:
    """Read VoxCeleb1's ``vox1_meta.csv`` (tab-separated) into ``{VoxCeleb1 ID: row}``.

    Raises:
        DataError: the file is missing, is not UTF-8 (the message gives the line), lacks the columns
            VoxCeleb1 ID, VGGFace1 ID, Gender, or lists a VoxCeleb1 ID or a VGGFace1 name on more than one line
            (a name listed twice would silently give one identity's faces to another; every repeat is named
            with its line numbers).
    """
    if not path.is_file():
        raise DataError(f"metadata file {path} not found: copy VoxCeleb1's vox1_meta.csv into the dataset root.")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise DataError(f"metadata file {path} is not UTF-8: byte {raw[exc.start]:#04x} on line {line} "
                        f"({exc.reason}). Save it as UTF-8 (e.g. iconv -f latin1 -t utf-8), or restore VoxCeleb1's "
                        "original vox1_meta.csv.") from None
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter="\t")
    rows, lines = [], []
    for row in reader:
        rows.append({(k or "").strip(): (v or "").strip() for k, v in row.items()})
        lines.append(reader.line_num)
    need = {"VoxCeleb1 ID", "VGGFace1 ID", "Gender"}
    if not rows or not need <= set(rows[0]):
        raise DataError(
            f"metadata file {path} must be tab-separated with columns {sorted(need)} (VoxCeleb1's vox1_meta.csv)."
        )
    repeats = []
    for column in ("VoxCeleb1 ID", "VGGFace1 ID"):
        seen: dict[str, list[int]] = {}
        for row, line in zip(rows, lines):
            seen.setdefault(row[column], []).append(line)
        repeats += [f"{column} {value!r} on lines {', '.join(map(str, at))}" for value, at in seen.items()
                    if len(at) > 1]
    if repeats:
        raise DataError(f"metadata file {path} lists {len(repeats)} value(s) more than once (each must name one "
                        "identity):\n  " + "\n  ".join(repeats) + "\nKeep one line of each, as in VoxCeleb1's "
                        "original vox1_meta.csv.")
    return {r["VoxCeleb1 ID"]: r for r in rows}


def refuse_duplicate_ids(items: list, kind: str) -> None:
    """Raise one ``DataError`` naming every id that two or more files give (``00001.wav`` beside ``00001.flac``).

    Args:
        items: ``Utterance`` or ``Face`` records (``id`` and ``path``).
        kind: "utterance" or "face", for the message.

    Raises:
        DataError: some id comes from several files; every such id is listed with all its paths.
    """
    paths: dict[str, list[str]] = {}
    for item in items:
        paths.setdefault(item.id, []).append(item.path)
    twice = {i: p for i, p in paths.items() if len(p) > 1}
    if twice:
        lines = [f"{i}: " + " and ".join(sorted(p)) for i, p in sorted(twice.items())]
        raise DataError(f"{len(twice)} {kind} id(s) come from more than one file (the {kind} would count twice):"
                        "\n  " + "\n  ".join(lines) + "\nKeep one file of each (remove or move the others).")


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
        DataError: the root, its metadata file or its ``voxceleb1/wav`` folder is missing, a gender is
            neither m nor f, the metadata is malformed (``read_meta``), or one utterance or face id comes from
            two files (``refuse_duplicate_ids``).
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
                         path=str(path), source="vggface", kind="photo")
                )
    frame_root = root / "voxceleb1" / "faces"
    if frame_root.is_dir():
        for vox_dir in sorted(p for p in frame_root.iterdir() if p.is_dir()):
            for path in _files(vox_dir, IMAGE_EXTS):
                rel = path.relative_to(frame_root)
                video = rel.parts[1] if len(rel.parts) > 2 else ""
                faces.setdefault(vox_dir.name, []).append(
                    Face(id="voxceleb/" + str(rel.with_suffix("")).replace(os.sep, "/"), identity=vox_dir.name,
                         path=str(path), source="voxceleb", video=video, kind="frame")
                )

    refuse_duplicate_ids([u for v in utterances.values() for u in v], "utterance")
    refuse_duplicate_ids([f for v in faces.values() for f in v], "face")

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
