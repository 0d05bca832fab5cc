"""Expression recognizers of other architecture families, for the recognizer panel.

A codec trained against one classifier learns that classifier's quirks. The
panel (``facecodec.panel``) measures decoded faces with recognizers of several
families, trained on original faces only; some of them may enter a codec's
loss (the *training* panel), the others are only ever measured (*held out*).
Besides the VGG-style :class:`~facecodec.models.classifier.FerNet`, this module
holds four more families, each small enough to train on a CPU:

* :class:`ResFerNet` – ResNet-style (pre-activation basic blocks, strided stages)
* :class:`MobileFerNet` – MobileNetV2-style (inverted residuals, depthwise 3×3)
* :class:`InceptionFerNet` – GoogLeNet-style (parallel branches of 1×1, 3×3, double
  3×3 and pooling, concatenated) on the face resized to 56×56
* :class:`DenseFerNet` – DenseNet-style (concatenating dense blocks, transitions)

Every one takes float (B, 1, H, W) in [0, 1] (any size: resized to its own
input size) and returns logits (B, 7) in FER2013 order. Data flow, all of them::

    x -> resize to input size -> normalise -> family-specific trunk
      -> global average pool -> dropout -> linear -> 7 logits
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .classifier import stage_outputs


def _conv_bn(cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1, act: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]
    if act:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class _Recognizer(nn.Module):
    """Shared input handling and head: subclasses build ``self.trunk`` ending in ``width`` channels."""

    input_size = 48

    def __init__(self, width: int, num_classes: int, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(width, num_classes)

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        size = self.input_size
        if x.shape[-2:] != (size, size):  # antialiasing only where the face shrinks
            shrink = x.shape[-1] > size or x.shape[-2] > size
            x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=shrink, align_corners=False)
        return (x - 0.5) / 0.25

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled penultimate features."""
        return self.trunk(self._prepare(x)).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(x)))

    def maps_and_logits(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Each stage's feature map (:func:`~.classifier.stage_outputs`) and the logits, in one pass."""
        maps = stage_outputs(self.trunk, self._prepare(x))
        return maps, self.head(self.dropout(maps[-1].mean(dim=(2, 3))))


class _BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv_bn(cin, cout, 3, stride), _conv_bn(cout, cout, 3, act=False))
        self.skip = nn.Identity() if stride == 1 and cin == cout else _conv_bn(cin, cout, 1, stride, act=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + self.skip(x))


class ResFerNet(_Recognizer):
    """ResNet-style: a stem, then ``blocks`` basic blocks per stage at widths w, 2w, 4w, 8w
    (stride 2 between stages: 48 → 24 → 12 → 6)."""

    def __init__(self, width: int = 24, blocks: int = 1, num_classes: int = 7, dropout: float = 0.3) -> None:
        super().__init__(8 * width, num_classes, dropout)
        layers: list[nn.Module] = [_conv_bn(1, width)]
        cin = width
        for i, cout in enumerate((width, 2 * width, 4 * width, 8 * width)):
            for j in range(blocks):
                layers.append(_BasicBlock(cin, cout, 2 if (i > 0 and j == 0) else 1))
                cin = cout
        self.trunk = nn.Sequential(*layers)


class _InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = cin * expand
        self.body = nn.Sequential(
            _conv_bn(cin, mid, 1),
            _conv_bn(mid, mid, 3, stride, groups=mid),
            _conv_bn(mid, cout, 1, act=False),
        )
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.residual else y


class MobileFerNet(_Recognizer):
    """MobileNetV2-style: a strided stem, then inverted residual blocks (1×1 expand,
    depthwise 3×3, 1×1 project) at 24, 12 and 6 px."""

    #: (output channels as a multiple of ``width``, blocks, stride of the first)
    STAGES = ((2, 2, 1), (4, 3, 2), (6, 2, 1), (8, 2, 2))

    def __init__(self, width: int = 12, expand: int = 4, num_classes: int = 7, dropout: float = 0.3) -> None:
        last = 16 * width
        super().__init__(last, num_classes, dropout)
        layers: list[nn.Module] = [_conv_bn(1, width), _conv_bn(width, width, 3, 2)]
        cin = width
        for mult, n, stride in self.STAGES:
            for j in range(n):
                layers.append(_InvertedResidual(cin, mult * width, stride if j == 0 else 1, expand))
                cin = mult * width
        layers.append(_conv_bn(cin, last, 1))
        self.trunk = nn.Sequential(*layers)


class _InceptionBlock(nn.Module):
    """Four parallel branches, concatenated: 1×1; 1×1 → 3×3; 1×1 → 3×3 → 3×3 (a 5×5 field);
    3×3 max-pool → 1×1. Each branch gets a quarter of ``cout``."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        b = cout // 4
        self.branches = nn.ModuleList([
            _conv_bn(cin, b, 1),
            nn.Sequential(_conv_bn(cin, b, 1), _conv_bn(b, b)),
            nn.Sequential(_conv_bn(cin, b, 1), _conv_bn(b, b), _conv_bn(b, b)),
            nn.Sequential(nn.MaxPool2d(3, 1, 1), _conv_bn(cin, b, 1)),
        ])  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.branches], 1)


class InceptionFerNet(_Recognizer):
    """GoogLeNet-style: a stem pooled to 24 px, then Inception blocks (parallel 1×1, 3×3,
    double-3×3 and pooling branches) at 24, 12 and 6 px; reads the face resized to 56×56."""

    input_size = 56

    def __init__(self, width: int = 24, num_classes: int = 7, dropout: float = 0.3) -> None:
        super().__init__(8 * width, num_classes, dropout)
        layers: list[nn.Module] = [_conv_bn(1, width), nn.MaxPool2d(2)]  # 56 → 28
        cin = width
        for i, mult in enumerate((2, 4, 8)):  # 28 → 14 → 7
            if i:
                layers.append(nn.MaxPool2d(2))
            layers += [_InceptionBlock(cin, mult * width), _InceptionBlock(mult * width, mult * width)]
            cin = mult * width
        self.trunk = nn.Sequential(*layers)


class _DenseLayer(nn.Module):
    def __init__(self, cin: int, growth: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(cin), nn.ReLU(inplace=True), nn.Conv2d(cin, 4 * growth, 1, bias=False),
            nn.BatchNorm2d(4 * growth), nn.ReLU(inplace=True), nn.Conv2d(4 * growth, growth, 3, padding=1, bias=False),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.body(x)], 1)


class DenseFerNet(_Recognizer):
    """DenseNet-BC-style: a stem pooled to 24 px, then dense blocks (each layer sees every
    earlier map of its block, bottleneck 1×1 then 3×3) joined by 1×1 + average-pool
    transitions that halve the channels (24 → 12 → 6 px)."""

    def __init__(self, growth: int = 12, layers: tuple[int, ...] = (4, 6, 6), num_classes: int = 7, dropout: float = 0.3) -> None:
        modules: list[nn.Module] = [_conv_bn(1, 2 * growth), nn.MaxPool2d(2)]
        channels = 2 * growth
        for i, n in enumerate(layers):
            for _ in range(n):
                modules.append(_DenseLayer(channels, growth))
                channels += growth
            if i < len(layers) - 1:
                modules += [nn.BatchNorm2d(channels), nn.ReLU(inplace=True),
                            nn.Conv2d(channels, channels // 2, 1, bias=False), nn.AvgPool2d(2)]  # fmt: skip
                channels //= 2
        modules += [nn.BatchNorm2d(channels), nn.ReLU(inplace=True)]
        super().__init__(channels, num_classes, dropout)
        self.trunk = nn.Sequential(*modules)
