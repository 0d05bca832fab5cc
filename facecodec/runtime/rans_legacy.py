"""Reader of the rANS streams of ``.ffc`` formats 1 and 2 (CompressAI's coder), in Python.

Formats 1 and 2 were written with CompressAI's ``RansEncoder`` (64-bit state,
32-bit words, 16-bit CDF precision, out-of-range values escaped and sent as
4-bit bypass chunks). This module decodes them without CompressAI, for
``decode`` of old files and for ``facecodec upgrade``, which rewrites them in the
current format with the same symbols. It is a plain Python loop (about 1 µs a
symbol): old files are read, not written, and rarely in bulk.

Every read is bounds-checked: past the end of a stream it reads zero words, as
CompressAI's decoder does on its zero-padded input, so a malformed stream
decodes to garbage (the CRC has caught real corruption before), never out of
bounds.
"""

from __future__ import annotations

from bisect import bisect_right

import numpy as np

from .ans import Table

PRECISION = 16
BYPASS_PRECISION = 4
_MAX_BYPASS = (1 << BYPASS_PRECISION) - 1
_RANS_L = 1 << 31
_MASK = (1 << PRECISION) - 1
#: bytes of rANS state kept at least by format 2's compact state (see :func:`expand_state`)
STATE_MIN = 5


def expand_state(stream: bytes) -> bytes:
    """Format 2 stores the final 64-bit state at the end of the stream, without its high
    zero bytes but at least 5 (the stream's length mod 4 says how many: 1, 2, 3, 0 ->
    5, 6, 7, 8). Return CompressAI's layout: the 8-byte state, then the words."""
    kept = min(len(stream), STATE_MIN + (len(stream) - 1) % 4)
    cut = len(stream) - kept
    return stream[cut:] + bytes(8 - kept) + stream[:cut]


class LegacyReader:
    """Decodes the parts of one CompressAI rANS stream one after the other."""

    def __init__(self, stream: bytes, compact: bool) -> None:
        """``compact``: format 2's stored state (:func:`expand_state`); else format 1's layout."""
        data = expand_state(stream) if compact else stream
        data = data + bytes((-len(data)) % 4)
        self._words = np.frombuffer(data, dtype="<u4").tolist()
        self._pos = 2
        self._state = self._word(0) | (self._word(1) << 32)

    def _word(self, i: int) -> int:
        return self._words[i] if i < len(self._words) else 0

    def _next_word(self) -> int:
        word = self._word(self._pos)
        self._pos += 1
        return word

    def _bits(self, n: int) -> int:
        value = self._state & ((1 << n) - 1)
        self._state >>= n
        if self._state < _RANS_L:
            self._state = ((self._state << 32) | self._next_word()) & 0xFFFFFFFFFFFFFFFF
        return value

    def read(self, table: Table, indexes: np.ndarray, plan: object = None) -> np.ndarray:
        """The next ``indexes.size`` symbols (shape of ``indexes``), symbol ``i`` coded with row
        ``indexes[i]`` of ``table``, in position order (as :meth:`.ans.Reader.read`; these
        streams are coded symbol by symbol, so a ``plan`` has nothing to say here)."""
        rows = [row[:n] for row, n in zip(table.cdfs.tolist(), table.lengths.tolist())]
        offsets_list = table.offsets.tolist()
        out = []
        for index in indexes.reshape(-1).tolist():
            cdf = rows[index]
            max_value = len(cdf) - 2
            target = self._state & _MASK
            s = min(max(bisect_right(cdf, target) - 1, 0), len(cdf) - 2)
            start, freq = cdf[s], cdf[s + 1] - cdf[s]
            self._state = (freq * (self._state >> PRECISION) + (self._state & _MASK) - start) & 0xFFFFFFFFFFFFFFFF
            if self._state < _RANS_L:
                self._state = ((self._state << 32) | self._next_word()) & 0xFFFFFFFFFFFFFFFF
            value = s
            if value == max_value:  # escaped: the value follows in bypass chunks
                chunk = self._bits(BYPASS_PRECISION)
                n_chunks = chunk
                while chunk == _MAX_BYPASS and n_chunks < 64:
                    chunk = self._bits(BYPASS_PRECISION)
                    n_chunks += chunk
                raw = 0
                for j in range(n_chunks):
                    raw |= self._bits(BYPASS_PRECISION) << (j * BYPASS_PRECISION)
                value = -(raw >> 1) - 1 if raw & 1 else (raw >> 1) + max_value
                value = max(min(value, 2**31 - 1), -(2**31))
            out.append(value + offsets_list[index])
        # int32 as CompressAI's decoder computes it (a crafted escape wraps around)
        return np.asarray(out, dtype=np.int64).astype(np.int32).reshape(indexes.shape)
