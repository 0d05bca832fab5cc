"""Contact sheet: original faces beside what each codec decodes at every quality.

One row per face and codec: the original (labelled with the codec's name),
then the decoded face at every quality, each labelled with its file's bytes. Faces are drawn 3× larger, without
smoothing, so what the codec drew is what you see.

    # the example face (redistributable), as shown in docs/models.md
    python benchmarks/contact_sheet.py --image examples/astronaut_face_48x48_gray.png \
        --codecs face-fer-v3,face-hp-v1 --out docs/contact_sheet.png
    # 16 FER2013 val faces (research-only data: look, but do not commit the PNG)
    python benchmarks/contact_sheet.py --data ../shared/data/fer2013/fer2013_trainval.npz \
        --split val --count 16 --codecs face-fer-v3,face-hp-v1 --out results/contact_sheet_val.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

import facecodec
from facecodec import registry
from facecodec.imageio import write_atomic

SCALE = 3
LABEL_H = 12  # px of caption above each column's tiles
QUALITIES = (1, 2, 3, 4, 6, 8)


def _faces(args: argparse.Namespace) -> list[np.ndarray]:
    if args.image:
        return [np.asarray(Image.open(p).convert("L")) for p in args.image]
    from facecodec.train.data import load_faces

    faces = load_faces(args.data, args.split)
    rng = np.random.default_rng(args.seed)  # a fixed, spread-out pick (not the first rows)
    pick = np.sort(rng.choice(len(faces), size=min(args.count, len(faces)), replace=False))
    return [faces.images[i, ..., 0] for i in pick]


def _tile(face: np.ndarray, caption: str) -> Image.Image:
    h, w = face.shape
    tile = Image.new("L", (w * SCALE, h * SCALE + LABEL_H), 255)
    tile.paste(Image.fromarray(face).resize((w * SCALE, h * SCALE), Image.NEAREST), (0, LABEL_H))
    ImageDraw.Draw(tile).text((2, 0), caption, fill=0)
    return tile


def sheet(faces: list[np.ndarray], codecs: list[str], qualities: list[float]) -> Image.Image:
    """The contact sheet as one grey image: per face, one row per codec (original first)."""
    rows = []
    for face in faces:
        for codec in codecs:
            registry.codec_spec(codec)  # a registered codec, or one line naming them
            tiles = [_tile(face, codec)]
            for q in qualities:
                data = facecodec.encode(Image.fromarray(face), quality=q, model=codec)
                tiles.append(_tile(np.asarray(facecodec.decode(data)), f"q{q:g} {len(data)}B"))
            rows.append(tiles)
    tw, th = rows[0][0].size
    gap = 4  # between the original and the decoded faces, and between faces
    width = max(len(t) for t in rows) * tw + gap
    out = Image.new("L", (width, th * len(rows) + gap * (len(faces) - 1)), 255)
    for r, tiles in enumerate(rows):
        y = r * th + gap * (r // len(codecs))
        for c, tile in enumerate(tiles):
            out.paste(tile, (c * tw + (gap if c else 0), y))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--image", nargs="+", help="face images (grey or colour; coded as grey)")
    src.add_argument("--data", help="a dataset (.npz, FER2013 .csv or folder)")
    parser.add_argument("--split", default="val")
    parser.add_argument("--count", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--codecs", default=registry.DEFAULT_CODEC, help="comma-separated codec names")
    parser.add_argument("--qualities", default=",".join(str(q) for q in QUALITIES))
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    codecs = [registry.codec_spec(c).name for c in args.codecs.split(",")]
    qualities = [float(q) for q in args.qualities.split(",")]
    faces = _faces(args)
    image = sheet(faces, codecs, qualities)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    import io

    buf = io.BytesIO()
    image.save(buf, "PNG", optimize=True)
    write_atomic(args.out, buf.getvalue(), force=True)
    print(f"{args.out}: {len(faces)} faces × {len(codecs)} codecs × {len(qualities)} qualities")


if __name__ == "__main__":
    main()
