"""Leave-one-family-out check of a codec training recipe, without the held-out panel.

Train a codec against part of the *training* panel (say the two VGG-style members),
then ask a training-panel member of another family that the run never saw (the
ResNet-style one) how often it reads decoded faces as it reads the originals. A recipe
whose faces transfer to an unseen family here is the one to train with the whole
training panel; the held-out panel only measures the result.

    python benchmarks/panel/transfer_check.py runs/transfer/A/last.pt runs/transfer/B/last.pt \
        --data ../shared/data/fer2013/fer2013_trainval.npz --unseen panel-resnet-v1 \
        --seen panel-vgg-v1,panel-vgg-v2

Prints, per checkpoint and quality, stream bytes per face, bpp, PSNR, invented detail
(``facecodec.bench.metrics``: the stripes a codec draws for a classifier's sake) and each
recognizer's agreement with its reading of the originals; then, per checkpoint, the
unseen member's agreement and the PSNR at equal rates (interpolated in log bpp), which
is how recipes are compared. ``--rows FILE`` re-prints that table from a saved ``--json``.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from facecodec import registry
from facecodec.bench.metrics import invented_detail
from facecodec.container import ANS
from facecodec.models.torch_inference import torch_classifier, torch_codec
from facecodec.runtime.codec import CodedFace
from facecodec.train.init_weights import load_initial


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoints", nargs="+")
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="val")
    ap.add_argument("--limit", type=int, default=1024)
    ap.add_argument("--model", default="face-fer-v9", help="architecture of the checkpoints")
    ap.add_argument("--qualities", default="1,2,4")
    ap.add_argument("--unseen", default="panel-resnet-v1")
    ap.add_argument("--seen", default="panel-vgg-v1,panel-vgg-v2")
    ap.add_argument("--json", default=None)
    ap.add_argument("--rows", default=None, help="summarise these saved rows instead of measuring")
    ap.add_argument("--at", default="0.16,0.2,0.24,0.3,0.5", help="rates (bpp) of the summary table")
    args = ap.parse_args()
    at = [float(v) for v in args.at.split(",")]
    if args.rows:
        with open(args.rows) as fh:
            summarise(json.load(fh), args.unseen, at)
        return

    data = np.load(args.data)
    faces = data["images"][data["split"] == args.split][: args.limit]
    x = faces[:, None].astype(np.float32) / 255
    names = [n for n in (args.unseen + "," + args.seen).split(",") if n]
    readers = {n: torch_classifier(registry.create_model(n)) for n in names}
    originals = {n: f(x).argmax(1) for n, f in readers.items()}
    rows = []
    for path in args.checkpoints:
        model = registry.build_architecture(registry.codec_spec(args.model))
        load_initial(model, path)  # a checkpoint, a .safetensors file or a shipped codec's name
        model.update(force=True)
        codec = torch_codec(model.eval())
        for q in (float(v) for v in args.qualities.split(",")):
            quality = np.full(len(x), q, np.float32)
            streams = codec.compress(x, quality)
            coded = [CodedFace((s,), ANS, 6, 6) for s in streams]
            x_hat = codec.decompress(coded, quality)
            x_hat = np.round(x_hat * 255) / 255
            nbytes = float(np.mean([len(s) for s in streams]))
            mse = ((x_hat - x) ** 2).mean(axis=(1, 2, 3))
            row = {"checkpoint": path, "quality": q, "stream_bytes": nbytes, "bpp": nbytes * 8 / (48 * 48),
                   "psnr": float(np.mean(10 * np.log10(1 / np.maximum(mse, 1e-10)))),
                   "invented": invented_detail(faces[..., None], np.round(x_hat * 255).astype(np.uint8).transpose(0, 2, 3, 1))}  # fmt: skip
            for n, f in readers.items():
                row[n] = float((f(x_hat).argmax(1) == originals[n]).mean() * 100)
            rows.append(row)
            print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    summarise(rows, args.unseen, at)


def summarise(rows: list[dict], unseen: str, at: list[float]) -> None:
    """Per checkpoint: the unseen member's agreement and the PSNR at the rates ``at``."""
    print(f"\n{'checkpoint':40s} " + " ".join(f"{t:>13g}" for t in at) + "   (bpp: agreement % / PSNR dB)")
    for path in dict.fromkeys(r["checkpoint"] for r in rows):
        points = sorted((r for r in rows if r["checkpoint"] == path), key=lambda r: r["bpp"])
        cells = [f"{_at_rate(points, unseen, t):6.1f}/{_at_rate(points, 'psnr', t):5.2f}" for t in at]
        print(f"{path:40s} " + " ".join(f"{c:>13s}" for c in cells))


def _at_rate(points: list[dict], key: str, bpp: float) -> float:
    """``key`` at ``bpp``, interpolated in log bpp between measured points (NaN outside them)."""
    log_bpp = np.log([r["bpp"] for r in points])
    return float(np.interp(np.log(bpp), log_bpp, [r[key] for r in points], left=np.nan, right=np.nan))


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
