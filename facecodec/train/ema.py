"""An exponential moving average of a model's weights (Polyak averaging).

Averaged weights generalise better than the last step's on small datasets such as
FER2013; ``facecodec train joint --classifier-ema D`` keeps one for the classifier
and saves it as the run's classifier (the raw weights stay in the checkpoint for
``--resume``).
"""

from __future__ import annotations

import copy

import torch


class WeightAverage:
    """``avg ← D·avg + (1 − D)·w`` after every step for parameters; buffers (BatchNorm
    statistics) are copied, as they are running averages already."""

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must lie in (0, 1), got {decay}")
        self.decay = decay
        self.module = copy.deepcopy(model).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        for avg, p in zip(self.module.parameters(), model.parameters()):
            avg.lerp_(p.detach(), 1.0 - self.decay)
        for avg, b in zip(self.module.buffers(), model.buffers()):
            avg.copy_(b)
