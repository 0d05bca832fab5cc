"""Thin, fast wrapper around CompressAI's rANS coder.

CompressAI's ``EntropyModel.compress`` converts the whole CDF table to Python
lists for every image; for a 48×48 face that costs more than the coding
itself. :class:`CdfTable` converts it once and, per stream, hands the coder only
the rows the stream uses (re-indexed). The bytes are identical to CompressAI's,
because rANS output depends only on the CDF rows actually used.

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
from compressai.ans import RansDecoder, RansEncoder

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

    def _subset(self, indexes: torch.Tensor) -> tuple[list[int], list, list, list]:
        # the rows used, ascending, and each index renumbered into them (what
        # torch.unique(return_inverse=True) gives, about 3x faster for small tables)
        flat = indexes.reshape(-1).numpy()
        present = np.bincount(flat, minlength=len(self.cdfs)) > 0
        renumber = np.cumsum(present, dtype=np.int32) - 1
        rows = np.flatnonzero(present).tolist()
        return (
            renumber[flat].tolist(),
            [self.cdfs[r] for r in rows],
            [self.lengths[r] for r in rows],
            [self.offsets[r] for r in rows],
        )

    def encode(self, symbols: torch.Tensor, indexes: torch.Tensor) -> bytes:
        """rANS-encode integer ``symbols`` with the CDF row named by each index."""
        local, cdfs, lengths, offsets = self._subset(indexes)
        return RansEncoder().encode_with_indexes(
            symbols.reshape(-1).int().tolist(), local, cdfs, lengths, offsets
        )

    def decode(self, stream: bytes, indexes: torch.Tensor) -> torch.Tensor:
        """Decode symbols shaped like ``indexes``; garbage in gives garbage, never a crash."""
        return self._decode(stream, indexes.shape, self._subset(indexes))

    def decode_shared(self, streams: list[bytes], indexes: torch.Tensor) -> torch.Tensor:
        """Decode streams that all use ``indexes`` (a hyper-latent's): (len(streams), *indexes.shape)."""
        subset = self._subset(indexes)
        return torch.stack([self._decode(s, indexes.shape, subset) for s in streams])

    @staticmethod
    def _decode(stream: bytes, shape: torch.Size, subset: tuple[list[int], list, list, list]) -> torch.Tensor:
        local, cdfs, lengths, offsets = subset
        guard = _GUARD_BYTES_PER_SYMBOL * (len(local) + 4) + _GUARD_BYTES_PER_STREAM_BYTE * len(stream)
        padded = b"".join((stream, _zeros(guard)))
        values = RansDecoder().decode_with_indexes(padded, local, cdfs, lengths, offsets)
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
