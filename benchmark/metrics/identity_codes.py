"""Identity ids as integer codes for the bootstrap of ``benchmark.metrics.aggregate.summarize``.

Speakers and imposters are factorized once, at the level of a ``benchmark.trials.columns.Column``'s table where one
is given (no per-trial Python), and mapped onto the sorted union of the identities both roles use.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def imposter_array(imposters: Sequence, n: int) -> np.ndarray:
    """Per-trial imposter identities as a str array ``[N, M]`` (ValueError when lengths differ)."""
    if len(imposters) != n:
        raise ValueError(f"imposters has {len(imposters)} entries for {n} trials")
    if n and isinstance(imposters[0], str):
        return np.asarray(imposters, dtype=str).reshape(n, 1)
    widths = {len(row) for row in imposters}
    if len(widths) > 1 or widths == {0}:
        raise ValueError(f"every trial needs the same number (≥ 1) of imposters; found {sorted(widths)}")
    return np.asarray([list(row) for row in imposters], dtype=str).reshape(n, widths.pop() if widths else 1)


def factorized(values, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(names, rank, codes)`` with ``rank[codes]`` = ``np.unique(values, return_inverse=True)``'s inverse in the
    given shape: a ``benchmark.trials.columns.Column`` from its codes (``Column.factorize_table``), anything else through
    ``np.unique``. Keeping ``rank`` (table level, −1 for unused entries and empty slots) apart from ``codes`` (row
    level) lets the caller compose table-level maps and gather the rows once."""
    from benchmark.trials.columns import Column

    if isinstance(values, Column):
        names, rank = values.factorize_table()
        return names, rank, values.codes.reshape(shape)
    values = np.asarray(values if isinstance(values, np.ndarray) else list(values), dtype=str)
    names, inverse = np.unique(values.reshape(-1), return_inverse=True)
    return names, np.arange(len(names), dtype=np.int64), inverse.astype(np.int64).reshape(shape)


def imposter_codes(imposters, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-trial imposters as ``factorized``'s (sorted distinct names, rank, codes ``[N, M]``); a
    ``benchmark.trials.columns.Column`` (1-D, or joined ``[N, M]``) is read from its codes (ValueError as
    ``imposter_array``, and for a joined column whose rows have several widths)."""
    from benchmark.trials.columns import Column

    if isinstance(imposters, Column):
        if len(imposters) != n:
            raise ValueError(f"imposters has {len(imposters)} entries for {n} trials")
        names, rank, codes = factorized(imposters, (n, -1))
        if codes.size and (codes < 0).any():
            raise ValueError("every trial needs the same number (≥ 1) of imposters; found rows of several widths")
        return names, rank, codes
    imp = imposter_array(imposters, n)  # [N, M]
    return factorized(imp, imp.shape)


def to_union(names: np.ndarray, rank: np.ndarray, union: np.ndarray) -> np.ndarray:
    """Table-level map of ``factorized``'s ``rank`` onto positions in the sorted ``union`` ⊇ ``names``
    (−1 kept)."""
    if not len(names):
        return np.full(rank.shape, -1, dtype=np.int64)
    pos = np.searchsorted(union, names).astype(np.int64)  # [len(names)]
    return np.where(rank >= 0, pos[np.maximum(rank, 0)], -1)
