"""Variable-rate mean-scale hyperprior for small face crops.

Architecture after D. Minnen, J. Ballé, G. Toderici, "Joint Autoregressive and
Hierarchical Priors for Learned Image Compression" (NeurIPS 2018), the
mean-scale hyperprior without the context model (CompressAI ``mbt2018-mean``),
resized for 48×48 faces (8× downsampling, so a 48×48 face has a 6×6 latent),
with gain units for a continuous rate (Z. Cui et al., "Asymmetric Gained Deep
Image Compression With Continuous Rate Adaptation", CVPR 2021).

Data flow (``q`` = quality in [1, 8], ``Q`` = rounding, ``AE/AD`` = rANS)::

    x -> g_a -> y -> * gain(q) -> y_g --h_a--> z -Q-> z_hat -AE/AD-> z_hat
                                  |                        |
                                  |          exact h_s (fixed point, see exact_hyper)
                                  |                        v
                                  +--- -mean -Q-AE/AD- (scales, means)
                                                 |
                           y_hat = (symbols + means) / gain(q) -> g_s -> x_hat

Only ``z`` symbols and ``y`` symbols are stored; the entropy parameters are a
bit-exact function of the ``z`` symbols (see :mod:`.exact_hyper`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from compressai.entropy_models import EntropyBottleneck, GaussianConditional
from compressai.layers import GDN
from compressai.models.base import CompressionModel, get_scale_table
from compressai.models.utils import conv, deconv
from torch import nn

from ..quality import QUALITY_MAX, QUALITY_MIN
from .entropy_coding import CdfTable, StreamReader, encode_joint
from .exact_hyper import ExactHyperSynthesis

#: The float transforms (g_a, h_a, g_s) always run on batches of exactly this
#: many samples (zero-padded), so a file and a decoded image never depend on the
#: batch size or the neighbours: float convolution kernels are chosen per shape
#: and may sum in another order.
CHUNK = 16
#: g_a's downsampling: a 48×48 face has a 6×6 latent ``y``
LATENT_STRIDE = 8
#: g_a (8×) then h_a (2×): inputs are padded on the right and bottom to a multiple of this
PAD_MULTIPLE = 2 * LATENT_STRIDE
#: scales the Gaussian tables cover; larger scales fall back to the widest table
SCALE_TABLE = get_scale_table(0.11, 64, 48)


@dataclass(frozen=True)
class CompressedFace:
    """The bitstream(s) of one image plus what is needed to decode them."""

    streams: tuple[bytes, ...]  # one (z then y: format 2) or two (z, y: format 1)
    latent_height: int
    latent_width: int


def lambda_for_quality(quality: torch.Tensor, lmbda_min: float, lmbda_max: float) -> torch.Tensor:
    """Rate-distortion trade-off λ for a quality in [1, 8], geometric in quality."""
    t = (quality - QUALITY_MIN) / (QUALITY_MAX - QUALITY_MIN)
    return lmbda_min * (lmbda_max / lmbda_min) ** t


class FaceHyperprior(CompressionModel):
    """Mean-scale hyperprior with gain units; one model covers quality 1..8.

    Args:
        in_channels: 1 (grey) or 3 (RGB).
        N: channels of the transforms and of ``z``.
        M: channels of the latent ``y``.
        levels: number of learned gain vectors, one per integer quality.
    """

    downsampling = PAD_MULTIPLE

    def __init__(self, in_channels: int = 1, N: int = 64, M: int = 96, levels: int = 8) -> None:
        super().__init__()
        self.in_channels, self.N, self.M, self.levels = in_channels, N, M, levels
        self.g_a = nn.Sequential(
            conv(in_channels, N), GDN(N), conv(N, N), GDN(N), conv(N, N), GDN(N),
            conv(N, M, kernel_size=3, stride=1),
        )  # fmt: skip
        self.g_s = nn.Sequential(
            deconv(M, N, kernel_size=3, stride=1), GDN(N, inverse=True),
            deconv(N, N), GDN(N, inverse=True), deconv(N, N), GDN(N, inverse=True),
            deconv(N, in_channels),
        )  # fmt: skip
        self.h_a = nn.Sequential(
            conv(M, N, kernel_size=3, stride=1), nn.LeakyReLU(inplace=True),
            conv(N, N), nn.LeakyReLU(inplace=True), conv(N, N, kernel_size=3, stride=1),
        )  # fmt: skip
        self.h_s = nn.Sequential(
            deconv(N, M), nn.ReLU(inplace=True),
            conv(M, M, kernel_size=3, stride=1), nn.ReLU(inplace=True),
            conv(M, M * 2, kernel_size=1, stride=1),
        )  # fmt: skip
        self.log_gain = nn.Parameter(torch.zeros(levels, M))
        self.log_inv_gain = nn.Parameter(torch.zeros(levels, M))
        self.entropy_bottleneck = EntropyBottleneck(N)
        self.gaussian_conditional = GaussianConditional(None)
        self._exact_h_s: ExactHyperSynthesis | None = None
        self._tables: tuple[CdfTable, CdfTable] | None = None

    def analysis(self, x: torch.Tensor) -> torch.Tensor:
        """The analysis transform ``y = g_a(x)`` (before the gain)."""
        return self.g_a(x)

    # -- gains ---------------------------------------------------------------
    def gains(self, quality: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-sample (gain, inverse gain), shape (B, M, 1, 1), for qualities (B,).

        A quality between two integers interpolates the neighbouring gain
        vectors geometrically (linearly in the log domain).
        """
        pos = (quality.clamp(QUALITY_MIN, QUALITY_MAX) - QUALITY_MIN) * (
            (self.levels - 1) / (QUALITY_MAX - QUALITY_MIN)
        )
        lo = pos.floor().long().clamp(max=self.levels - 2)
        t = (pos - lo.to(pos.dtype)).unsqueeze(1)

        def interp(table: torch.Tensor) -> torch.Tensor:
            value = table[lo] * (1 - t) + table[lo + 1] * t
            return torch.exp(value)[:, :, None, None]

        return interp(self.log_gain), interp(self.log_inv_gain)

    # -- training forward ----------------------------------------------------
    def forward(self, x: torch.Tensor, quality: torch.Tensor) -> dict[str, torch.Tensor]:
        """Noisy-quantisation forward pass for training.

        Returns ``x_hat``, ``y_hat`` (the decoder-side latent) and the
        likelihoods of ``y`` and ``z`` for the rate term.
        """
        gain, inv_gain = self.gains(quality)
        y = self.analysis(x).float() * gain
        z = self.h_a(y).float()
        # the entropy models always run in float32, also under autocast (mixed precision)
        with torch.autocast(x.device.type, enabled=False):
            z_hat, z_likelihoods = self.entropy_bottleneck(z)
        scales, means = self.h_s(z_hat).float().chunk(2, dim=1)
        with torch.autocast(x.device.type, enabled=False):
            _, y_likelihoods = self.gaussian_conditional(y, scales, means=means)
        # straight-through rounding for the synthesis input, noise for the rate
        y_q = y - means
        y_q = y_q + (torch.round(y_q) - y_q).detach() + means
        y_hat = y_q * inv_gain
        x_hat = self.g_s(y_hat).float()
        return {
            "x_hat": x_hat,
            "y_hat": y_hat,
            "likelihoods_y": y_likelihoods,
            "likelihoods_z": z_likelihoods,
        }

    @torch.no_grad()
    def latent(self, x: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
        """The decoder-side latent ``y_hat`` with hard rounding, as decoding yields it.

        For training latent-domain heads: float arithmetic throughout (not the
        exact integer path of :meth:`compress`), so it may differ from the
        decoded latent by a rare rounding flip.
        """
        return self.quantized_latent(self.analysis(x), quality)

    @torch.no_grad()
    def quantized_latent(self, y: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
        """:meth:`latent` from the analysis output ``y = analysis(x)``: one analysis serves many qualities."""
        gain, inv_gain = self.gains(quality)
        y = y * gain
        z = self.h_a(y)
        medians = self.entropy_bottleneck._get_medians().view(1, -1, 1, 1)
        z_hat = torch.round(z - medians) + medians
        _, means = self.h_s(z_hat).chunk(2, dim=1)
        return (torch.round(y - means) + means) * inv_gain

    # -- coding --------------------------------------------------------------
    def update(self, scale_table=None, force: bool = False, update_quantiles: bool = False) -> bool:
        updated = super().update(
            scale_table=SCALE_TABLE if scale_table is None else scale_table,
            force=force,
            update_quantiles=update_quantiles,
        )
        self._exact_h_s = None
        self._tables = None
        return updated

    def _prepared(self) -> tuple[ExactHyperSynthesis, CdfTable, CdfTable]:
        if self._exact_h_s is None:
            self._exact_h_s = ExactHyperSynthesis(self.h_s)
        if self._tables is None:
            self._tables = (
                CdfTable.from_entropy_model(self.entropy_bottleneck),
                CdfTable.from_entropy_model(self.gaussian_conditional),
            )
        return self._exact_h_s, self._tables[0], self._tables[1]

    def _y_indexes(self, scales: torch.Tensor) -> torch.Tensor:
        # CompressAI's build_indexes: the number of table entries (bar the last)
        # strictly below the scale. Exact: scales and table are float64 here.
        table = self.gaussian_conditional.scale_table.double().cpu()
        scales = scales.clamp(min=float(table[0])).contiguous()
        return torch.searchsorted(table[:-1], scales, side="left").int()

    def _z_indexes(self, shape: torch.Size) -> torch.Tensor:
        channels = torch.arange(shape[1], dtype=torch.int32).view(1, -1, 1, 1)
        return channels.expand(shape).contiguous()

    @torch.no_grad()
    def compress(self, x: torch.Tensor, quality: torch.Tensor) -> list[CompressedFace]:
        """Encode a padded batch (B, C, H, W) in [0, 1], H and W multiples of 16, each
        face as one rANS stream holding z then y (``.ffc`` format 2)."""
        exact_h_s, z_table, y_table = self._prepared()
        gain, _ = self.gains(quality.to(x.device, x.dtype))
        y = chunked(self.analysis, x) * gain
        z = chunked(self.h_a, y).cpu()
        y = y.cpu()
        medians = self.entropy_bottleneck._get_medians().detach().cpu().view(1, -1, 1, 1)
        z_symbols = torch.round(z - medians).int()
        z_hat = z_symbols.float() + medians
        scales, means = exact_h_s(z_hat)
        y_symbols = torch.round(y.double() - means).int()
        y_indexes = self._y_indexes(scales)
        z_indexes = self._z_indexes(z_symbols.shape)
        out = []
        for i in range(x.shape[0]):
            stream = encode_joint([(z_table, z_symbols[i], z_indexes[i]), (y_table, y_symbols[i], y_indexes[i])])
            out.append(CompressedFace((stream,), latent_height=y.shape[2], latent_width=y.shape[3]))
        return out

    @torch.no_grad()
    def entropy_decode(self, faces: list[CompressedFace]) -> tuple[torch.Tensor, torch.Tensor]:
        """The integer ``y`` symbols (B, M, h, w) and their exact means, on the CPU.

        Everything here is exact (integers, and dyadic float64 means from the
        fixed-point ``h_s``), so it is the same on every machine: the part of
        decoding the file format pins down (tests/test_golden_files.py).
        """
        _, y_symbols, _, means = self._symbols(faces)
        return y_symbols, means

    @torch.no_grad()
    def restream(self, faces: list[CompressedFace]) -> list[CompressedFace]:
        """The same symbols in format 2's single stream: lossless, the files decode to the same pixels."""
        z_symbols, y_symbols, y_indexes, _ = self._symbols(faces)
        _, z_table, y_table = self._prepared()
        z_indexes = self._z_indexes(z_symbols.shape)[0]
        out = []
        for i, face in enumerate(faces):
            stream = encode_joint([(z_table, z_symbols[i], z_indexes), (y_table, y_symbols[i], y_indexes[i])])
            out.append(CompressedFace((stream,), face.latent_height, face.latent_width))
        return out

    def _symbols(self, faces: list[CompressedFace]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Entropy-decode same-shape faces: z symbols, y symbols, y's CDF indexes and means."""
        exact_h_s, z_table, y_table = self._prepared()
        h, w = faces[0].latent_height, faces[0].latent_width
        z_shape = torch.Size((1, self.N, math.ceil(h / 2), math.ceil(w / 2)))
        z_indexes = self._z_indexes(z_shape)[0]
        medians = self.entropy_bottleneck._get_medians().detach().cpu().view(1, -1, 1, 1)
        z_count, y_count = z_indexes.numel(), self.M * h * w
        z_readers, y_readers = [], []
        for face in faces:
            if len(face.streams) == 1:  # format 2: y continues the z stream, compact state
                reader = StreamReader(face.streams[0], z_count + y_count)
                z_readers.append(reader)
                y_readers.append(reader)
            else:
                z_readers.append(StreamReader(face.streams[0], z_count, compact=False))
                y_readers.append(StreamReader(face.streams[1], y_count, compact=False))
        z_symbols = z_table.read_shared(z_readers, z_indexes)
        scales, means = exact_h_s(z_symbols.float() + medians)
        y_indexes = self._y_indexes(scales)
        y_symbols = y_table.read_batch(y_readers, y_indexes)
        return z_symbols, y_symbols, y_indexes, means

    @torch.no_grad()
    def decompress_latent(self, faces: list[CompressedFace], quality: torch.Tensor) -> torch.Tensor:
        """Entropy-decode a batch of same-shape faces to ``y_hat`` (B, M, h, w), on the CPU."""
        y_symbols, means = self.entropy_decode(faces)
        _, inv_gain = self.gains(quality.to(self.log_gain.device).double())
        return ((y_symbols.double() + means) * inv_gain.cpu()).float()

    @torch.no_grad()
    def decompress(
        self, faces: list[CompressedFace], quality: torch.Tensor, device: torch.device | str = "cpu"
    ) -> torch.Tensor:
        """Decode a batch of same-shape faces to padded images (B, C, H, W) in [0, 1]."""
        y_hat = self.decompress_latent(faces, quality).to(device)
        return self.synthesize(y_hat)

    @torch.no_grad()
    def synthesize(self, y_hat: torch.Tensor) -> torch.Tensor:
        """``g_s`` over fixed-size chunks (see ``CHUNK``), clamped to [0, 1]."""
        return chunked(self.g_s, y_hat).clamp_(0, 1)


def chunked(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """``fn`` over zero-padded chunks of exactly ``CHUNK`` samples (see ``CHUNK``)."""
    n = x.shape[0]
    pad = (-n) % CHUNK
    if pad:
        x = torch.cat([x, x.new_zeros(pad, *x.shape[1:])])
    return torch.cat([fn(c) for c in x.split(CHUNK)])[:n]
