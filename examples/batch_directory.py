"""Encode every image under a folder in batches with ``facecodec.encode_batch``.

usage: python examples/batch_directory.py IMAGE_FOLDER OUT_FOLDER [QUALITY]
e.g.:  python examples/batch_directory.py examples /tmp/coded 2
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

import facecodec

SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".pgm", ".ppm", ".tif", ".tiff", ".webp"}


def main(folder: Path, out: Path, quality: float = 4.0) -> None:
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in SUFFIXES)
    images = []
    for path in paths:
        with Image.open(path) as image:
            images.append(image.copy())  # copy() loads the pixels; the file can close
    # one call: images of the same size are coded together, one batch per size
    for path, encoded in zip(paths, facecodec.encode_batch(images, quality=quality)):
        target = out / path.relative_to(folder).with_suffix(".ffc")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(encoded.data)
        grey = " (colour coded as grey)" if encoded.converted_to_grey else ""
        print(f"{target}: {len(encoded.data)} bytes, {encoded.bpp:.3f} bpp{grey}")
    print(f"{len(paths)} image(s) encoded at quality {quality:g}")


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]), *(float(q) for q in sys.argv[3:]))
