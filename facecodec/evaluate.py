"""Measuring a registered codec on real files: whole-file bpp and PSNR per quality."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import api


def psnr_uint8(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB between two uint8 images (peak 255); inf for identical images."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def measure_codec(
    model: str,
    images: np.ndarray,
    qualities: Sequence[float],
    device: str = "auto",
    batch_size: int = 256,
) -> list[dict[str, Any]]:
    """Encode and decode ``images`` (N, H, W, C) at each quality.

    ``bpp`` counts every byte of each ``.ffc`` file (header, both streams, CRC)
    over the image's pixels, averaged over images; ``psnr`` is the mean of
    per-image PSNR on the decoded uint8 pixels.
    """
    points = []
    for q in qualities:
        encoded = api.encode_batch(list(images), model, q, device, batch_size)
        decoded = api.decode_batch([e.data for e in encoded], device, batch_size)
        psnrs = [psnr_uint8(img, dec) for img, dec in zip(images, decoded)]
        points.append(
            {
                "quality": q,
                "bpp": round(float(np.mean([e.bpp for e in encoded])), 4),
                "bytes": round(float(np.mean([len(e.data) for e in encoded])), 2),
                "psnr": round(float(np.mean(psnrs)), 3),
            }
        )
    return points
