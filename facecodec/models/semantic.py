"""A face codec whose latent also carries a small expression code (a "base layer").

:class:`~.guided.GuidedFaceHyperprior` lets the encoder see what an expression
classifier sees, but everything it passes on still shares the image latent's
quantiser: at low qualities the gain is small and the classifier's view is
rounded away with the pixels (face-fer-v2 reads 51 % at q1 against 67 % on
originals). Here the encoder runs the whole frozen classifier and sends, next
to the image latent, ``K`` extra latent channels ``s`` computed from its pooled
penultimate features: an *expression code* with its own quality-independent
gain, so it is the same at every quality. The decoder's ``g_s`` reads ``s`` with
the image channels (so decoded faces can show the expression at any rate), and
a tiny head reads ``ŝ`` straight from the entropy-decoded latent: expression
recognition without pixels (Torfason et al., ICLR 2018) on a latent built for
it (H. Choi and I. V. Bajić, "Scalable Image Coding for Humans and Machines",
IEEE TIP 2022: a base layer for the machine task, the rest for people)::

    x --g_a------------------------------+--> y_img (M×6×6) --* gain(q)--+
    x --FerNet stages 1-3 (frozen)--1×1--+                               +-> y (M+K channels)
             `--stage 4, pool (frozen)--linear--> s (K×6×6) --* gain_s---+     |
                                                                               v
                       h_a / z / exact h_s / rANS: as FaceHyperprior, over all M+K channels
                                                                               v
                                               y_hat = [y_img_hat, s_hat] --> g_s --> x_hat
                                                                   `--> SemanticLatentHead --> 7 logits

The file format is unchanged (``s`` is part of the ``y`` stream). Training adds
``w_s·KL(p_guide(x) ‖ p_head(ŝ))`` (``--semantic-weight``) to the joint loss,
so the code carries what the guide classifier reads on the original face; its
bits are paid in the rate term like any other. Training starts it from the weights of a
:class:`~.guided.GuidedFaceHyperprior` (or a plain :class:`~.hyperprior.FaceHyperprior`,
:mod:`facecodec.train.warm_start`): the new inputs and outputs of ``g_s``, ``h_a`` and ``h_s``
start at zero, so the image part starts out decoding exactly as the codec it came from.
The code's spatial layout is 6×6 (a 48×48 face); other sizes get it resized.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from compressai.models.utils import conv
from torch import nn

from .classifier import FerNet
from .guided import GuidedFaceHyperprior
from .latent_classifier import CODE_SIZE, SemanticLatentHead


class SemanticFaceHyperprior(GuidedFaceHyperprior):
    """:class:`GuidedFaceHyperprior` plus a ``sem_channels``-channel expression code in ``y``.

    Args:
        M: channels of the image part of the latent (``y`` has ``M + sem_channels``).
        sem_channels: ``K``, channels of the expression code.
        sem_hidden: hidden units of the code's classifier head.
        Other arguments as :class:`GuidedFaceHyperprior`.
    """

    def __init__(
        self, in_channels: int = 1, N: int = 64, M: int = 96, levels: int = 8, guide_width: int = 32,
        sem_channels: int = 2, sem_hidden: int = 128, num_classes: int = 7,
    ) -> None:  # fmt: skip
        super().__init__(in_channels=in_channels, N=N, M=M + sem_channels, levels=levels, guide_width=guide_width)
        self.image_channels, self.sem_channels = M, sem_channels
        # the image part is the parent's, M channels wide; the code is added beside it
        self.g_a[-1] = conv(N, M, kernel_size=3, stride=1)
        self.guide_proj = nn.Conv2d(4 * guide_width, M, kernel_size=1)
        nn.init.zeros_(self.guide_proj.weight)
        nn.init.zeros_(self.guide_proj.bias)
        self.log_gain = nn.Parameter(torch.zeros(levels, M))
        self.log_inv_gain = nn.Parameter(torch.zeros(levels, M))
        net = FerNet(in_channels=in_channels, width=guide_width, num_classes=num_classes)
        self.guide_tail = net.last_stage()
        self.guide_fc = net.head
        for p in [*self.guide_tail.parameters(), *self.guide_fc.parameters()]:
            p.requires_grad_(False)
        self.sem_proj = nn.Linear(8 * guide_width, sem_channels * CODE_SIZE * CODE_SIZE)
        # the code's gain: one per channel, the same at every quality
        self.sem_log_gain = nn.Parameter(torch.full((sem_channels,), 1.4))
        self.sem_head = SemanticLatentHead(M + sem_channels, sem_channels, sem_hidden, num_classes)
        self._guide_pooled: torch.Tensor | None = None

    # -- encoder -------------------------------------------------------------
    def analysis(self, x: torch.Tensor) -> torch.Tensor:
        """``[g_a(x) + projected classifier map, expression code]`` (before the gains)."""
        seen, pooled = self._guide_view(x)
        image = self.g_a(x) + self.guide_proj(seen)
        return torch.cat([image, self._code(pooled, tuple(image.shape[-2:]))], dim=1)

    def _guide_view(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The frozen classifier's stage-3 map and pooled last-stage features (kept as the
        training forward's target)."""
        with torch.no_grad():
            seen = self.guide((x - 0.5) / 0.25)  # FerNet's input normalisation
            pooled = self.guide_tail(seen).mean(dim=(2, 3))
        self._guide_pooled = pooled if self.training else None
        return seen, pooled

    def _code(self, pooled: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """The expression code (B, K, h, w) from the pooled features, before its gain."""
        code = self.sem_proj(pooled).view(-1, self.sem_channels, CODE_SIZE, CODE_SIZE)
        # unconditional (nearest to the same size is the identity), so that an exported
        # graph resizes the code for every input size
        return F.interpolate(code, size=size, mode="nearest")

    def gains(self, quality: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The image channels' gains (per quality) followed by the code's (the same at every quality)."""
        gain, inv_gain = super().gains(quality)
        code = torch.exp(self.sem_log_gain).to(gain.dtype).view(1, -1, 1, 1).expand(len(gain), -1, 1, 1)
        return torch.cat([gain, code], dim=1), torch.cat([inv_gain, 1 / code], dim=1)

    def forward(self, x: torch.Tensor, quality: torch.Tensor) -> dict[str, torch.Tensor]:
        """As :class:`FaceHyperprior`, plus ``sem_logits`` (the head on ``ŝ``) and
        ``guide_logits`` (the frozen classifier on ``x``, the head's target)."""
        out = super().forward(x, quality)
        out["sem_logits"] = self.sem_head(out["y_hat"])
        if self._guide_pooled is not None:
            with torch.no_grad():
                out["guide_logits"] = self.guide_fc(self._guide_pooled)
        return out

    # -- modes -----------------------------------------------------------------
    def train(self, mode: bool = True) -> SemanticFaceHyperprior:
        super().train(mode)
        self.guide_tail.eval()
        return self
