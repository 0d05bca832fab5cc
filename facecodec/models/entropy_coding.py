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

    def encode(self, symbols: torch.Tensor, indexes: torch.Tensor) -> bytes:
        """rANS-encode integer ``symbols`` with the CDF row named by each index."""
        local, cdfs, lengths, offsets = self._subset(indexes)
        return RansEncoder().encode_with_indexes(
            symbols.reshape(-1).int().tolist(), local, cdfs, lengths, offsets
        )

    def decode_batch(self, streams: list[bytes], indexes: torch.Tensor) -> torch.Tensor:
        """Decode ``streams[i]`` with ``indexes[i]``: (len(streams), *indexes.shape[1:]).

        Garbage in gives garbage, never a crash."""
        subsets = self._subsets(indexes)
        return torch.stack([self._decode(s, indexes.shape[1:], sub) for s, sub in zip(streams, subsets)])

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
