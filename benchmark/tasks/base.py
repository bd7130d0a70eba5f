"""Data passed between the engine and the task modules."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from benchmark.aggregate import summarize
from protocols.spec import ProtocolSpec


@dataclass
class FaceTable:
    """Judge embeddings of real faces.

    Attributes:
        ids: face ids, row order of ``vectors``.
        vectors: float32 ``[F, 128]``.
        aligned: bool ``[F]``.
        blank: ids of faces found blank and excluded.
    """

    ids: list[str]
    vectors: np.ndarray
    aligned: np.ndarray
    blank: list[str]

    def index(self) -> dict[str, int]:
        """``{face id: row}``."""
        return {f: i for i, f in enumerate(self.ids)}


@dataclass
class Generated:
    """What the judge (and other analysers) made of the generated faces.

    Attributes:
        utterance_ids: the probes, row order of every array.
        vectors: float32 ``[U, 128]`` judge embeddings.
        aligned: bool ``[U]``, True where the judge's detector found a face.
        image_size: (H, W) of the generated images.
        extra: other per-face analyses, name -> array ``[U, ...]`` (e.g. attributes).
    """

    utterance_ids: list[str]
    vectors: np.ndarray
    aligned: np.ndarray
    image_size: tuple[int, int]
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def index(self) -> dict[str, int]:
        """``{utterance id: row}``."""
        return {u: i for i, u in enumerate(self.utterance_ids)}


@dataclass
class Plan:
    """A task's frozen trials: ``trials`` has ``sha256``, ``__len__``, ``save(path)`` and ``excluded``."""

    trials: object
    probes: list[str]
    info: dict = field(default_factory=dict)


@dataclass
class TaskScores:
    """Scores of one protocol: ``scores`` {metric: summary}, ``strata`` {stratum: {metric: summary}}, and
    ``info`` (conventions and counts printed in the result)."""

    scores: dict
    strata: dict
    info: dict = field(default_factory=dict)


def aggregate(values: dict[str, torch.Tensor], identities: list[str], strata: list[str] | None,
              spec: ProtocolSpec, seed: int, stratum_key: str = "gender") -> tuple[dict, dict]:
    """Summarise per-trial values overall and per stratum (``benchmark.aggregate.summarize``).

    Args:
        values: metric name -> float ``[N]`` per-trial values (all of the same N trials).
        identities: length-N cluster identity of each trial (the bootstrap unit).
        strata: length-N stratum label of each trial, or None for no breakdown.
        spec: gives the bootstrap count and the CI level.
        seed: bootstrap seed.
        stratum_key: prefix of the stratum names ("gender" -> "gender=f").

    Returns:
        (scores, strata) as in ``TaskScores``.
    """
    kw = dict(n_boot=spec.bootstrap, level=spec.ci_level, seed=seed)
    scores = {m: summarize(v, identities, **kw) for m, v in values.items()}
    by_stratum: dict = {}
    if strata is not None:
        for s in sorted(set(strata)):
            rows = [i for i, x in enumerate(strata) if x == s]
            idx = torch.tensor(rows, dtype=torch.long)
            ids = [identities[i] for i in rows]
            by_stratum[f"{stratum_key}={s}"] = {m: summarize(v[idx.to(v.device)], ids, **kw) for m, v in values.items()}
    return scores, by_stratum
