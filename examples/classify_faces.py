"""Expressions of a face: from the image, from a .ffc file's latent, from its pixels.

    python examples/classify_faces.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

import facecodec

FACE = Path(__file__).resolve().parent / "astronaut_face_48x48_gray.png"

with Image.open(FACE) as face:
    original = facecodec.classify(face, top_k=3)
    files = {q: facecodec.encode(face, quality=q) for q in (1, 4, 8)}  # the default codec, face-fer-v3

print(f"original: {original.label} {original.probability:.2f} ({original.domain})")
for q, data in files.items():
    latent = facecodec.classify(data)  # latent domain: no pixel synthesis
    pixel = facecodec.classify(data, domain="pixel")
    print(
        f"quality {q}: {len(data)} bytes, latent {latent.label} {latent.probability:.2f}, "
        f"pixel {pixel.label} {pixel.probability:.2f}"
    )
