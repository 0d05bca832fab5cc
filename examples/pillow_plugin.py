"""Open and save .ffc files with Pillow; ``import facecodec`` registers the format.

usage: python examples/pillow_plugin.py [OUT_FOLDER]   (default: a new temporary folder)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PIL import Image

import facecodec  # noqa: F401  (registers the "FFC" format with Pillow)

FACE = Path(__file__).resolve().parent / "astronaut_face_48x48_gray.png"


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with Image.open(FACE) as image:
        image.save(out / "face.ffc", quality=2)  # Pillow save arguments: quality, model, device

    with Image.open(out / "face.ffc") as image:  # reads the header only
        print(f"{image.format} {image.size} {image.mode} {image.info}")
        image.save(out / "face_decoded.png")  # pixels are decoded here
    for name in ("face.ffc", "face_decoded.png"):
        print(f"{out / name}: {(out / name).stat().st_size} bytes")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="facecodec-")))
