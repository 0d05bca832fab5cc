"""A face codec whose encoder is told what an expression classifier sees.

The analysis transform ``g_a`` of :class:`~.hyperprior.FaceHyperprior` is four
small convolutions: too weak to find, at low rates, the few cues a
facial-expression classifier needs (a joint fine-tune with a large
expression weight bought bits, not accuracy). Here the encoder also runs the
first three stages of a trained expression classifier (:class:`~.classifier.FerNet`,
frozen) and adds a learned 1×1 projection of that feature map to ``y``; both
maps are 1/8 of the input size (6×6 for a 48×48 face)::

    x --g_a------------------------------+--> y -> (gain, h_a, entropy coding, g_s as FaceHyperprior)
    x --FerNet stages 1-3 (frozen)--1×1--+

Only the encoder changes: the decoder reads ``y`` symbols and runs ``g_s`` as
before, so decoding costs the same and needs no classifier, and the file
format is unchanged. The projection starts at zero, so the model starts out
exactly as the plain hyperprior it was initialised from (a training start:
:mod:`facecodec.train.warm_start`); training (rate +
distortion + expression cross-entropy + agreement with the classifier's
reading of the original, :mod:`facecodec.train.task_loss`) then decides how
much of the classifier's view is worth its bits (the projection gets its own
learning-rate multiplier, ``--guide-lr-scale``, to grow from zero). Encoding
costs one pass of the classifier's first three stages more.

In the spirit of task-driven coding (Chen & He, LFIC, arXiv 1812.10067; Li
et al., ICIP 2025, arXiv 2509.17262), with the task network inside the
encoder rather than only in the loss.
"""

from __future__ import annotations

import torch
from torch import nn

from .classifier import FerNet
from .hyperprior import FaceHyperprior


class GuidedFaceHyperprior(FaceHyperprior):
    """:class:`FaceHyperprior` with a frozen classifier trunk feeding ``g_a``'s output.

    Args:
        guide_width: ``width`` of the :class:`FerNet` whose first three stages
            guide the encoder (their output has ``4·guide_width`` channels).
        Other arguments as :class:`FaceHyperprior`.
    """

    def __init__(
        self, in_channels: int = 1, N: int = 64, M: int = 96, levels: int = 8, guide_width: int = 32
    ) -> None:
        super().__init__(in_channels=in_channels, N=N, M=M, levels=levels)
        net = FerNet(in_channels=in_channels, width=guide_width)
        self.guide = nn.Sequential(*list(net.body)[: net.split_index()])
        self.guide_proj = nn.Conv2d(4 * guide_width, M, kernel_size=1)
        nn.init.zeros_(self.guide_proj.weight)
        nn.init.zeros_(self.guide_proj.bias)
        for p in self.guide.parameters():
            p.requires_grad_(False)  # trained weights come from a classifier (facecodec.train.warm_start)

    def analysis(self, x: torch.Tensor) -> torch.Tensor:
        """``g_a(x)`` plus the projected classifier map (same size: inputs are multiples of 8)."""
        with torch.no_grad():
            seen = self.guide((x - 0.5) / 0.25)  # FerNet's input normalisation
        return self.g_a(x) + self.guide_proj(seen)

    def train(self, mode: bool = True) -> GuidedFaceHyperprior:
        super().train(mode)
        self.guide.eval()  # frozen: BatchNorm keeps the classifier's statistics
        return self
