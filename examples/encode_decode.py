"""Round trip through the Python API: file size, bits per pixel and PSNR per quality.

usage: python examples/encode_decode.py [IMAGE]   (default: the shipped example face)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

import facecodec

FACE = Path(__file__).resolve().parent / "astronaut_face_48x48_gray.png"


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255**2 / mse))


def main(path: Path) -> None:
    with Image.open(path) as image:
        image.load()
    width, height = image.size
    print(f"{path.name}: {width}x{height} {image.mode}")
    for quality in (1, 2, 4, 8):
        data = facecodec.encode(image, quality=quality)  # .ffc bytes
        decoded = facecodec.decode(data)  # PIL image, same size and mode
        bpp = len(data) * 8 / (width * height)
        score = psnr(np.asarray(image.convert(decoded.mode)), np.asarray(decoded))
        print(f"quality {quality}: {len(data):5d} bytes  {bpp:.3f} bpp  PSNR {score:.2f} dB")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else FACE)
