"""Entropy coding of ``.ffc`` format 3: one ANS stream per face, through ``constriction``.

Symbols are coded with the codec's own quantised CDF tables (the 16-bit tables
CompressAI builds at ``update()``, shipped in the weights file): every table
row becomes one ``constriction`` categorical model, built once per codec. A
face's symbols are coded in *parts* (its ``z`` symbols, then its ``y``
symbols); inside a part, symbols are grouped by the table row they use
(ascending row, then ascending position), so each group is one call into
constriction's Rust coder instead of one Python step per symbol. The decoder
knows every symbol's row before it reads the part (``z``: its channel; ``y``:
a scale index from the exact hyper-synthesis), so it reads the same groups in
the same order.

A value outside its row's range is coded as the row's last bin (the escape)
and then, after the part's groups, as 4-bit chunks of a uniform model:
``n`` chunks (itself sent as chunks of 15 and a final chunk below 15), then
the zig-zag value ``2v`` / ``-2v-1`` relative to the row's range.

The stream is constriction's 32-bit words, little-endian, in the order it
returns them; the last word (the top of the coder's state, never zero) is
stored without its high zero bytes, so the stream's length mod 4 (1, 2, 3, 0)
says how many of its bytes are kept (1, 2, 3, 4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import constriction
import numpy as np

from ..errors import CorruptStream

_model = constriction.stream.model
_CHUNK_BITS = 4
_CHUNK = (1 << _CHUNK_BITS) - 1
_UNIFORM = _model.Uniform(1 << _CHUNK_BITS)
#: escaped values larger than this (in zig-zag form) are not representable
MAX_RAW = (1 << 32) - 1
_MAX_CHUNKS = 8


@dataclass
class Table:
    """One entropy model's quantised CDF rows (``cdfs``: (R, L) int, ``lengths``: valid
    entries per row, ``offsets``: the value of each row's first bin)."""

    cdfs: np.ndarray
    lengths: np.ndarray
    offsets: np.ndarray

    def __post_init__(self) -> None:
        self.cdfs = np.asarray(self.cdfs, dtype=np.int64)
        self.lengths = np.asarray(self.lengths, dtype=np.int64).reshape(-1)
        self.offsets = np.asarray(self.offsets, dtype=np.int64).reshape(-1)
        self._models: list = [None] * len(self.lengths)

    def model(self, row: int) -> object:
        """The constriction model of table row ``row`` (built on first use)."""
        m = self._models[row]
        if m is None:
            freqs = np.diff(self.cdfs[row, : self.lengths[row]]).astype(np.float64)
            m = self._models[row] = _model.Categorical(freqs, perfect=False)
        return m

    def escape(self, rows: np.ndarray) -> np.ndarray:
        """The escape bin of each row (its last)."""
        return self.lengths[rows] - 2


@dataclass(frozen=True)
class Part:
    """Symbols to code with one table: ``values`` and the ``rows`` they use (same shape);
    ``plan``: the rows' :class:`Plan`, when the caller made it (for many faces at once)."""

    table: Table
    values: np.ndarray
    rows: np.ndarray
    plan: Plan | None = None


@dataclass(frozen=True)
class Plan:
    """The coding order of one part's symbols: ``order`` (positions, ascending row then
    position), the ``groups`` (row, start, stop) of that order, and each symbol's escape bin
    and row offset in that order. Faces whose symbols use the same rows share a plan."""

    shape: tuple[int, ...]
    order: np.ndarray
    groups: list[tuple[int, int, int]]
    escape: np.ndarray
    offsets: np.ndarray


def plans(table: Table, rows: np.ndarray) -> list[Plan]:
    """One :class:`Plan` per face for ``rows`` (B, ...) of ``table``, sorted in one call."""
    flat = rows.reshape(len(rows), -1).astype(np.int64)
    n = flat.shape[1]
    order = np.argsort(flat, axis=1, kind="stable")
    ordered = np.take_along_axis(flat, order, axis=1)
    escape, offsets = table.escape(ordered), table.offsets[ordered]
    change = np.diff(ordered, axis=1) != 0
    out = []
    for b in range(len(flat)):
        cuts = (np.flatnonzero(change[b]) + 1).tolist()
        starts, stops = [0, *cuts], [*cuts, n]
        groups = list(zip(ordered[b, starts].tolist(), starts, stops)) if n else []
        out.append(Plan(tuple(rows.shape[1:]), order[b], groups, escape[b], offsets[b]))
    return out


def _zigzag(values: np.ndarray, escape: np.ndarray) -> list[int]:
    raw = np.where(values < 0, -2 * values - 1, 2 * (values - escape))
    if raw.size and int(raw.max()) > MAX_RAW:
        raise ValueError("a latent value is too large to code")
    return raw.tolist()


def _chunks(raw: int) -> list[int]:
    """The 4-bit chunks that send ``raw`` (count first), in decoding order."""
    n = 0
    while raw >> (n * _CHUNK_BITS):
        n += 1
    count = [_CHUNK] * (n // _CHUNK) + [n % _CHUNK]
    return count + [(raw >> (j * _CHUNK_BITS)) & _CHUNK for j in range(n)]


def encode(parts: Sequence[Part]) -> bytes:
    """One stream holding ``parts`` in order (a decoder reads them back in that order)."""
    coder = constriction.stream.stack.AnsCoder()
    for part in reversed(parts):  # a stack: what is read first is pushed last
        plan = part.plan or plans(part.table, part.rows[None])[0]
        symbols = part.values.reshape(-1).astype(np.int64)[plan.order] - plan.offsets
        outside = (symbols < 0) | (symbols >= plan.escape)
        chunks: list[int] = []
        for raw in _zigzag(symbols[outside], plan.escape[outside]):
            chunks.extend(_chunks(raw))
        if chunks:
            coder.encode_reverse(np.asarray(chunks, dtype=np.int32), _UNIFORM)
        symbols = np.where(outside, plan.escape, symbols).astype(np.int32)
        for row, start, stop in reversed(plan.groups):
            coder.encode_reverse(symbols[start:stop], part.table.model(row))
    words = coder.get_compressed().astype("<u4").tobytes()
    return words[: len(words) - _zero_high_bytes(words)]


def _zero_high_bytes(words: bytes) -> int:
    """How many high bytes of the last word are zero (at most 3: it is never zero)."""
    n = 0
    while n < 3 and len(words) >= 4 and words[len(words) - 1 - n] == 0:
        n += 1
    return n


class Reader:
    """Reads the parts of one :func:`encode` stream one after the other.

    Like every decoder of the format, it trusts nothing: a stream no encoder wrote
    (the CRC matched, so it was crafted) decodes to garbage values, never out of
    bounds; escapes are capped at 32 bits.
    """

    def __init__(self, stream: bytes) -> None:
        data = stream + bytes((-len(stream)) % 4)
        words = np.frombuffer(data, dtype="<u4").astype(np.uint32)
        try:
            self._coder = constriction.stream.stack.AnsCoder(words)
        except ValueError:  # ends in a zero word: no encoder wrote it
            self._coder = constriction.stream.stack.AnsCoder()

    def read(self, table: Table, rows: np.ndarray, plan: Plan | None = None) -> np.ndarray:
        """The next part's values, for symbols using table ``rows`` (shape of ``rows``);
        ``plan``: ``rows``'s :class:`Plan`, when the caller made it (for many faces at once)."""
        if plan is None:
            (plan,) = plans(table, rows[None])
        symbols = np.empty(len(plan.order), dtype=np.int64)
        try:
            for row, start, stop in plan.groups:
                symbols[start:stop] = self._coder.decode(table.model(row), stop - start)
            escape = plan.escape
            for i in np.flatnonzero(symbols == escape).tolist():
                raw = self._raw()
                symbols[i] = -(raw >> 1) - 1 if raw & 1 else (raw >> 1) + int(escape[i])
        except (ValueError, RuntimeError) as exc:
            raise CorruptStream(f"corrupt entropy-coded stream ({exc})") from None
        values = np.empty(len(symbols), dtype=np.int64)
        values[plan.order] = symbols + plan.offsets
        return np.clip(values, -(2**31), 2**31 - 1).astype(np.int32).reshape(plan.shape)

    def _raw(self) -> int:
        n, chunk = 0, _CHUNK
        while chunk == _CHUNK and n <= _MAX_CHUNKS:
            chunk = int(self._coder.decode(_UNIFORM, 1)[0])
            n += chunk
        n = min(n, _MAX_CHUNKS)
        chunks = self._coder.decode(_UNIFORM, n).tolist() if n else []
        return sum(c << (j * _CHUNK_BITS) for j, c in enumerate(chunks))
