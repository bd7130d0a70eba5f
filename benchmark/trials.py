"""Trials: built from a manifest by a seeded rule, frozen to a CSV file, identified by its sha256.

Rule for "match-1to2" (Wen et al. 2019, Table 3), version 1:
  * eligible speakers: identities of ``spec.probe_split`` with at least one utterance and one usable
    (readable, non-blank) face of ``spec.gallery_source``; for a stratified spec, also at least one other
    eligible identity of the same stratum. Others are listed in ``Trials.excluded`` with the reason.
  * for every utterance of every eligible speaker (sorted by utterance id), ``trials_per_probe`` trials:
    the true face uniform over the speaker's usable gallery faces; the imposter uniform over the other
    eligible identities (of the speaker's stratum when stratified); the imposter face uniform over its faces.
  * randomness: ``numpy.random.default_rng(SeedSequence([seed, crc32(protocol name), version]))``, drawn in
    the order above. NumPy's PCG64 stream and ``Generator.integers`` are platform-stable, so the same seed
    gives byte-identical trials on any machine (recorded as ``Trials.sha256``).
"""

from __future__ import annotations

import hashlib
import io
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmark.data import Manifest
from benchmark.errors import ProtocolUnavailable
from protocols.spec import ProtocolSpec

TRIAL_RULE_VERSION = 1


class CsvTrialFile:
    """What every stored trial set shares: ``sha256`` and an atomic ``save`` of its ``to_csv()`` bytes."""

    def to_csv(self) -> bytes:  # pragma: no cover - each trial set defines its own file form
        raise NotImplementedError

    @property
    def sha256(self) -> str:
        """sha256 (hex) of ``to_csv()``: the trials hash that results record."""
        return hashlib.sha256(self.to_csv()).hexdigest()

    def save(self, path: Path) -> Path:
        """Write ``to_csv()`` atomically to ``path`` and return it."""
        from benchmark.results import write_atomic

        write_atomic(Path(path), self.to_csv())
        return Path(path)


@dataclass
class Trials(CsvTrialFile):
    """A frozen trial set for 1:2 matching; each column a list of N strings.

    Attributes:
        probe: probe utterance ids.
        speaker: the probe's identity.
        true_face: face id of the speaker shown in the trial.
        imposter: the imposter identity.
        imposter_face: face id of the imposter shown in the trial.
        stratum: the speaker's gender ("m"/"f").
        excluded: identities left out, with reasons.
    """

    probe: list[str]
    speaker: list[str]
    true_face: list[str]
    imposter: list[str]
    imposter_face: list[str]
    stratum: list[str]
    excluded: list[dict] = field(default_factory=list)

    COLUMNS = ("probe", "speaker", "true_face", "imposter", "imposter_face", "stratum")

    def __len__(self) -> int:
        return len(self.probe)

    def to_csv(self) -> bytes:
        """The canonical file form: header + one line per trial, comma-separated, LF line ends, UTF-8."""
        buf = io.StringIO()
        buf.write("trial," + ",".join(self.COLUMNS) + "\n")
        for i, row in enumerate(zip(*(getattr(self, c) for c in self.COLUMNS))):
            buf.write(f"{i}," + ",".join(row) + "\n")
        return buf.getvalue().encode("utf-8")



def trial_rng(spec: ProtocolSpec, seed: int) -> np.random.Generator:
    """The trial generator of every protocol: ``default_rng(SeedSequence([seed, crc32(protocol name), version]))``.

    PCG64 and ``Generator.integers`` are platform-stable, so a seed gives byte-identical trials anywhere.
    """
    return np.random.default_rng(np.random.SeedSequence([int(seed), zlib.crc32(spec.name.encode()), spec.version]))


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
    cols: dict[str, list[str]] = {c: [] for c in Trials.COLUMNS}
    for speaker in speakers:
        key = stratum(speaker) if spec.stratify_by == "gender" else "all"
        others = [i for i in pools[key] if i != speaker]
        for utt in manifest.utterances_of(speaker):
            true_idx = rng.integers(0, len(gallery[speaker]), size=k)
            imp_idx = rng.integers(0, len(others), size=k)
            imp_ids = [others[j] for j in imp_idx]
            imp_face_idx = [int(rng.integers(0, len(gallery[i]))) for i in imp_ids]
            cols["probe"] += [utt.id] * k
            cols["speaker"] += [speaker] * k
            cols["true_face"] += [gallery[speaker][j] for j in true_idx]
            cols["imposter"] += imp_ids
            cols["imposter_face"] += [gallery[i][j] for i, j in zip(imp_ids, imp_face_idx)]
            cols["stratum"] += [stratum(speaker)] * k
    return Trials(**cols, excluded=excluded)
