"""Thin, fast wrapper around CompressAI's rANS coder.

CompressAI's ``EntropyModel.compress`` converts the whole CDF table to Python
lists for every image; for a 48×48 face that costs more than the coding
itself. :class:`CdfTable` converts it once and, per stream, hands the coder only
the rows the stream uses (re-indexed). The bytes are identical to CompressAI's,
because rANS output depends only on the CDF rows actually used.

``.ffc`` format 2 codes z and then y into one stream (:func:`encode_joint`,
read back part by part with :class:`StreamReader`) and stores the final rANS
state in 5–8 bytes instead of 8 (:func:`compact_state`): about 8 bytes less
per file than format 1's two streams, whose layout :class:`StreamReader` still
reads (``compact=False``).

CompressAI's decoder reads 32-bit words from the stream without bounds
checks, so a stream is zero-padded before decoding. Zero words end every bypass
run, so the padding below covers what any stream we could have written, and
any randomly corrupted one, can consume: one word per symbol for the state,
plus bypass reads, bounded by the stream's own 0xF nibbles and the 64 state
bits. A stream crafted to drive the rANS state to exactly zero again and again
could in principle read further; docs/robustness.md discusses it.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass

import numpy as np
import torch
from compressai.ans import BufferedRansEncoder, RansDecoder

_GUARD_BYTES_PER_SYMBOL = 64
_GUARD_BYTES_PER_STREAM_BYTE = 16


@dataclass
class CdfTable:
    """Quantised CDFs of one CompressAI entropy model, as Python lists."""

    cdfs: list[list[int]]
    lengths: list[int]
    offsets: list[int]

    @classmethod
    def from_entropy_model(cls, module: torch.nn.Module) -> CdfTable:
        """Read the ``update()``d buffers of an EntropyBottleneck/GaussianConditional."""
        cdf_length = module._cdf_length.reshape(-1).int().tolist()
        cdfs = [row[:n] for row, n in zip(module._quantized_cdf.tolist(), cdf_length)]
        return cls(cdfs, cdf_length, module._offset.reshape(-1).int().tolist())

    def _subsets(self, indexes: torch.Tensor) -> list[tuple[list[int], list, list, list]]:
        """Per row of ``indexes`` (B, ...): the CDF rows it uses, ascending, and its
        indexes renumbered into them (what torch.unique(return_inverse=True) gives
        row by row; one numpy pass for the whole batch, several times faster)."""
        flat = indexes.reshape(indexes.shape[0], -1).numpy()
        present = np.zeros((flat.shape[0], len(self.cdfs)), dtype=bool)
        present[np.arange(flat.shape[0])[:, None], flat] = True
        local = np.take_along_axis(np.cumsum(present, axis=1, dtype=np.int32) - 1, flat, axis=1)
        out = []
        for row_local, row_present in zip(local.tolist(), present):
            rows = np.flatnonzero(row_present).tolist()
            out.append((
                row_local,
                [self.cdfs[r] for r in rows],
                [self.lengths[r] for r in rows],
                [self.offsets[r] for r in rows],
            ))  # fmt: skip
        return out

    def _subset(self, indexes: torch.Tensor) -> tuple[list[int], list, list, list]:
        return self._subsets(indexes.reshape(1, -1))[0]

    def read_batch(self, readers: list[StreamReader], indexes: torch.Tensor) -> torch.Tensor:
        """Continue decoding ``readers[i]`` with ``indexes[i]``: (len(readers), *indexes.shape[1:])."""
        subsets = self._subsets(indexes)
        return torch.stack([_as_tensor(r.read(sub), indexes.shape[1:]) for r, sub in zip(readers, subsets)])

    def read_shared(self, readers: list[StreamReader], indexes: torch.Tensor) -> torch.Tensor:
        """Continue decoding every reader with the same ``indexes``: (len(readers), *indexes.shape)."""
        subset = self._subset(indexes)
        return torch.stack([_as_tensor(r.read(subset), indexes.shape) for r in readers])


def encode_joint(parts: list[tuple[CdfTable, torch.Tensor, torch.Tensor]]) -> bytes:
    """One rANS stream for several (table, symbols, indexes) parts, in order: a decoder
    reads them back in the same order (:class:`StreamReader`). One state flush and one
    word's padding for the lot instead of one per part, and the final state stored in
    5–8 bytes (:func:`compact_state`)."""
    encoder = BufferedRansEncoder()  # buffers the symbols, codes them in reverse at flush
    for table, symbols, indexes in parts:
        local, cdfs, lengths, offsets = table._subset(indexes)
        encoder.encode_with_indexes(symbols.reshape(-1).int().tolist(), local, cdfs, lengths, offsets)
    return compact_state(encoder.flush())


#: bytes of rANS state kept at least (2^31 <= state < 2^63: it always needs 4, and
#: 5..8 make the stream's length mod 4 name the state's length unambiguously)
_STATE_MIN = 5


def compact_state(stream: bytes) -> bytes:
    """CompressAI's rANS stream is the final 64-bit state (8 bytes, little-endian) and
    then 32-bit words. Move the state to the end and drop its high zero bytes, keeping
    at least 5: the stream's length mod 4 (1, 2, 3, 0) then says the state is 5, 6, 7
    or 8 bytes. Usually saves 2–3 bytes (the state rarely reaches 2^48)."""
    state, words = stream[:8], stream[8:]
    kept = max(_STATE_MIN, len(state.rstrip(b"\0")))
    return words + state[:kept]


def expand_state(stream: bytes) -> bytes:
    """Undo :func:`compact_state` (any bytes in, CompressAI's layout out: a malformed
    stream decodes to garbage, never out of bounds)."""
    kept = min(len(stream), _STATE_MIN + (len(stream) - 1) % 4)
    cut = len(stream) - kept
    return stream[cut:] + bytes(8 - kept) + stream[:cut]


class StreamReader:
    """Reads the parts of one :func:`encode_joint` stream one after the other."""

    def __init__(self, stream: bytes, symbols: int, compact: bool = True) -> None:
        """``symbols``: how many symbols all parts hold together (sizes the guard padding);
        ``compact``: the state was stored by :func:`compact_state`."""
        self._decoder = RansDecoder()
        self._decoder.set_stream(_guarded(expand_state(stream) if compact else stream, symbols))

    def read(self, subset: tuple[list[int], list, list, list]) -> list[int]:
        local, cdfs, lengths, offsets = subset
        return self._decoder.decode_stream(local, cdfs, lengths, offsets)


def _guarded(stream: bytes, symbols: int) -> bytes:
    """``stream`` followed by the zero padding decoding it may read (module docstring)."""
    guard = _GUARD_BYTES_PER_SYMBOL * (symbols + 4) + _GUARD_BYTES_PER_STREAM_BYTE * len(stream)
    return b"".join((stream, _zeros(guard)))


def _as_tensor(values: list[int], shape: torch.Size) -> torch.Tensor:
    # array.array converts the list of Python ints about 5x faster than torch.tensor;
    # the tensor keeps the array alive
    return torch.frombuffer(array("i", values), dtype=torch.int32).view(shape)


_ZEROS = bytearray()


def _zeros(n: int) -> memoryview:
    """``n`` zero bytes without allocating them anew for every stream."""
    global _ZEROS
    if len(_ZEROS) < n:
        _ZEROS = bytearray(max(n, 2 * len(_ZEROS)))
    return memoryview(_ZEROS)[:n]
