"""Trials: built from a manifest by a seeded rule, frozen to a CSV file, identified by its sha256.

Rule for "match-1to2" (Wen et al. 2019, Table 3), version 1 (true face: ``TRUE_FACE_RULE`` below):
  * eligible speakers: identities of ``spec.probe_split`` with at least one utterance and one usable
    (readable, non-blank) face of ``spec.gallery_source``; for a stratified spec, also at least one other
    eligible identity of the same stratum. Others are listed in ``Trials.excluded`` with the reason.
  * for every utterance of every eligible speaker (sorted by utterance id), ``trials_per_probe`` trials:
    the true face uniform over the probe's ``true_face_pool``; the imposter uniform over the other
    eligible identities (of the speaker's stratum when stratified); the imposter face uniform over its faces.
  * randomness: ``numpy.random.default_rng(SeedSequence([seed, crc32(protocol name), version]))``, drawn in
    the order above. NumPy's PCG64 stream and ``Generator.integers`` are platform-stable, so the same seed
    gives byte-identical trials on any machine (recorded as ``Trials.sha256``).

True-face rule ``TRUE_FACE_RULE`` (every trial builder that shows or averages a speaker's true face goes through
``true_face_pool``): when the gallery is the VoxCeleb1 face crops (``gallery_source="voxceleb"``, e.g. vox1-s2f,
where each crop comes from the probe's own clip), a probe's true face is drawn from the speaker's usable faces of
*another video* than the probe's ("other-video") whenever the speaker has one; else from other clips of the
probe's own video ("same-video"); else it is the crop of the probe's own clip ("same-clip"). Trials count their
tiers (``tier_counts``) and results report them. With any other gallery source (VGGFace1 photos, never from a
probe's clip) the pool is all the speaker's usable faces ("other-source"), as before: trials there are unchanged.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmark.trials.columns import Column, as_column, csv_chunks, csv_sha256
from benchmark.data.manifest import Manifest
from benchmark.errors import ProtocolUnavailable
from protocols.spec import ProtocolSpec

TRIAL_RULE_VERSION = 1


class CsvTrialFile:
    """What every stored trial set shares: ``sha256`` and an atomic ``save`` of its ``to_csv()`` bytes."""

    def csv_chunks(self):  # pragma: no cover - each trial set defines its own file form
        raise NotImplementedError

    def to_csv(self) -> bytes:
        return b"".join(self.csv_chunks())

    @property
    def sha256(self) -> str:
        """sha256 (hex) of ``to_csv()``: the trials hash that results record (streamed over ``csv_chunks``)."""
        return csv_sha256(self.csv_chunks())

    def save(self, path: Path) -> Path:
        """Write ``to_csv()`` atomically to ``path`` and return it."""
        from benchmark.results.io import write_atomic

        write_atomic(Path(path), self.to_csv())
        return Path(path)


@dataclass
class Trials(CsvTrialFile):
    """A frozen trial set for 1:2 matching; each column a ``benchmark.trials.columns.Column`` of N strings (integer codes
    into an id table; lists of strings given to the constructor are converted).

    Attributes:
        probe: probe utterance ids.
        speaker: the probe's identity.
        true_face: face id of the speaker shown in the trial.
        imposter: the imposter identity.
        imposter_face: face id of the imposter shown in the trial.
        stratum: the speaker's gender ("m"/"f").
        excluded: identities left out, with reasons.
    """

    probe: Column
    speaker: Column
    true_face: Column
    imposter: Column
    imposter_face: Column
    stratum: Column
    excluded: list[dict] = field(default_factory=list)
    true_face_tiers: dict = field(default_factory=dict)

    COLUMNS = ("probe", "speaker", "true_face", "imposter", "imposter_face", "stratum")

    def __post_init__(self) -> None:
        for name in self.COLUMNS:
            setattr(self, name, as_column(getattr(self, name)))

    def __len__(self) -> int:
        return len(self.probe)

    def csv_chunks(self):
        """The file form in pieces (``benchmark.trials.columns.csv_chunks``): header + one line per trial."""
        return csv_chunks([], self.COLUMNS, [getattr(self, c) for c in self.COLUMNS])

    def to_csv(self) -> bytes:
        """The canonical file form: header + one line per trial, comma-separated, LF line ends, UTF-8."""
        return b"".join(self.csv_chunks())


def trial_rng(spec: ProtocolSpec, seed: int) -> np.random.Generator:
    """The trial generator of every protocol: ``default_rng(SeedSequence([seed, crc32(protocol name), version]))``.

    PCG64 and ``Generator.integers`` are platform-stable, so a seed gives byte-identical trials anywhere.
    """
    return np.random.default_rng(np.random.SeedSequence([int(seed), zlib.crc32(spec.name.encode()), spec.version]))


TRUE_FACE_RULE = "voxceleb-true-face-other-video-v1"
"""Version of the true-face rule of the module docstring (recorded in every result whose gallery is VoxCeleb1)."""
TRUE_FACE_TIERS = ("other-video", "same-video", "same-clip")


def face_video(face_id: str) -> str:
    """The video of a VoxCeleb1 face id ``voxceleb/<VoxCeleb1 ID>/<video>/<frame>`` ("" for other ids)."""
    parts = face_id.split("/")
    return parts[2] if len(parts) >= 4 and parts[0] == "voxceleb" else ""


def true_face_pool(spec: ProtocolSpec, utterance_id: str, faces: list[str]) -> tuple[list[str], str]:
    """The faces a probe's true face may be drawn from (``TRUE_FACE_RULE``, module docstring).

    Args:
        spec: the protocol (its ``gallery_source``).
        utterance_id: the probe, ``<VoxCeleb1 ID>/<video>/<NNNNN>``.
        faces: the speaker's usable gallery face ids (non-empty, sorted).

    Returns:
        ``(pool, tier)``: a non-empty sorted sub-list of ``faces`` and its tier — "other-video", "same-video" or
        "same-clip" for a VoxCeleb1 gallery, "other-source" for any other gallery (pool = ``faces``).
    """
    if spec.gallery_source != "voxceleb":
        return faces, "other-source"
    video = utterance_id.split("/")[1] if utterance_id.count("/") >= 2 else ""
    other = [f for f in faces if face_video(f) != video]
    if other:
        return other, "other-video"
    own = "voxceleb/" + utterance_id
    same = [f for f in faces if f != own]
    if same:
        return same, "same-video"
    return faces, "same-clip"


def trial_tiers(spec: ProtocolSpec, probes, true_faces) -> Column:
    """The true-face tier of each trial from its probe and its true face (``TRUE_FACE_RULE``).

    The tier follows from the pair alone: a true face of another video than the probe's is "other-video", the crop of
    the probe's own clip is "same-clip", any other face of the probe's video is "same-video" — the tier the rule's
    ``true_face_pool`` gave the trial. Any gallery other than VoxCeleb1's is "other-source".

    Args:
        spec: the protocol (its ``gallery_source``).
        probes: length-N probe utterance ids ``<VoxCeleb1 ID>/<video>/<NNNNN>`` (list or ``Column``).
        true_faces: length-N true face ids (list or ``Column``).

    Returns:
        A length-N ``Column`` of tier names.

    Raises:
        ValueError: ``probes`` and ``true_faces`` of different lengths.
    """
    probes, true_faces = as_column(probes), as_column(true_faces)
    if len(probes) != len(true_faces):
        raise ValueError(f"{len(probes)} probes for {len(true_faces)} true faces")
    tiers = list(TRUE_FACE_TIERS) + ["other-source"]
    if spec.gallery_source != "voxceleb":
        return Column(tiers, np.full(len(probes), len(tiers) - 1, dtype=np.int64))
    face_code = {f: i for i, f in enumerate(true_faces.table)}
    probe_video = np.asarray([p.split("/")[1] if p.count("/") >= 2 else "" for p in probes.table], dtype=object)
    own_crop = np.asarray([face_code.get("voxceleb/" + p, -1) for p in probes.table], dtype=np.int64)  # [P]
    face_vid = np.asarray([face_video(f) for f in true_faces.table], dtype=object)  # [F]
    other = face_vid[true_faces.codes] != probe_video[probes.codes]  # [N]
    same_clip = own_crop[probes.codes] == true_faces.codes  # [N]
    codes = np.where(other, 0, np.where(same_clip, 2, 1)).astype(np.int64)  # TRUE_FACE_TIERS order
    return Column(tiers, codes)


def tier_counts(tiers: list[str] | dict[str, int]) -> dict:
    """``{"rule": TRUE_FACE_RULE, "trials": {tier: count}, "headline": tier}`` for a VoxCeleb1 gallery's trial tiers
    (every tier listed, zeros included; the headline scores the "other-video" trials whenever there are any,
    ``benchmark.tasks.base.aggregate``), or ``{}`` when every tier is "other-source" (nothing to report).

    Args:
        tiers: the tier of each trial, or ``{tier: number of trials}``.
    """
    counts = tiers if isinstance(tiers, dict) else {t: sum(x == t for x in tiers) for t in set(tiers)}
    if not any(n for t, n in counts.items() if t != "other-source"):
        return {}
    headline = ("other-video" if counts.get("other-video") else
                "all tiers (no trial has a true face of another video)")
    return {"rule": TRUE_FACE_RULE, "trials": {t: int(counts.get(t, 0)) for t in TRUE_FACE_TIERS},
            "headline": headline}


def drop_single_face_identities(manifest: Manifest, source: str, who: str = "the oracle") -> Manifest:
    """A copy of ``manifest`` without the identities that have fewer than two ``source`` faces.

    Used for a generator that shows the face crop of the probe's own clip (the oracle on a VoxCeleb1 gallery,
    ``baselines.oracle``): for a speaker with a single face that crop would be the trial's own true face, so the
    speaker is left out of that generator's rows — listed in ``Manifest.excluded`` with the reason (the result's
    ``dataset.excluded_identities``), never silently.

    Returns:
        A new ``Manifest`` (same ``dataset_id`` and root; its sha256 differs when anything was dropped).
    """
    from dataclasses import replace

    count: dict[str, int] = {}
    for f in manifest.faces:
        if f.source == source:
            count[f.identity] = count.get(f.identity, 0) + 1
    drop = {i.id for i in manifest.identities if count.get(i.id, 0) < 2}
    if not drop:
        return manifest
    reason = (f"only {{n}} {source} face: {who} shows the crop of the probe's own clip, which would be the trial's "
              "true face (benchmark.trials.builders.drop_single_face_identities)")
    return replace(manifest,
                   identities=[i for i in manifest.identities if i.id not in drop],
                   utterances=[u for u in manifest.utterances if u.identity not in drop],
                   faces=[f for f in manifest.faces if f.identity not in drop],
                   excluded=list(manifest.excluded) + [{"identity": i, "reason": reason.format(n=count.get(i, 0))}
                                                       for i in sorted(drop)])


def usable_gallery(manifest: Manifest, split: str, spec: ProtocolSpec,
                   usable_faces: set[str]) -> tuple[dict[str, list[str]], list[dict]]:
    """Identities of ``split`` with ≥ 1 utterance and ≥ 1 usable ``spec.gallery_source`` face.

    Returns:
        ({identity: sorted usable gallery face ids}, excluded [{"identity", "reason"}]), identities sorted.
    """
    gallery: dict[str, list[str]] = {}
    excluded: list[dict] = []
    for ident in manifest.split(split):
        faces = [f.id for f in manifest.faces_of(ident.id, spec.gallery_source) if f.id in usable_faces]
        if not manifest.utterances_of(ident.id):
            excluded.append({"identity": ident.id, "reason": "no utterance"})
        elif not faces:
            excluded.append({"identity": ident.id, "reason": f"no usable {spec.gallery_source} face"})
        else:
            gallery[ident.id] = faces
    return gallery, excluded


def build_match_trials(manifest: Manifest, spec: ProtocolSpec, seed: int, usable_faces: set[str]) -> Trials:
    """Build the 1:2 matching trials of ``spec`` on ``manifest`` (rule in the module docstring).

    Args:
        manifest: the dataset.
        spec: a "match-1to2" protocol.
        seed: the trial seed.
        usable_faces: ids of faces that are readable and not blank.

    Returns:
        ``Trials`` with ``len(utterances of eligible speakers) * spec.trials_per_probe`` rows.

    Raises:
        ProtocolUnavailable: fewer than two eligible speakers (or none with a same-stratum imposter).
    """
    gallery, excluded = usable_gallery(manifest, spec.probe_split, spec, usable_faces)

    def stratum(identity_id: str) -> str:
        return manifest.identity(identity_id).gender

    pools: dict[str, list[str]] = {}
    for ident in gallery:
        key = stratum(ident) if spec.stratify_by == "gender" else "all"
        pools.setdefault(key, []).append(ident)
    speakers = []
    for ident in sorted(gallery):
        key = stratum(ident) if spec.stratify_by == "gender" else "all"
        if len(pools[key]) < 2:
            excluded.append({"identity": ident, "reason": f"no imposter of the same {spec.stratify_by or 'set'}"})
        else:
            speakers.append(ident)
    if len(speakers) < 2:
        raise ProtocolUnavailable(
            f"protocol {spec.name!r} needs at least two {spec.probe_split} identities with voices and usable "
            f"{spec.gallery_source} faces (per gender when stratified) in dataset {manifest.dataset_id!r}; "
            f"found {len(speakers)}. Excluded: {excluded}"
        )

    rng = trial_rng(spec, seed)
    k = spec.trials_per_probe
    ident_table = sorted(gallery)  # identity codes: speakers and imposters
    icode = {ident: c for c, ident in enumerate(ident_table)}
    face_table = [f for ident in ident_table for f in gallery[ident]]  # face codes: the galleries, concatenated
    sizes = np.asarray([len(gallery[ident]) for ident in ident_table], dtype=np.int64)  # [I]
    offset = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)  # [I] first face code of each identity
    fcode = {f: c for c, f in enumerate(face_table)} if spec.gallery_source == "voxceleb" else {}
    probe_table: list[str] = []
    probe_speaker: list[int] = []
    tiers: dict[str, int] = {}
    n_rows = sum(len(manifest.utterances_of(s)) for s in speakers) * k
    true_code = np.empty(n_rows, dtype=np.int64)
    imp_code = np.empty(n_rows, dtype=np.int64)
    imp_face = np.empty(n_rows, dtype=np.int64)
    row = 0
    for speaker in speakers:  # the draws of the rule, in its order; one vectorised call per draw group
        key = stratum(speaker) if spec.stratify_by == "gender" else "all"
        others = np.asarray([icode[i] for i in pools[key] if i != speaker], dtype=np.int64)  # [O]
        other_sizes = sizes[others]  # [O]
        start = row
        for utt in manifest.utterances_of(speaker):
            pool, tier = true_face_pool(spec, utt.id, gallery[speaker])
            tiers[tier] = tiers.get(tier, 0) + k
            true_idx = rng.integers(0, len(pool), size=k)  # [k]
            imp_idx = rng.integers(0, len(others), size=k)  # [k]
            # one draw per trial over the imposter's faces: Generator.integers with an array bound draws element by
            # element from the same stream, exactly as k scalar calls (tests/test_columnar.py checks it)
            imp_face[row:row + k] = rng.integers(0, other_sizes[imp_idx])
            if fcode:
                true_code[row:row + k] = np.asarray([fcode[f] for f in pool], dtype=np.int64)[true_idx]
            else:  # pool == the speaker's gallery
                true_code[row:row + k] = offset[icode[speaker]] + true_idx
            imp_code[row:row + k] = others[imp_idx]
            probe_table.append(utt.id)
            probe_speaker.append(icode[speaker])
            row += k
        imp_face[start:row] += offset[imp_code[start:row]]
    probe = Column(probe_table, np.repeat(np.arange(len(probe_table), dtype=np.int64), k))
    speaker_codes = np.repeat(np.asarray(probe_speaker, dtype=np.int64), k)
    genders = sorted({stratum(i) for i in ident_table})
    gender_code = np.asarray([genders.index(stratum(i)) for i in ident_table], dtype=np.int64)
    return Trials(probe=probe, speaker=Column(ident_table, speaker_codes), true_face=Column(face_table, true_code),
                  imposter=Column(ident_table, imp_code), imposter_face=Column(face_table, imp_face),
                  stratum=Column(genders, gender_code[speaker_codes]), excluded=excluded,
                  true_face_tiers=tier_counts(tiers))
