"""Expression classifier on the decoded latent ``y_hat``: no pixel synthesis.

After R. Torfason et al., "Towards Image Understanding from Deep Compression
without Decoding" (ICLR 2018): a ``.ffc`` file is entropy-decoded to ``y_hat``
(the input of the codec's synthesis transform ``g_s``) and classified from
there, skipping ``g_s`` and the pixel classifier.

Data flow for a 48×48 face (``M`` latent channels, 6×6 positions)::

    y_hat (M×6×6) -> conv1x1-bn-relu -> [conv3x3-bn-relu] × blocks (residual)
      -> adaptive average pool to pool×pool (keeps where on the face: eyes / mouth)
      -> flatten -> dropout -> [linear-relu-dropout (hidden)] -> linear -> 7 logits

fer-latent-v1: width 192, 3 blocks, 2×2 pool, no hidden layer.
fer-latent-v2: width 192, 2 blocks, 6×6 "pool" (every latent position keeps
its own weights: faces are aligned crops), a 256-unit hidden layer.
fer-latent-v3: as v2, plus the file's quality as one more input plane
(``(q − 4.5) / 3.5``; the quality is in every ``.ffc`` header), dropout 0.1.

fer-latent-v5 (:class:`LatentTailNet`): a small adapter turns ``y_hat`` into
the feature map a pixel classifier (:class:`~.classifier.FerNet`) has after its
third pooling, and that classifier's last stage (initialised from it) finishes
the job. Trained to match the teacher's map of the same face as well as its
prediction: the head skips ``g_s`` and the classifier's three full-resolution
stages, the bulk of decode-then-classify's work::

    y_hat (M×6×6) ⊕ quality plane -> conv1x1-bn-relu -> [conv3x3-bn-relu] × blocks (residual)
      -> conv1x1-bn-relu (C3×6×6, "stage map", matched to the teacher's)
      -> teacher's last stage [conv3x3-bn-relu ×2] -> global average pool -> dropout -> linear

Works for any latent size ≥ 2×2 (any input size); trained on 48×48 faces.
A head belongs to one codec (``ModelSpec.codec``): its latent space.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..quality import QUALITY_MAX, QUALITY_MIN
from .classifier import FerNet

#: the expression code's layout (:class:`SemanticLatentHead`): CODE_SIZE × CODE_SIZE, the latent of a 48×48 face
CODE_SIZE = 6


def _conv_bn(cin: int, cout: int, k: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, padding=k // 2, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


def _with_quality_plane(y_hat: torch.Tensor, quality: torch.Tensor | None) -> torch.Tensor:
    """``y_hat`` plus one constant plane per sample: its quality mapped to [-1, 1]."""
    if quality is None:
        raise ValueError("this head needs the files' quality")
    b, _, h, w = y_hat.shape
    mid, half = (QUALITY_MAX + QUALITY_MIN) / 2, (QUALITY_MAX - QUALITY_MIN) / 2
    plane = ((quality.to(y_hat) - mid) / half).view(b, 1, 1, 1).expand(b, 1, h, w)
    return torch.cat([y_hat, plane], dim=1)


class LatentFerNet(nn.Module):
    """Expression head over ``y_hat`` (B, M, h, w)."""

    def __init__(
        self,
        latent_channels: int = 96,
        width: int = 192,
        num_classes: int = 7,
        dropout: float = 0.3,
        blocks: int = 3,
        pool: int = 2,
        hidden: int = 0,
        quality_input: bool = False,
    ) -> None:
        super().__init__()
        self.quality_input = quality_input
        self.stem = _conv_bn(latent_channels + int(quality_input), width, 1)
        self.blocks = nn.ModuleList([_conv_bn(width, width, 3) for _ in range(blocks)])
        self.pool = nn.AdaptiveAvgPool2d(pool)
        self.dropout = nn.Dropout(dropout)
        features = pool * pool * width
        if hidden:
            self.head = nn.Sequential(
                nn.Linear(features, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(hidden, num_classes)
            )
        else:
            self.head = nn.Linear(features, num_classes)

    def features(self, y_hat: torch.Tensor, quality: torch.Tensor | None = None) -> torch.Tensor:
        if self.quality_input:
            y_hat = _with_quality_plane(y_hat, quality)
        h = self.stem(y_hat)
        for block in self.blocks:
            h = h + block(h)
        return self.pool(h).flatten(1)

    def forward(self, y_hat: torch.Tensor, quality: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (B, 7); ``quality`` (B,) is used by heads built with ``quality_input``."""
        return self.head(self.dropout(self.features(y_hat, quality)))


class LatentTailNet(nn.Module):
    """Adapter from ``y_hat`` (B, M, h, w) to a :class:`FerNet` stage map, then that classifier's last stage.

    ``stage_channels`` / ``out_channels`` are the teacher's 4·width / 8·width
    (128 / 256 for width 32). Always told the files' quality.
    """

    def __init__(
        self,
        latent_channels: int = 96,
        width: int = 128,
        blocks: int = 1,
        stage_channels: int = 128,
        out_channels: int = 256,
        num_classes: int = 7,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.stem = _conv_bn(latent_channels + 1, width, 1)
        self.blocks = nn.ModuleList([_conv_bn(width, width, 3) for _ in range(blocks)])
        self.to_stage = _conv_bn(width, stage_channels, 1)
        self.tail = nn.Sequential(*_conv_bn(stage_channels, out_channels, 3), *_conv_bn(out_channels, out_channels, 3))
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(out_channels, num_classes)

    def stage_map(self, y_hat: torch.Tensor, quality: torch.Tensor | None) -> torch.Tensor:
        """The adapter's estimate of the teacher's stage map (B, stage_channels, h, w)."""
        h = self.stem(_with_quality_plane(y_hat, quality))
        for block in self.blocks:
            h = h + block(h)
        return self.to_stage(h)

    def classify_map(self, stage_map: torch.Tensor) -> torch.Tensor:
        """Logits from a stage map (the teacher's last stage, fine-tuned)."""
        return self.head(self.dropout(self.tail(stage_map).mean(dim=(2, 3))))

    def forward(self, y_hat: torch.Tensor, quality: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (B, 7); ``quality`` (B,) is required."""
        return self.classify_map(self.stage_map(y_hat, quality))

    def init_from(self, classifier: FerNet) -> None:
        """Copy ``classifier``'s last stage and linear layer (an unfused :class:`FerNet` of matching widths)."""
        self.tail.load_state_dict(classifier.last_stage().state_dict())
        self.head.load_state_dict(classifier.head.state_dict())


class SemanticLatentHead(nn.Module):
    """Reads the expression code of a :class:`~.semantic.SemanticFaceHyperprior` latent.

    The code is the last ``sem_channels`` channels of ``y_hat`` (B, latent_channels, h, w),
    laid out 6×6 (averaged to 6×6 if the latent has another size); the rest of
    the latent is not looked at. Trained inside the codec's joint run (the
    codec's ``sem_head``) and exported from it: a few thousand multiply-adds
    a face, so the latent path costs about its entropy decoding::

        y_hat[:, -K:] (K×6×6) -> flatten -> linear-relu (hidden) -> linear -> 7 logits
    """

    def __init__(self, latent_channels: int = 98, sem_channels: int = 2, hidden: int = 128, num_classes: int = 7) -> None:
        super().__init__()
        self.latent_channels, self.sem_channels = latent_channels, sem_channels
        self.mlp = nn.Sequential(
            nn.Linear(sem_channels * CODE_SIZE * CODE_SIZE, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, num_classes)
        )

    def forward(self, y_hat: torch.Tensor, quality: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (B, 7); ``quality`` is not needed (the code is the same at every quality)."""
        if y_hat.shape[1] != self.latent_channels:
            raise ValueError(f"expected a {self.latent_channels}-channel latent, got {y_hat.shape[1]}")
        code = y_hat[:, -self.sem_channels :]
        if code.shape[-2:] != (CODE_SIZE, CODE_SIZE):
            code = F.adaptive_avg_pool2d(code, CODE_SIZE)
        return self.mlp(code.flatten(1))
