"""Variable-rate mean-scale hyperprior for small face crops.

Architecture after D. Minnen, J. Ballé, G. Toderici, "Joint Autoregressive and
Hierarchical Priors for Learned Image Compression" (NeurIPS 2018), the
mean-scale hyperprior without the context model (CompressAI ``mbt2018-mean``),
resized for 48×48 faces (8× downsampling, so a 48×48 face has a 6×6 latent),
with gain units for a continuous rate (Z. Cui et al., "Asymmetric Gained Deep
Image Compression With Continuous Rate Adaptation", CVPR 2021).

Data flow (``q`` = quality in [1, 8], ``Q`` = rounding, ``AE/AD`` = entropy coding)::

    x -> g_a -> y -> * gain(q) -> y_g --h_a--> z -Q-> z_hat -AE/AD-> z_hat
                                  |                        |
                                  |          exact h_s (fixed point, runtime.hyper)
                                  |                        v
                                  +--- -mean -Q-AE/AD- (scales, means)
                                                 |
                           y_hat = (symbols + means) / gain(q) -> g_s -> x_hat

Only ``z`` symbols and ``y`` symbols are stored; the entropy parameters are a
bit-exact function of the ``z`` symbols (see :mod:`facecodec.runtime.hyper`).

This module holds the model and its training forward pass. Coding files with it
goes through :func:`facecodec.models.torch_inference.torch_codec`, which runs
these transforms behind the same numpy coding as the lean runtime
(:mod:`facecodec.runtime.codec`).
"""

from __future__ import annotations

import torch
from compressai.entropy_models import EntropyBottleneck, GaussianConditional
from compressai.layers import GDN
from compressai.models.base import CompressionModel, get_scale_table
from compressai.models.utils import conv, deconv
from torch import nn

from ..quality import QUALITY_MAX, QUALITY_MIN
from ..runtime.codec import PAD_MULTIPLE

#: scales the Gaussian tables cover; larger scales fall back to the widest table
SCALE_TABLE = get_scale_table(0.11, 64, 48)


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

    # -- coding tables -------------------------------------------------------
    def update(self, scale_table=None, force: bool = False, update_quantiles: bool = False) -> bool:
        """Build the quantised CDF tables (shipped in the weights file) over :data:`SCALE_TABLE`."""
        return super().update(
            scale_table=SCALE_TABLE if scale_table is None else scale_table,
            force=force,
            update_quantiles=update_quantiles,
        )
