"""An expression-only tier below quality 1: files that carry the expression code and nothing else.

:class:`~.semantic.SemanticFaceHyperprior` (face-fer-v3, -v4) sends, at every
quality, a hyper-latent ``z`` (about 50 bits for a 48×48 face), the image
latent (≥ 90 bits at quality 1) and a 2×6×6 expression code (about 60 bits).
The code alone is what its latent head reads at 67 %, and what its decoder
draws the expression from. Below quality 1 this model sends *only the code*:
no ``z``, no image latent. The code is coded under a learned fixed prior (one
mean and one scale per code value, no side information) after a gain that
falls with the quality, so the tier trades expression fidelity for bits down
to files of about 20 bytes (header and CRC included).

The parent's synthesis ``g_s`` cannot draw a face from the code alone (with
its image channels held constant it renders the code as texture that only
its own classifier reads), so the tier has its own: a small MLP from the 72
code values to a 48×48 face (plus a learned mean face), trained mostly for
pixel fidelity. What it draws is the average face that goes with the code:
pose, lighting and above all the expression, not the person. The base layer
of H. Choi and I. V. Bajić ("Scalable Image Coding for Humans and Machines",
IEEE TIP 2022) on its own::

    quality >= 1:  as SemanticFaceHyperprior (z, then y = [image, code], one rANS stream)

    quality <  1:  x --classifier (frozen)--sem_proj--> s (K×6×6) --* gain_t(q)--> -mean -Q--> rANS
                                                                 (fixed prior: mean, scale per value)
                   s_hat = (symbols + mean) / gain_t(q) --MLP + mean face--> 48×48 --resize--> x_hat
                   y_hat = [0 (M×6×6), s_hat] --> latent head --> 7 logits

Everything at quality >= 1 is the parent's, bit for bit: a model initialised
from face-fer-v4 writes face-fer-v4's files there. Only the tier's own
parameters (two gain vectors per direction, the prior, the tier's decoder)
are trained for it (``facecodec train tier``), against a frozen classifier:
the standalone mode of Li et al. (ICIP 2025). The ``.ffc`` layout is
unchanged; the quality in the header tells a reader which tier the stream is.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .entropy_coding import StreamReader, encode_joint
from .hyperprior import LATENT_STRIDE, CompressedFace, chunked
from .latent_classifier import CODE_SIZE
from .semantic import SemanticFaceHyperprior

#: the tier's own parameters: what ``facecodec train tier`` trains, and what a
#: parent's weights lack (they start from the parent's code gain, see ``load_state_dict``)
TIER_PREFIX = "tier_"
#: side of the face the tier's decoder draws (resized to the image's padded size)
TIER_FACE = 48


class ExpressionTierHyperprior(SemanticFaceHyperprior):
    """:class:`SemanticFaceHyperprior` with an expression-only tier for qualities in
    ``[tier_min, 1)``.

    Args:
        tier_min: the lowest quality (its file stores ``round(16 × quality)``).
        tier_hidden: hidden units of the tier's decoder.
        Other arguments as :class:`SemanticFaceHyperprior`.
    """

    def __init__(self, *args: Any, tier_min: float = 0.25, tier_hidden: int = 256, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not 0 < tier_min < 1:
            raise ValueError(f"tier_min must lie in (0, 1), got {tier_min}")
        self.quality_min = float(tier_min)
        k = self.sem_channels
        # log gain and log inverse gain of the code at tier_min (row 0) and just below 1 (row 1)
        self.tier_log_gain = nn.Parameter(torch.full((2, k), 1.4))
        self.tier_log_inv_gain = nn.Parameter(torch.full((2, k), -1.4))
        self.tier_means = nn.Parameter(torch.zeros(k, CODE_SIZE, CODE_SIZE))
        self.tier_log_scales = nn.Parameter(torch.zeros(k, CODE_SIZE, CODE_SIZE))
        in_channels = self.g_s[-1].out_channels
        self.tier_decoder = nn.Sequential(
            nn.Linear(k * CODE_SIZE * CODE_SIZE, tier_hidden), nn.ReLU(inplace=True),
            nn.Linear(tier_hidden, in_channels * TIER_FACE * TIER_FACE),
        )  # fmt: skip
        nn.init.zeros_(self.tier_decoder[-1].weight)
        nn.init.zeros_(self.tier_decoder[-1].bias)
        self.tier_face = nn.Parameter(torch.full((in_channels, TIER_FACE, TIER_FACE), 0.5))
        # the prior's CDF rows, fixed at export (update(force=True)) so decoding never recomputes them
        self.register_buffer("tier_scale_index", torch.full((k, CODE_SIZE, CODE_SIZE), -1, dtype=torch.int32))

    # -- the tier's pieces ---------------------------------------------------
    @staticmethod
    def in_tier(quality: torch.Tensor) -> torch.Tensor:
        """Which qualities (B,) are coded as expression code only."""
        return quality < 1.0

    def tier_gains(self, quality: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The code's (gain, inverse gain) (B, K, 1, 1) for tier qualities, log-linear in quality."""
        t = ((quality - self.quality_min) / (1.0 - self.quality_min)).clamp(0, 1).unsqueeze(1)

        def interp(table: torch.Tensor) -> torch.Tensor:
            table = table.to(quality.dtype)
            return torch.exp(table[0] * (1 - t) + table[1] * t)[:, :, None, None]

        return interp(self.tier_log_gain), interp(self.tier_log_inv_gain)

    def _tier_field(self, value: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """A 6×6 tier parameter as a (1, C, h, w) map for a latent of another size."""
        value = value.unsqueeze(0)
        return value if tuple(value.shape[-2:]) == size else F.interpolate(value, size=size, mode="nearest")

    def expression_code(self, x: torch.Tensor) -> torch.Tensor:
        """The code ``s`` (B, K, h, w) before any gain (the image transform is not run)."""
        _, pooled = self._guide_view(x)
        size = (-(-x.shape[-2] // LATENT_STRIDE), -(-x.shape[-1] // LATENT_STRIDE))  # rounded up
        return self._code(pooled, size)

    def tier_latent(self, code_hat: torch.Tensor) -> torch.Tensor:
        """``y_hat`` of a tier file, for latent heads: zero image channels beside the decoded code."""
        image = code_hat.new_zeros((len(code_hat), self.image_channels, *code_hat.shape[-2:]))
        return torch.cat([image, code_hat], dim=1)

    def tier_synthesis(self, code_hat: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """The tier's face (B, C, *size) from the decoded code (B, K, h, w), unclamped."""
        code = code_hat if tuple(code_hat.shape[-2:]) == (CODE_SIZE, CODE_SIZE) else F.adaptive_avg_pool2d(code_hat, CODE_SIZE)
        face = self.tier_decoder(code.flatten(1)).view(len(code), *self.tier_face.shape) + self.tier_face
        return face if tuple(face.shape[-2:]) == size else F.interpolate(face, size=size, mode="bilinear", align_corners=False)

    # -- training forward ----------------------------------------------------
    def tier_forward(self, x: torch.Tensor, quality: torch.Tensor) -> dict[str, torch.Tensor]:
        """Noisy-quantisation forward of the tier (every ``quality`` below 1), as ``forward``'s keys."""
        code = self.expression_code(x).float()
        pooled = self._guide_pooled
        gain, inv_gain = self.tier_gains(quality)
        y = code * gain
        size = tuple(y.shape[-2:])
        means = self._tier_field(self.tier_means, size).expand_as(y)
        scales = torch.exp(self._tier_field(self.tier_log_scales, size)).expand_as(y)
        with torch.autocast(x.device.type, enabled=False):
            _, likelihoods = self.gaussian_conditional(y, scales, means=means)
        y_q = y - means
        y_q = y_q + (torch.round(y_q) - y_q).detach() + means
        code_hat = y_q * inv_gain
        y_hat = self.tier_latent(code_hat)
        out = {
            "x_hat": self.tier_synthesis(code_hat, tuple(x.shape[-2:])),
            "y_hat": y_hat,
            "likelihoods_y": likelihoods,
            "likelihoods_z": likelihoods.new_ones(len(x), 1),
            "sem_logits": self.sem_head(y_hat),
        }
        if pooled is not None:
            with torch.no_grad():
                out["guide_logits"] = self.guide_fc(pooled)
        return out

    def forward(self, x: torch.Tensor, quality: torch.Tensor) -> dict[str, torch.Tensor]:
        """The parent's training forward from quality 1 up, :meth:`tier_forward` below it
        (a batch is one or the other: their outputs differ in kind)."""
        tier = self.in_tier(quality)
        if bool(tier.all()):
            return self.tier_forward(x, quality)
        if bool(tier.any()):
            raise ValueError("a training batch mixes qualities below and from 1: run the tiers apart")
        return super().forward(x, quality)

    # -- coding --------------------------------------------------------------
    def update(self, scale_table=None, force: bool = False, update_quantiles: bool = False) -> bool:
        updated = super().update(scale_table=scale_table, force=force, update_quantiles=update_quantiles)
        if force or bool((self.tier_scale_index < 0).any()):
            scales = torch.exp(self.tier_log_scales.detach().double().cpu())
            self.tier_scale_index.copy_(self._y_indexes(scales))
            updated = True
        return updated

    def _tier_prior(self, h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The fixed prior's means (float64) and CDF rows (int32), (K, h, w), on the CPU."""
        means = self._tier_field(self.tier_means.detach().double().cpu(), (h, w))[0]
        index = self._tier_field(self.tier_scale_index.cpu().double(), (h, w))[0].int()
        return means, index

    @torch.no_grad()
    def compress(self, x: torch.Tensor, quality: torch.Tensor) -> list[CompressedFace]:
        """As the parent's at quality >= 1; below 1, one rANS stream of the code's symbols."""
        tier = self.in_tier(quality.cpu())
        if not bool(tier.any()):
            return super().compress(x, quality)
        out: list[CompressedFace | None] = [None] * len(x)
        rest = (~tier).nonzero().flatten()
        if len(rest):
            for i, face in zip(rest.tolist(), super().compress(x[rest], quality[rest])):
                out[i] = face
        picked = tier.nonzero().flatten()
        _, _, y_table = self._prepared()
        gain, _ = self.tier_gains(quality[picked].to(x.device, x.dtype))
        y = (chunked(self.expression_code, x[picked.to(x.device)]) * gain).cpu()
        means, index = self._tier_prior(y.shape[2], y.shape[3])
        symbols = torch.round(y.double() - means).int()
        for j, i in enumerate(picked.tolist()):
            stream = encode_joint([(y_table, symbols[j], index)])
            out[i] = CompressedFace((stream,), latent_height=y.shape[2], latent_width=y.shape[3])
        return out  # type: ignore[return-value]

    @torch.no_grad()
    def decompress_latent(self, faces: list[CompressedFace], quality: torch.Tensor) -> torch.Tensor:
        """As the parent's at quality >= 1; below 1, the code under the fixed prior and the image constant."""
        tier = self.in_tier(quality.cpu())
        if not bool(tier.any()):
            return super().decompress_latent(faces, quality)
        h, w = faces[0].latent_height, faces[0].latent_width
        y_hat = torch.empty((len(faces), self.M, h, w))
        rest = (~tier).nonzero().flatten().tolist()
        if rest:
            y_hat[rest] = super().decompress_latent([faces[i] for i in rest], quality[rest])
        picked = tier.nonzero().flatten().tolist()
        _, _, y_table = self._prepared()
        means, index = self._tier_prior(h, w)
        readers = [StreamReader(faces[i].streams[0], index.numel()) for i in picked]
        symbols = y_table.read_batch(readers, index.expand(len(picked), -1, -1, -1).contiguous())
        _, inv_gain = self.tier_gains(quality[picked].to(self.tier_log_inv_gain.device).double())
        code_hat = ((symbols.double() + means) * inv_gain.cpu()).float()
        y_hat[picked] = self.tier_latent(code_hat)
        return y_hat

    @torch.no_grad()
    def decompress(
        self, faces: list[CompressedFace], quality: torch.Tensor, device: torch.device | str = "cpu"
    ) -> torch.Tensor:
        """As the parent's at quality >= 1; below 1, the tier's decoder draws the face from the code."""
        y_hat = self.decompress_latent(faces, quality).to(device)
        tier = self.in_tier(quality.cpu())
        if not bool(tier.any()):
            return self.synthesize(y_hat)
        h, w = faces[0].latent_height * 8, faces[0].latent_width * 8  # the padded image
        out = torch.empty((len(faces), self.tier_face.shape[0], h, w), device=y_hat.device)
        rest, picked = (~tier).nonzero().flatten().tolist(), tier.nonzero().flatten().tolist()
        if rest:
            out[rest] = self.synthesize(y_hat[rest])
        out[picked] = chunked(
            lambda c: self.tier_synthesis(c, (h, w)), y_hat[picked, self.image_channels :]
        ).clamp_(0, 1)
        return out

    # -- weights -------------------------------------------------------------
    def load_state_dict(self, state: Any, strict: bool = True) -> Any:
        """Also takes the parent's weights (no tier): the tier starts from the parent's
        code gain, a unit-scale zero-mean prior and a decoder that draws flat grey."""
        state = dict(state)
        if strict and not any(k.startswith(TIER_PREFIX) for k in state):
            own = {k: v.detach().clone() for k, v in self.state_dict().items() if k.startswith(TIER_PREFIX)}
            if "sem_log_gain" in state:
                gain = state["sem_log_gain"].detach().float()
                own["tier_log_gain"] = gain.expand(2, -1).clone()
                own["tier_log_inv_gain"] = -gain.expand(2, -1).clone()
            own["tier_scale_index"].fill_(-1)
            state.update(own)
        return super().load_state_dict(state, strict=strict)
