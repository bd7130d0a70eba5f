"""Shared pieces of the task modules of the full protocol set: a generic frozen trial table, the seeded RNG,
eligibility of identities, and tensors of embeddings gathered on the device.

``TrialTable`` is to every new task what ``benchmark.trials.builders.Trials`` is to 1:2 matching: named string columns,
one row per trial, a canonical CSV form (optional ``# key: value`` context lines first — e.g. the reference
identities of an identification trial set — then a header and the rows), its sha256, ``save``, ``excluded``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from benchmark.trials.columns import Column, as_column, csv_chunks
from benchmark.data.manifest import Manifest
from benchmark.errors import ProtocolUnavailable
from benchmark.metrics.pairwise import l2_normalise
from benchmark.tasks.base import FaceTable, Generated
from benchmark.trials.builders import (CsvTrialFile, TRUE_FACE_RULE, tier_counts, trial_rng, trial_tiers,  # noqa: F401
                                       true_face_pool, usable_gallery)  # (re-exported for the task modules)
from protocols.spec import ProtocolSpec


@dataclass
class TrialTable(CsvTrialFile):
    """A frozen trial set: ``columns`` name -> ``benchmark.trials.columns.Column`` of N strings (integer codes into an id
    table; lists of strings given to the constructor are converted).

    Attributes:
        columns: ordered columns; none may contain a comma or a newline.
        context: ``key -> value`` lines written before the header (part of the hash).
        excluded: identities left out, with reasons.
        aux: task-private data derived from the trials (not part of the file or the hash).
    """

    columns: dict[str, Column]
    context: dict[str, str] = field(default_factory=dict)
    excluded: list[dict] = field(default_factory=list)
    aux: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.columns = {name: as_column(values) for name, values in self.columns.items()}

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def __getitem__(self, name: str) -> Column:
        return self.columns[name]

    def __getattr__(self, name: str) -> Column:
        """Columns read as attributes too (``trials.probe``, ``trials.speaker``), as on ``benchmark.trials.builders.Trials``."""
        columns = self.__dict__.get("columns")
        if columns is not None and name in columns:
            return columns[name]
        raise AttributeError(f"{type(self).__name__} has no attribute or column {name!r}")

    def csv_chunks(self):
        """The file form in pieces: ``# key: value`` context lines, then ``trial,<columns>`` and one line per trial;
        LF, UTF-8 (``benchmark.trials.columns.csv_chunks``)."""
        return csv_chunks([f"# {k}: {v}" for k, v in self.context.items()], list(self.columns),
                          list(self.columns.values()))


def sample_distinct(rng: np.random.Generator, n_items: int, count: int) -> list[int]:
    """``count`` distinct indices in [0, n_items), uniform: a partial Fisher–Yates shuffle drawing only
    ``Generator.integers`` (whose stream NumPy keeps stable), so trials do not depend on ``choice``/``permutation``
    internals. ``count == n_items`` gives a uniform permutation."""
    pool = list(range(n_items))
    for i in range(count):
        j = int(rng.integers(i, n_items))
        pool[i], pool[j] = pool[j], pool[i]
    return pool[:count]


def sample_distinct_rows(rng: np.random.Generator, counts: np.ndarray, n_items: np.ndarray,
                         width: int) -> tuple[np.ndarray, np.ndarray]:
    """``sample_distinct`` for many rows at once, from one ``Generator.integers`` call: row ``r`` draws
    ``integers(i, n_items[r])`` for ``i = 0 … counts[r] − 1`` (rows in order, each row's draws in order; an array
    bound draws element by element as scalar calls do) and applies the partial Fisher–Yates swaps.

    Args:
        rng: the trial generator.
        counts: int ``[T]``, distinct indices per row (``0 ≤ counts[r] ≤ min(width, n_items[r])``).
        n_items: int ``[T]``, each row's population size.
        width: columns of the output (``≥ counts.max()``).

    Returns:
        ``(picks, mask)``: int64 ``[T, width]`` indices in ``[0, n_items[r])`` (−1 in empty slots) and bool
        ``[T, width]``, True in the first ``counts[r]`` slots of each row.
    """
    counts = np.asarray(counts, dtype=np.int64)
    n_items = np.asarray(n_items, dtype=np.int64)
    t = int(counts.shape[0])
    if t and (int((counts - np.minimum(n_items, width)).max()) > 0 or int(counts.min()) < 0):
        raise ValueError("sample_distinct_rows: a row asks for more distinct items than it has (or than width)")
    mask = np.arange(width)[None, :] < counts[:, None]  # [T, width]
    starts = np.repeat(np.cumsum(counts) - counts, counts)  # [sum counts]
    slot = np.arange(int(counts.sum()), dtype=np.int64) - starts  # i of each draw
    draws = np.zeros((t, width), dtype=np.int64)
    draws[mask] = rng.integers(slot, np.repeat(n_items, counts))  # row-major: the rule's order
    picks = np.full((t, width), -1, dtype=np.int64)
    cols = max(int(n_items.max()) if t else 0, width)  # a row's draws stay below its n_items; ≥ width to slice
    block = max(1, (1 << 22) // cols)  # rows per block of the [block, cols] swap table (16 MiB of int32)
    for lo in range(0, t, block):
        hi = min(t, lo + block)
        pool = np.broadcast_to(np.arange(cols, dtype=np.int32), (hi - lo, cols)).copy()
        for i in range(width):
            rows = np.flatnonzero(counts[lo:hi] > i)
            if not rows.size:
                break
            j = draws[lo + rows, i]
            a = pool[rows, i]
            pool[rows, i] = pool[rows, j]
            pool[rows, j] = a
        picks[lo:hi] = np.where(mask[lo:hi], pool[:, :width], -1)
    return picks, mask


def require_probe_gallery(manifest: Manifest, spec: ProtocolSpec,
                          usable_faces: set[str]) -> tuple[dict[str, list[str]], list[dict]]:
    """``usable_gallery`` of ``spec.probe_split``, refusing an empty one.

    Raises:
        ProtocolUnavailable: no identity of the probe split has a voice and a usable gallery face.
    """
    gallery, excluded = usable_gallery(manifest, spec.probe_split, spec, usable_faces)
    if not gallery:
        raise ProtocolUnavailable(f"protocol {spec.name!r} needs a {spec.probe_split} identity with a voice and a usable "
                                  f"{spec.gallery_source} face in dataset {manifest.dataset_id!r}; found none.")
    return gallery, excluded


def utterance_columns(manifest: Manifest, spec: ProtocolSpec) -> dict[str, list[str]]:
    """One trial per utterance of ``spec.probe_split``: columns ``probe``, ``speaker``, ``stratum`` (gender).

    Raises:
        ProtocolUnavailable: the split has no utterance.
    """
    utts = [u for i in manifest.split(spec.probe_split) for u in manifest.utterances_of(i.id)]
    if not utts:
        raise ProtocolUnavailable(f"protocol {spec.name!r}: dataset {manifest.dataset_id!r} has no "
                                  f"{spec.probe_split} utterance.")
    return {"probe": [u.id for u in utts], "speaker": [u.identity for u in utts],
            "stratum": [gender_of(manifest, u.identity) for u in utts]}


def generated_attributes(trials: TrialTable, generated: Generated, device: torch.device) -> torch.Tensor:
    """float32 ``[N, 4]`` attribute predictions (``benchmark.judges.attributes.COLUMNS``) of each trial's generated face,
    from ``generated.extra["attributes"]`` (``[U, 4]``, filled by the engine's attribute analyser)."""
    attrs = torch.from_numpy(np.asarray(generated.extra["attributes"], dtype=np.float32)).to(device)  # [U, 4]
    g_index = generated.index()
    rows = torch.tensor([g_index[p] for p in trials["probe"]], dtype=torch.long, device=device)  # [N]
    return attrs[rows]


def gallery_faces(manifest: Manifest, split: str, spec: ProtocolSpec):
    """``spec.gallery_source`` faces of the identities of ``split`` (a task's ``faces_needed``)."""
    ids = {i.id for i in manifest.split(split)}
    return [f for f in manifest.faces if f.identity in ids and f.source == spec.gallery_source]


def gender_of(manifest: Manifest, identity_id: str) -> str:
    """The metadata gender ("m"/"f") of an identity."""
    return manifest.identity(identity_id).gender


def generated_rows(generated: Generated, utterance_ids: list[str], device: torch.device,
                   normalise: bool = False) -> torch.Tensor:
    """Judge embeddings of the faces generated for ``utterance_ids``: float32 ``[N, D]`` on ``device``."""
    index = generated.index()
    rows = torch.tensor([index[u] for u in utterance_ids], dtype=torch.long, device=device)  # [N]
    vectors = torch.from_numpy(generated.vectors).to(device)[rows]  # [N, D]
    return l2_normalise(vectors) if normalise else vectors


def identity_mean_rows(generated: Generated, probe_lists: list[list[str]], device: torch.device,
                       normalise: bool) -> torch.Tensor:
    """One generated embedding per trial: the mean of the judge embeddings of the faces generated for each
    trial's probe utterances (SF2F's ``average_facenet_embedding`` mode, ``ProtocolSpec.probe_unit``).

    Args:
        generated: the generated faces' embeddings.
        probe_lists: N lists of utterance ids (each non-empty).
        device: where the result lives.
        normalise: L2-normalise each embedding before averaging (the mean itself is not re-normalised).

    Returns:
        float32 ``[N, D]``; a row is NaN when any of its faces failed (NaN embedding).
    """
    flat = [u for probes in probe_lists for u in probes]
    owner = torch.tensor([i for i, probes in enumerate(probe_lists) for _ in probes], dtype=torch.long,
                         device=device)  # [M]
    rows = generated_rows(generated, flat, device, normalise)  # [M, D]
    sums = torch.zeros(len(probe_lists), rows.shape[1], dtype=rows.dtype, device=device).index_add_(0, owner, rows)
    counts = torch.bincount(owner, minlength=len(probe_lists)).to(rows.dtype)  # [N]
    return sums / counts.clamp_min(1.0).unsqueeze(1)  # [N, D]


def real_rows(real: FaceTable, face_ids: list[str], device: torch.device, normalise: bool = False) -> torch.Tensor:
    """Judge embeddings of real faces ``face_ids``: float32 ``[N, D]`` on ``device``."""
    index = real.index()
    rows = torch.tensor([index[f] for f in face_ids], dtype=torch.long, device=device)  # [N]
    vectors = torch.from_numpy(real.vectors).to(device)[rows]  # [N, D]
    return l2_normalise(vectors) if normalise else vectors


def centroid_table(real: FaceTable, gallery: dict[str, list[str]], identities: list[str], device: torch.device,
                   normalise_embeddings: bool, normalise_centroid: bool) -> torch.Tensor:
    """Identity centroids of the gallery faces, rows in ``identities`` order: float32 ``[K, D]`` on ``device``
    (``benchmark.metrics.pairwise.identity_centroids``)."""
    from benchmark.metrics.pairwise import identity_centroids

    face_ids = [f for ident in identities for f in gallery[ident]]
    owner = torch.tensor([k for k, ident in enumerate(identities) for _ in gallery[ident]], dtype=torch.long,
                         device=device)  # [F]
    vectors = real_rows(real, face_ids, device, normalise_embeddings)  # [F, D]
    return identity_centroids(vectors, owner, len(identities), normalise=normalise_centroid)  # [K, D]


def refuse_identity_mean_on_voxceleb(spec: ProtocolSpec) -> None:
    """Refuse ``probe_unit="identity-mean"`` on a VoxCeleb1-crop gallery (``TRUE_FACE_RULE``).

    An identity-mean trial pools the faces generated from *all* of a speaker's clips and compares them with the
    centroid of *all* the speaker's crops, which come from those very clips: no true face from another video can
    be chosen, so such protocols (``retrieval-sf2f``, ``feature-sf2f``) refuse a ``gallery_source="voxceleb"``.

    Raises:
        ProtocolUnavailable: ``spec`` has that probe unit and gallery source.
    """
    if spec.probe_unit == "identity-mean" and spec.gallery_source == "voxceleb":
        raise ProtocolUnavailable(
            f"protocol {spec.name!r} averages the faces generated from all of a speaker's clips against the centroid "
            "of all the speaker's VoxCeleb1 crops, which come from the same clips; the true-face rule "
            f"({TRUE_FACE_RULE}: another video of the speaker) cannot hold, so it does not run on a VoxCeleb1-crop "
            "gallery. Use the per-utterance variant (retrieval, feature).")


def pool_centroids(real: FaceTable, pools: list[list[str]], device: torch.device, normalise_embeddings: bool,
                   normalise_centroid: bool) -> torch.Tensor:
    """One centroid per trial, of that trial's own true-face pool (``true_face_pool``): float32 ``[T, D]``.

    The per-trial counterpart of ``centroid_table`` (same conventions, ``benchmark.metrics.pairwise.identity_centroids``),
    for VoxCeleb1 galleries where a speaker's centroid must leave out the probe's own video. Each distinct pool is
    averaged once.

    Args:
        real: the embedded real faces.
        pools: T non-empty lists of face ids.
        device: where the result lives.
        normalise_embeddings, normalise_centroid: as ``ProtocolSpec``.
    """
    from benchmark.metrics.pairwise import identity_centroids

    keys: dict[tuple[str, ...], int] = {}
    for pool in pools:
        keys.setdefault(tuple(pool), len(keys))
    uniq = list(keys)
    face_ids = [f for pool in uniq for f in pool]
    owner = torch.tensor([k for k, pool in enumerate(uniq) for _ in pool], dtype=torch.long, device=device)  # [F]
    vectors = real_rows(real, face_ids, device, normalise_embeddings)  # [F, D]
    table = identity_centroids(vectors, owner, len(uniq), normalise=normalise_centroid)  # [P, D]
    rows = torch.tensor([keys[tuple(p)] for p in pools], dtype=torch.long, device=device)  # [T]
    return table[rows]  # [T, D]
