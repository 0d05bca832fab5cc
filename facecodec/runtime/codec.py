"""A codec's inference, in numpy: gains, symbols, exact entropy parameters, streams, transforms.

Everything that decides a file's bytes and a decoder's symbols lives here and
is shared by every way of running a codec: the float transforms come from a
:class:`Transforms` object (ONNX Runtime graphs in :mod:`.graphs`, or the
PyTorch modules of the training code), the rest is exact numpy and
``constriction``. Data flow (``q`` = quality in [1, 8])::

    x -> analysis·gain(q) -> y, h_a -> z      (Transforms.analyze)
    z -Q-> z symbols ----------------------+--> stream (format 3, :mod:`.ans`)
    z_hat -> exact h_s -> scales, means    |
    y -means-Q-> y symbols ----------------+
    y_hat = (y symbols + means) / gain(q) -> g_s -> x_hat   (Transforms.synthesize)

The float transforms run on batches of exactly :data:`CHUNK` faces
(zero-padded): a file and a decoded image never depend on the batch size or
on their neighbours.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..container import ANS, RANS_COMPACT, RANS_TWO_STREAMS
from ..quality import QUALITY_MAX, QUALITY_MIN
from . import ans
from .hyper import ExactHyperSynthesis
from .rans_legacy import LegacyReader

#: the float transforms always run on batches of exactly this many faces (zero-padded)
CHUNK = 16
#: g_a's downsampling: a 48×48 face has a 6×6 latent ``y``
LATENT_STRIDE = 8
#: g_a (8×) then h_a (2×): inputs are padded on the right and bottom to a multiple of this
PAD_MULTIPLE = 2 * LATENT_STRIDE


@dataclass(frozen=True)
class CodedFace:
    """One face's entropy-coded stream(s), how they were coded, and its latent size."""

    streams: tuple[bytes, ...]  # one stream (z then y), or a z stream and a y stream
    coding: str  # a value of facecodec.container.CODINGS: which entropy coder wrote them
    latent_height: int
    latent_width: int


class Transforms(Protocol):
    """The float transforms of a codec, on float32 batches of :data:`CHUNK` faces."""

    def analyze(self, x: np.ndarray, gain: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(y·gain, h_a(y·gain))`` for padded images (B, C, H, W) in [0, 1] and gains (B, M, 1, 1)."""

    def synthesize(self, y_hat: np.ndarray) -> np.ndarray:
        """``g_s(y_hat)`` clamped to [0, 1]."""


def chunked(fn: Callable[..., object], *arrays: np.ndarray) -> list[np.ndarray]:
    """``fn`` over zero-padded chunks of exactly :data:`CHUNK` samples; outputs concatenated."""
    n = len(arrays[0])
    outs: list[list[np.ndarray]] = []
    for start in range(0, n, CHUNK):
        chunk = []
        for a in arrays:
            part = a[start : start + CHUNK]
            if len(part) < CHUNK:
                part = np.concatenate([part, np.zeros((CHUNK - len(part), *a.shape[1:]), a.dtype)])
            chunk.append(np.ascontiguousarray(part))
        result = fn(*chunk)
        outs.append(list(result) if isinstance(result, tuple) else [result])
    return [np.concatenate([o[k] for o in outs])[:n] for k in range(len(outs[0]))]


class Codec:
    """One codec: its exact coding tables (from its weights) and its float transforms."""

    def __init__(self, state: Mapping[str, np.ndarray], transforms: Transforms) -> None:
        def table(prefix: str) -> ans.Table:
            return ans.Table(state[f"{prefix}._quantized_cdf"], state[f"{prefix}._cdf_length"], state[f"{prefix}._offset"])

        self.transforms = transforms
        self.z_table, self.y_table = table("entropy_bottleneck"), table("gaussian_conditional")
        self.medians = np.asarray(state["entropy_bottleneck.quantiles"], np.float32)[:, 0, 1].reshape(1, -1, 1, 1)
        self.scale_table = np.asarray(state["gaussian_conditional.scale_table"], np.float32).astype(np.float64)
        self.log_gain = np.asarray(state["log_gain"], np.float32)
        self.log_inv_gain = np.asarray(state["log_inv_gain"], np.float32)
        code = state.get("sem_log_gain")
        self.code_gain = None if code is None else np.exp(np.asarray(code, np.float32))
        self.hyper = ExactHyperSynthesis(state)
        self.z_channels = self.medians.shape[1]

    # -- gains ------------------------------------------------------------------
    def gains(self, quality: np.ndarray, dtype: type = np.float32) -> tuple[np.ndarray, np.ndarray]:
        """Per-face (gain, inverse gain), shape (B, M, 1, 1): neighbouring gain vectors
        interpolated in the log domain; an expression code's channels have one gain."""
        levels = len(self.log_gain)
        q = np.clip(np.asarray(quality, dtype=dtype).reshape(-1), QUALITY_MIN, QUALITY_MAX)
        pos = (q - dtype(QUALITY_MIN)) * dtype((levels - 1) / (QUALITY_MAX - QUALITY_MIN))
        lo = np.minimum(np.floor(pos).astype(np.int64), levels - 2)
        t = (pos - lo.astype(dtype))[:, None]

        def interp(table: np.ndarray) -> np.ndarray:
            table = table.astype(dtype)
            return np.exp(table[lo] * (1 - t) + table[lo + 1] * t)

        gain, inv = interp(self.log_gain), interp(self.log_inv_gain)
        if self.code_gain is not None:
            code = np.broadcast_to(self.code_gain.astype(dtype), (len(q), len(self.code_gain)))
            gain, inv = np.concatenate([gain, code], 1), np.concatenate([inv, 1 / code], 1)
        return gain[:, :, None, None], inv[:, :, None, None]

    # -- exact symbol arithmetic ---------------------------------------------------
    def _entropy_parameters(self, z_symbols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(y's table rows, y's means) from the z symbols, exact."""
        scales, means = self.hyper(z_symbols.astype(np.float32) + self.medians)
        # CompressAI's build_indexes: the table entries (bar the last) strictly below the scale
        rows = np.searchsorted(self.scale_table[:-1], np.maximum(scales, self.scale_table[0]), side="left")
        return rows, means

    def _z_rows(self, shape: tuple[int, ...]) -> tuple[np.ndarray, ans.Plan]:
        """The table rows of one face's z symbols (its channels) and their plan, shared by every face."""
        rows = np.broadcast_to(np.arange(shape[0]).reshape(-1, 1, 1), shape)
        return rows, ans.plans(self.z_table, rows[None])[0]

    def compress(self, x: np.ndarray, quality: np.ndarray) -> list[bytes]:
        """Streams (format 3) for padded images (B, C, H, W) in [0, 1], H and W multiples of 16."""
        gain, _ = self.gains(quality)
        y, z = chunked(self.transforms.analyze, np.asarray(x, np.float32), gain)
        z_symbols = np.rint(z - self.medians).astype(np.int32)
        rows, means = self._entropy_parameters(z_symbols)
        y_symbols = np.rint(y.astype(np.float64) - means).astype(np.int32)
        return self._streams(z_symbols, y_symbols, rows)

    def _streams(self, z_symbols: np.ndarray, y_symbols: np.ndarray, rows: np.ndarray) -> list[bytes]:
        """One format-3 stream per face: its z symbols, then its y symbols (with their table rows)."""
        z_rows, z_plan = self._z_rows(z_symbols.shape[1:])
        return [
            ans.encode([ans.Part(self.z_table, z, z_rows, z_plan), ans.Part(self.y_table, y, r, p)])
            for z, y, r, p in zip(z_symbols, y_symbols, rows, ans.plans(self.y_table, rows))
        ]

    def _decode(self, faces: Sequence[CodedFace]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Entropy-decode same-size faces: z symbols, y symbols, y's table rows and y's means."""
        h, w = faces[0].latent_height, faces[0].latent_width
        z_rows, z_plan = self._z_rows((self.z_channels, -(-h // 2), -(-w // 2)))
        readers = [_readers(face) for face in faces]
        z_symbols = np.stack([z_reader.read(self.z_table, z_rows, z_plan) for z_reader, _ in readers])
        rows, means = self._entropy_parameters(z_symbols)
        y_plans = ans.plans(self.y_table, rows)
        y_symbols = np.stack([y.read(self.y_table, r, p) for (_, y), r, p in zip(readers, rows, y_plans)])
        return z_symbols, y_symbols, rows, means

    def symbols(self, faces: Sequence[CodedFace]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Entropy-decode same-size faces: (z symbols, y symbols, y means), all exact."""
        z_symbols, y_symbols, _, means = self._decode(faces)
        return z_symbols, y_symbols, means

    def restream(self, faces: Sequence[CodedFace]) -> list[bytes]:
        """The same symbols as format 3 streams: lossless, they decode to the same pixels."""
        z_symbols, y_symbols, rows, _ = self._decode(faces)
        return self._streams(z_symbols, y_symbols, rows)

    def latent(self, faces: Sequence[CodedFace], quality: np.ndarray) -> np.ndarray:
        """The decoded latents ``y_hat`` (B, M, h, w), float32."""
        _, y_symbols, means = self.symbols(faces)
        _, inv_gain = self.gains(quality, dtype=np.float64)
        return ((y_symbols + means) * inv_gain).astype(np.float32)

    def decompress(self, faces: Sequence[CodedFace], quality: np.ndarray) -> np.ndarray:
        """Decoded padded images (B, C, H, W) in [0, 1], float32."""
        (x_hat,) = chunked(self.transforms.synthesize, self.latent(faces, quality))
        # a crafted stream's huge latents may overflow the float transforms: never NaN pixels
        return np.nan_to_num(x_hat, nan=0.0, posinf=1.0, neginf=0.0)


def _readers(face: CodedFace) -> tuple[ans.Reader | LegacyReader, ans.Reader | LegacyReader]:
    """The readers of a face's z part and y part (one reader for both, but for two streams)."""
    if face.coding == ANS:
        reader: ans.Reader | LegacyReader = ans.Reader(face.streams[0])
        return reader, reader
    if face.coding == RANS_COMPACT:
        reader = LegacyReader(face.streams[0], compact=True)
        return reader, reader
    if face.coding == RANS_TWO_STREAMS:
        return LegacyReader(face.streams[0], compact=False), LegacyReader(face.streams[1], compact=False)
    raise ValueError(f"unknown entropy coding {face.coding!r}")
