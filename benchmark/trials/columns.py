"""Trial columns as integer codes into id tables, and the canonical CSV form written from them without per-row Python.

A ``Column`` is what a trial set holds for each of its fields: ``codes`` (numpy int ``[N]``) into ``table`` (the
strings: utterance, face or identity ids, genders, numbers written as text). It reads as a sequence of N strings
(``column[i]``, iteration, ``list(column)``), so code that treats a column as a list of strings keeps working,
while builders and scorers use ``codes`` directly. A *joined* column has ``codes`` ``[N, M]`` and reads, per row,
as the ``sep``-joined strings of its codes ≥ 0 (a code of −1 is an empty slot: rows of different widths).

``csv_chunks`` writes the canonical trial file form (``trial,<names>`` header, then ``<row number>,<values>`` per
row, LF line ends, UTF-8) — byte for byte what joining the strings row by row gives — from the codes: each column's
table is laid out once as a zero-padded byte matrix, the rows are gathered into a ``[rows, width]`` byte block and
the padding is dropped by a boolean mask, block by block (memory bounded by ``CSV_BLOCK_ROWS``). The trial sha256
that results record is the sha256 of these bytes, so a change of representation cannot change it.
"""

from __future__ import annotations

import hashlib
import os
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

CSV_THREADS = min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
"""Threads that make ``csv_chunks`` blocks (at most 2: beyond that the sha256 consumer is the bottleneck)."""

CSV_BLOCK_ROWS = 1 << 16
"""Rows per block of ``csv_chunks`` (a block holds ``rows × row width`` bytes twice: about 15 MB for 1:2 trials)."""


class Column(Sequence):
    """A read-only sequence of N strings stored as codes into a table (module docstring).

    Args:
        table: the distinct strings (any order; none may contain a comma or a newline, the CSV separators).
        codes: int ``[N]`` indices into ``table``, or int ``[N, M]`` for a joined column (−1: empty slot).
        sep: separator of a joined column's values.

    Raises:
        ValueError: ``codes`` not 1-D or 2-D, or a code outside the table (checked when the column is built).
    """

    __slots__ = ("table", "codes", "sep", "_array")

    def __init__(self, table: Sequence[str], codes, sep: str = ";"):
        self.table = list(table)
        self.codes = np.asarray(codes)
        self.sep = sep
        self._array = None
        if self.codes.ndim not in (1, 2):
            raise ValueError(f"Column codes must be [N] or [N, M], not {self.codes.shape}")
        if self.codes.size:
            lo, hi = int(self.codes.min()), int(self.codes.max())
            if hi >= len(self.table) or lo < (-1 if self.codes.ndim == 2 else 0):
                raise ValueError(f"Column codes span [{lo}, {hi}] but the table holds {len(self.table)} strings")

    @classmethod
    def from_strings(cls, values: Iterable[str]) -> Column:
        """A column of the given strings (table: the distinct values, sorted)."""
        if isinstance(values, Column):
            return values
        arr = np.asarray(list(values), dtype=object)
        if not arr.size:
            return cls([], np.zeros(0, dtype=np.int64))
        table, codes = np.unique(arr.astype(str), return_inverse=True)
        return cls(table.tolist(), codes.astype(np.int64).reshape(-1))

    def strings(self) -> np.ndarray:
        """The table as an object array (cached), for vectorised lookups ``column.strings()[codes]``."""
        if self._array is None:
            self._array = np.asarray(self.table + [""], dtype=object)[:-1] if self.table else np.zeros(0, object)
        return self._array

    def __len__(self) -> int:
        return int(self.codes.shape[0])

    def _value(self, code) -> str:
        if self.codes.ndim == 1:
            return self.table[int(code)]
        return self.sep.join(self.table[int(c)] for c in code if c >= 0)

    def __getitem__(self, item):
        if isinstance(item, (int, np.integer)):
            return self._value(self.codes[item])
        return Column(self.table, self.codes[item], self.sep)

    def __iter__(self) -> Iterator[str]:
        if self.codes.ndim == 1:
            return iter(self.strings()[self.codes].tolist())
        return (self._value(row) for row in self.codes)

    def __contains__(self, value) -> bool:
        if self.codes.ndim == 2:
            return any(v == value for v in self)
        try:
            code = self.table.index(value)
        except ValueError:
            return False
        return bool((self.codes == code).any())

    def __eq__(self, other) -> bool:
        if isinstance(other, Column) or isinstance(other, (list, tuple)):
            return len(self) == len(other) and list(self) == list(other)
        return NotImplemented

    __hash__ = None  # mutable-looking sequence: not hashable, like a list

    def __repr__(self) -> str:
        head = ", ".join(repr(v) for v in self[:3]) if len(self) else ""
        return f"Column(n={len(self)}, table={len(self.table)}, [{head}{', …' if len(self) > 3 else ''}])"

    def lookup(self, index) -> np.ndarray:
        """int64 ``[N]`` (or ``[N, M]``, −1 kept) of ``index[value]`` per value: each table entry is looked up
        once, then gathered by the codes (e.g. ``index`` = ``{face id: row of the embedding table}``).

        Raises:
            KeyError: a value used by the column is not in ``index``.
        """
        flat = self.codes.reshape(-1)
        present = np.zeros(len(self.table) + 1, dtype=bool)
        present[flat] = True
        rows = np.full(len(self.table) + 1, -1, dtype=np.int64)
        for i in np.flatnonzero(present[:-1]).tolist():
            rows[i] = index[self.table[i]]
        return rows[self.codes]

    def distinct(self) -> list[str]:
        """``sorted(set(column))`` from the codes: the distinct values used, sorted (a joined column: its parts'
        values, empty slots left out)."""
        codes = np.unique(self.codes.reshape(-1))
        return sorted(self.table[int(c)] for c in codes[codes >= 0])

    def tolist(self) -> list[str]:
        """The N strings as a list."""
        return list(self)

    def parts(self) -> list[list[str]]:
        """A joined column's values as N lists of strings (empty slots left out)."""
        table = self.table
        return [[table[c] for c in row if c >= 0] for row in self.codes.tolist()]

    def factorize(self) -> tuple[np.ndarray, np.ndarray]:
        """``(names, inverse)`` as ``np.unique(strings, return_inverse=True)`` gives them, from the codes.

        Returns:
            names: str array of the distinct values used, sorted; inverse: int64 array of ``codes``' shape with the
            position of each value in ``names`` (a joined column's −1 slots stay −1).
        """
        names, rank = self.factorize_table()
        return names, rank[self.codes]

    def factorize_table(self) -> tuple[np.ndarray, np.ndarray]:
        """``factorize`` before the per-row gather: ``(names, rank)`` with ``rank`` int64 ``[len(table) + 1]``, the
        position in ``names`` of each table entry (−1 for entries no row uses, and at the last slot, which a −1 code
        reads), so ``rank[codes]`` is ``factorize``'s inverse. Lets a caller compose table-level maps and gather
        the rows once."""
        flat = self.codes.reshape(-1)
        present = np.zeros(len(self.table) + 1, dtype=bool)
        present[flat] = True  # −1 marks the last slot
        used = np.flatnonzero(present[:-1])
        names = np.asarray([self.table[i] for i in used], dtype=str)
        order = np.argsort(names, kind="stable")
        rank = np.full(len(self.table) + 1, -1, dtype=np.int64)
        rank[used[order]] = np.arange(len(used))
        return names[order], rank


def as_column(values) -> Column:
    """``values`` as a ``Column`` (a ``Column`` is returned as is; a list of strings is factorized)."""
    return values if isinstance(values, Column) else Column.from_strings(values)


def factorize(values) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` for a ``Column`` (from its codes) or a sequence of strings."""
    if isinstance(values, Column):
        return values.factorize()
    names, inverse = np.unique(np.asarray(list(values), dtype=str), return_inverse=True)
    return names, inverse.astype(np.int64).reshape(-1)


def _byte_table(strings: Sequence[str], prefix: bytes = b"") -> tuple[np.ndarray, np.ndarray]:
    """Zero-padded ``[U + 1, W]`` uint8 matrix of ``prefix + s`` per string (last row empty: the −1 slot) and the
    byte lengths ``[U + 1]``.

    Raises:
        ValueError: a string holds a comma or a newline (it would break the CSV form).
    """
    encoded = [prefix + s.encode("utf-8") for s in strings]
    bad = [s for s in strings if "," in s or "\n" in s or "\r" in s]
    if bad:
        raise ValueError(f"trial values may not contain a comma or a line break; found {bad[:3]}")
    width = max((len(e) for e in encoded), default=0)
    lengths = np.asarray([len(e) for e in encoded] + [0], dtype=np.int64)
    flat = np.frombuffer(b"".join(e.ljust(width, b"\0") for e in encoded), dtype=np.uint8)
    matrix = np.zeros((len(encoded) + 1, max(width, 1)), dtype=np.uint8)
    matrix[:-1, :width] = flat.reshape(len(encoded), width) if width else 0
    return matrix, lengths


def _pieces(column: Column) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(byte matrix, lengths, codes ``[N]``) per slot of a column (one slot, or M for a joined column)."""
    if column.codes.ndim == 1:
        matrix, lengths = _byte_table(column.table)
        return [(matrix, lengths, column.codes)]
    first = _byte_table(column.table)
    rest = _byte_table(column.table, prefix=column.sep.encode("utf-8"))
    out = []
    for j in range(column.codes.shape[1]):
        matrix, lengths = first if j == 0 else rest
        out.append((matrix, lengths, column.codes[:, j]))
    return out


def csv_chunks(header_lines: Sequence[str], names: Sequence[str], columns: Sequence[Column],
               block_rows: int = CSV_BLOCK_ROWS) -> Iterator[bytes]:
    """The canonical trial file in pieces: ``header_lines`` (each ending in LF), ``trial,<names>``, then per row
    ``<row number>,<value>,…`` (module docstring). Joining the pieces gives the file bytes.

    Args:
        header_lines: lines written first (without line ends), e.g. ``# key: value`` context lines.
        names: the column names.
        columns: N-row columns (a joined column: a first slot without a leading separator, a joined slot after
            an empty slot is not supported — a row's codes ≥ 0 must come first).

    Raises:
        ValueError: columns of different lengths, or a value with a comma or a line break.
    """
    head = "".join(f"{line}\n" for line in header_lines) + "trial," + ",".join(names) + "\n"
    yield head.encode("utf-8")
    n = len(columns[0]) if columns else 0
    if any(len(c) != n for c in columns):
        raise ValueError(f"trial columns of different lengths: {[len(c) for c in columns]}")
    if not n:
        return
    pieces = []  # (matrix, lengths, codes, separator-before)
    for column in columns:
        for j, (matrix, lengths, codes) in enumerate(_pieces(column)):
            pieces.append((matrix, lengths, np.where(codes < 0, len(matrix) - 1, codes), j == 0))
    digits = len(str(n - 1))
    powers = 10 ** np.arange(digits - 1, -1, -1, dtype=np.int64)  # [digits]
    width = digits + sum(m.shape[1] + int(sep) for m, _, _, sep in pieces) + 1

    def block(a: int) -> bytes:
        b = min(n, a + block_rows)
        rows = np.arange(a, b, dtype=np.int64)  # [n]
        out = np.empty((b - a, width), dtype=np.uint8)
        keep = np.empty((b - a, width), dtype=bool)
        out[:, :digits] = (rows[:, None] // powers) % 10 + 48  # row number, zero-padded on the left
        n_digits = np.ones(b - a, dtype=np.int64)
        for p in range(1, digits):
            n_digits += rows >= 10 ** p
        keep[:, :digits] = np.arange(digits - 1, -1, -1)[None, :] < n_digits[:, None]
        at = digits
        for matrix, lengths, codes, sep in pieces:
            if sep:
                out[:, at], keep[:, at] = 44, True  # ","
                at += 1
            c = codes[a:b]
            w = matrix.shape[1]
            out[:, at:at + w] = matrix[c]
            keep[:, at:at + w] = np.arange(w)[None, :] < lengths[c][:, None]
            at += w
        out[:, at], keep[:, at] = 10, True  # "\n"
        return out[keep].tobytes()

    starts = range(0, n, block_rows)
    if len(starts) < 4 or CSV_THREADS < 2:
        yield from map(block, starts)
        return
    # blocks are independent and numpy releases the GIL in gathers and masks: CSV_THREADS threads make them, in
    # order, at most 2 × CSV_THREADS blocks ahead of the consumer (the bytes are the same as one thread's)
    with ThreadPoolExecutor(max_workers=CSV_THREADS) as pool:
        pending: deque = deque()
        it = iter(starts)
        for a in it:
            pending.append(pool.submit(block, a))
            if len(pending) >= 2 * CSV_THREADS:
                break
        while pending:
            chunk = pending.popleft().result()
            nxt = next(it, None)
            if nxt is not None:
                pending.append(pool.submit(block, nxt))
            yield chunk


def csv_sha256(chunks: Iterable[bytes]) -> str:
    """sha256 (hex) of the concatenated ``chunks`` (streamed: the file is never held whole)."""
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()
