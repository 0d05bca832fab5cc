"""Batch augmentation for face crops: random affine jitter and horizontal flips."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def random_affine(
    x: torch.Tensor,
    rng: np.random.Generator,
    max_rotate_deg: float = 10.0,
    scale_range: tuple[float, float] = (0.9, 1.1),
    max_shift: float = 0.1,
    flip_p: float = 0.5,
) -> torch.Tensor:
    """Per-sample rotation, scale, shift (fraction of the side) and h-flip; border pixels repeat."""
    b = x.shape[0]
    angle = np.deg2rad(rng.uniform(-max_rotate_deg, max_rotate_deg, b))
    scale = rng.uniform(*scale_range, b)
    flip = np.where(rng.random(b) < flip_p, -1.0, 1.0)
    shift = rng.uniform(-max_shift, max_shift, (b, 2)) * 2  # grid units span [-1, 1]
    cos, sin = np.cos(angle) / scale, np.sin(angle) / scale
    theta = np.stack(
        [np.stack([cos * flip, -sin, shift[:, 0]], 1), np.stack([sin * flip, cos, shift[:, 1]], 1)], 1
    )
    grid = F.affine_grid(torch.as_tensor(theta, dtype=x.dtype, device=x.device), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)

