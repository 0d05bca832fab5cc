"""A compact CNN for facial-expression recognition on 48×48 grey faces.

VGG-style (pairs of 3×3 conv + BatchNorm + ReLU, max-pooling between
stages), sized so that it trains on a CPU in the background and fast on a GPU.
Input: float (B, 1, 48, 48) in [0, 1] (other sizes are resized to 48×48);
output: logits (B, 7) in FER2013 order (angry, disgust, fear, happy, sad,
surprise, neutral).

Data flow::

    x (1×48×48) -> [conv-bn-relu ×2, pool] ×3 -> 6×6×C3 -> conv-bn-relu ×2
      -> global average pool -> dropout -> linear -> 7 logits

``features()`` returns the pooled vector, used by the feature-matching term of
the FER-aware codec loss. ``stage_map()`` returns the input of the last stage
(after the third pooling: C3×6×6 for a 48×48 face) and ``last_stage()`` the
layers from there on: a latent head can take over the classifier there
(:class:`~facecodec.models.latent_classifier.LatentTailNet`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

INPUT_SIZE = 48


def stage_outputs(layers: nn.Sequential, x: torch.Tensor) -> list[torch.Tensor]:
    """Run ``layers`` on ``x``; the output of the last layer at each resolution (the
    input to every downsampling, then the final map): a network's feature maps, one per stage."""
    maps = []
    for layer in layers:
        out = layer(x)
        if out.shape[-2:] != x.shape[-2:]:
            maps.append(x)
        x = out
    return [*maps, x]


def _block(cin: int, cout: int) -> list[nn.Module]:
    return [
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    ]


class FerNet(nn.Module):
    """Expression classifier. ``width`` scales every stage's channels."""

    def __init__(self, in_channels: int = 1, width: int = 32, num_classes: int = 7, dropout: float = 0.3) -> None:
        super().__init__()
        c1, c2, c3, c4 = width, 2 * width, 4 * width, 8 * width
        self.in_channels = in_channels
        self.body = nn.Sequential(
            *_block(in_channels, c1), *_block(c1, c1), nn.MaxPool2d(2),
            *_block(c1, c2), *_block(c2, c2), nn.MaxPool2d(2),
            *_block(c2, c3), *_block(c3, c3), nn.MaxPool2d(2),
            *_block(c3, c4), *_block(c4, c4),
        )  # fmt: skip
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(c4, num_classes)

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
            x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", antialias=True, align_corners=False)
        return (x - 0.5) / 0.25

    def split_index(self) -> int:
        """Index in ``body`` after the last pooling layer: where the last stage starts."""
        # found, not fixed: inference copies fold BatchNorm away
        return max(i for i, m in enumerate(self.body) if isinstance(m, nn.MaxPool2d)) + 1

    def stage_map(self, x: torch.Tensor) -> torch.Tensor:
        """The feature map entering the last stage (B, 4·width, H/8, W/8)."""
        return self.body[: self.split_index()](self._prepare(x))

    def last_stage(self) -> nn.Sequential:
        """The layers after the last pooling (the modules themselves, renumbered from 0)."""
        return nn.Sequential(*list(self.body)[self.split_index() :])

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled penultimate features (B, 8·width)."""
        return self.body(self._prepare(x)).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(x)))

    def maps_and_logits(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Each stage's feature map (:func:`stage_outputs`) and the logits, in one pass."""
        maps = stage_outputs(self.body, self._prepare(x))
        return maps, self.head(self.dropout(maps[-1].mean(dim=(2, 3))))

    def state_from_guide(self, codec_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """This classifier's state as an expression-code codec stores it as its frozen guide
        (:class:`~facecodec.models.semantic.SemanticFaceHyperprior`: ``guide.*`` the stages
        up to the last pooling, ``guide_tail.*`` the last stage, ``guide_fc.*`` the head)."""
        split = self.split_index()
        state = {}
        for key, value in codec_state.items():
            prefix, _, rest = key.partition(".")
            if prefix in ("guide", "guide_tail"):
                index, _, param = rest.partition(".")
                offset = split if prefix == "guide_tail" else 0
                state[f"body.{int(index) + offset}.{param}"] = value
            elif prefix == "guide_fc":
                state[f"head.{rest}"] = value
        return state
