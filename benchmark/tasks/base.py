"""Data passed between the engine and the task modules."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from benchmark.metrics.aggregate import summarize
from benchmark.trials.columns import Column, as_column, factorize
from protocols.spec import ProtocolSpec


@dataclass
class FaceTable:
    """Judge embeddings of real faces.

    Attributes:
        ids: face ids, row order of ``vectors``.
        vectors: float32 ``[F, 128]``.
        aligned: bool ``[F]``.
        blank: ids of faces found blank and excluded.
        small: ids of faces smaller than ``benchmark.data.images.MIN_FACE_SIDE`` on a side, excluded.
    """

    ids: list[str]
    vectors: np.ndarray
    aligned: np.ndarray
    blank: list[str]
    small: list[str] = field(default_factory=list)

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
        failed: utterance ids whose generated face failed (blank): their rows of ``vectors`` and float
            ``extra`` arrays are NaN, and every task scores them as failures.
    """

    utterance_ids: list[str]
    vectors: np.ndarray
    aligned: np.ndarray
    image_size: tuple[int, int]
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)

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


HEADLINE_TIER = "other-video"
"""The true-face tier a VoxCeleb1-gallery headline is scored on whenever it has trials (issue 20 §5): a probe whose
true face comes from another video than the probe's (``benchmark.trials.builders.TRUE_FACE_RULE``) tests what the
voice says about the face, not whether the judge recognises the same clip's crop."""


def aggregate(values: dict[str, torch.Tensor], identities: list[str], strata: list[str] | None,
              spec: ProtocolSpec, seed: int, stratum_key: str = "gender",
              imposters: list[str] | list[list[str]] | None = None, tiers=None) -> tuple[dict, dict]:
    """Summarise per-trial values overall and per stratum (``benchmark.metrics.aggregate.summarize``), and per
    true-face tier when ``tiers`` are given.

    True-face tiers (``tiers``: the tier of each trial, ``benchmark.trials.builders.trial_tiers``): when the
    trials hold any VoxCeleb1-gallery tier, every tier present is also summarised apart as stratum
    ``true_face=<tier>`` and all trials together as ``true_face=all``; the headline ``scores`` and the
    ``stratum_key`` strata are those of the ``HEADLINE_TIER`` trials whenever there are any (else of all trials).
    Tier "other-source" (a gallery that never comes from a probe's clip) adds nothing: the result is as without
    ``tiers``.

    Args:
        values: metric name -> float ``[N]`` per-trial values (all of the same N trials).
        identities: length-N speaker identity of each trial (the bootstrap unit): a list of ids or a
            ``benchmark.trials.columns.Column`` (read from its codes, without per-trial Python).
        strata: length-N stratum label of each trial (list or ``Column``), or None for no breakdown.
        spec: gives the bootstrap count and the CI level.
        seed: bootstrap seed.
        stratum_key: prefix of the stratum names ("gender" -> "gender=f").
        imposters: None when a trial involves only its speaker (one-way identity bootstrap); else the other
            identities of each trial — a length-N list of ids (1:2) or of equal-length id lists (1:N), or a
            ``Column`` (1-D, or joined ``[N, M]``) — and the
            two-way pigeonhole bootstrap over speakers and imposters is used (``benchmark.metrics.aggregate``). Sliced
            with the trials for each stratum.
        tiers: None, or the length-N true-face tier of each trial (list or ``Column``).

    Returns:
        (scores, strata) as in ``TaskScores``; the ranked metric's overall summary (``spec.rank_by``, else the first)
        also carries its bootstrap replicates (``"replicates"``, for paired comparisons); every summary says which
        ``"bootstrap"`` it used and carries a
        ``"flag"`` when its interval cannot be trusted. NaN values (trials of failed generated faces in a
        continuous metric) are excluded and counted (``"failed_excluded"``; ``_summary``).

    Raises:
        ValueError: ``imposters`` or ``tiers`` of the wrong length, or ``imposters`` ragged.
    """
    n = len(next(iter(values.values()))) if values else 0
    by_tier = _tier_rows(tiers, n)
    if not by_tier:
        return _aggregate(values, identities, strata, spec, seed, stratum_key, imposters)

    def part(rows: np.ndarray, with_strata: bool) -> tuple[dict, dict]:
        if len(rows) == n:
            return _aggregate(values, identities, strata if with_strata else None, spec, seed, stratum_key, imposters)
        idx = torch.from_numpy(rows)
        return _aggregate({m: v[idx.to(v.device)] for m, v in values.items()}, as_column(identities)[rows],
                          as_column(strata)[rows] if with_strata and strata is not None else None, spec, seed,
                          stratum_key, _take(imposters, rows))

    head = by_tier.get(HEADLINE_TIER, np.arange(n))
    scores, by_stratum = part(head, True)
    for tier, rows in [("all", np.arange(n))] + sorted(by_tier.items()):
        tier_scores = scores if len(rows) == len(head) and np.array_equal(rows, head) else part(rows, False)[0]
        by_stratum[f"true_face={tier}"] = {m: {k: v for k, v in summary.items() if k != "replicates"}
                                           for m, summary in tier_scores.items()}
    return scores, by_stratum


def _tier_rows(tiers, n: int) -> dict[str, np.ndarray]:
    """``{tier: trial rows}`` of the VoxCeleb1-gallery tiers present, or ``{}`` (no tiers, or all "other-source").

    Raises:
        ValueError: ``tiers`` not of length ``n``.
    """
    if tiers is None:
        return {}
    if len(tiers) != n:
        raise ValueError(f"tiers has {len(tiers)} entries for {n} trials")
    names, inverse = factorize(tiers)
    if set(names.tolist()) <= {"other-source"}:
        return {}
    return {str(t): np.flatnonzero(inverse == j) for j, t in enumerate(names.tolist())}


def _aggregate(values: dict[str, torch.Tensor], identities, strata, spec: ProtocolSpec, seed: int,
               stratum_key: str, imposters) -> tuple[dict, dict]:
    """``aggregate`` without tiers (its arguments)."""
    kw = dict(n_boot=spec.bootstrap, level=spec.ci_level, seed=seed)
    identities = as_column(identities)
    ranked = spec.rank_by if spec.rank_by in values else next(iter(values), None)  # the leaderboard's ranked metric
    scores = {m: _summary(v, identities, imposters, {**kw, "keep_replicates": m == ranked}) for m, v in values.items()}
    by_stratum: dict = {}
    if strata is not None:
        names, inverse = factorize(strata)  # sorted stratum labels, [N] index
        for j, s in enumerate(names.tolist()):
            rows = np.flatnonzero(inverse == j)  # [N_s]
            idx = torch.from_numpy(rows)
            by_stratum[f"{stratum_key}={s}"] = {m: _summary(v[idx.to(v.device)], identities[rows],
                                                            _take(imposters, rows), kw)
                                                for m, v in values.items()}
    return scores, by_stratum


def _take(imposters, rows: np.ndarray):
    """``imposters`` (None, a ``Column`` or a list) at ``rows``."""
    if imposters is None:
        return None
    if isinstance(imposters, Column):
        return imposters[rows]
    return [imposters[i] for i in rows.tolist()]


def _summary(values: torch.Tensor, identities: list[str], imposters, kw: dict) -> dict:
    """``summarize`` of the defined values; NaN values are trials of failed faces (module rule, ``aggregate``).

    A decision metric scores a failed (blank or missing) generated face as wrong, so its values are never NaN; a
    continuous metric (a distance, a similarity, an age gap) has no value for it: such trials are excluded from
    the mean and counted in ``"failed_excluded"``, with a flag. If every trial failed, the value and the
    interval are NaN.
    """
    failed = values.isnan()  # [N]
    if not bool(failed.any()):
        return summarize(values, identities, imposters=imposters, **kw)
    n_failed = int(failed.sum())
    note = f"{n_failed} trial(s) excluded: their generated face failed (blank), the metric has no value for it"
    if n_failed == values.numel():
        return {"value": float("nan"), "ci95": [float("nan"), float("nan")], "n": 0, "n_identities": 0,
                "failed_excluded": n_failed, "flag": note}
    keep = (~failed).nonzero().flatten().cpu().numpy()
    out = summarize(values[~failed], as_column(identities)[keep], imposters=_take(imposters, keep), **kw)
    out["failed_excluded"] = n_failed
    out["flag"] = "; ".join(filter(None, [out.get("flag"), note]))
    return out
