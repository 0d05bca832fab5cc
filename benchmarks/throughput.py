"""Batched encode/decode throughput of a facecodec model beside Pillow WebP, in one run.

Figures, not pass/fail. Counts whole-pipeline work on in-memory images: for
facecodec, transforms + exact hyper-synthesis + entropy coding + ``.ffc``
packing (encode) and parsing + entropy decoding + transforms (decode); for
WebP, Pillow's encoder/decoder (libwebp, one image at a time, one process).
File I/O and PNG reading are excluded for both. ``--device cpu`` is the lean
runtime (no torch); ``--device torch-cpu`` the PyTorch reference path.

    python benchmarks/throughput.py --data ../shared/data/fer2013/fer2013_trainval.npz --split val
    python benchmarks/throughput.py            # synthetic 48×48 faces, no data needed
"""

from __future__ import annotations

import argparse
import io
import json
import os
import time

import numpy as np
from PIL import Image

from facecodec import api, registry
from facecodec.train.data import load_faces


def synthetic_faces(n: int, size: int = 48, seed: int = 0) -> np.ndarray:
    """Smooth blobs plus noise, uint8 (n, size, size, 1); no dataset needed."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    out = np.empty((n, size, size, 1), np.uint8)
    for i in range(n):
        cx, cy, r = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), rng.uniform(0.2, 0.4)
        face = 200 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
        out[i, ..., 0] = np.clip(face + rng.normal(0, 12, (size, size)) + 30, 0, 255)
    return out


def timed(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="npz / FER2013 csv / folder (default: synthetic faces)")
    parser.add_argument("--split", default="val")
    parser.add_argument("-n", type=int, default=2048, help="images")
    parser.add_argument("--model", default=registry.DEFAULT_CODEC)
    parser.add_argument("--quality", type=float, default=4.0)
    parser.add_argument("--webp-quality", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="intra-op threads")
    parser.add_argument("--repeats", type=int, default=3, help="best of N timings")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()

    os.environ["FACECODEC_THREADS"] = str(args.threads)
    if args.device != "cpu":  # the torch path
        import torch

        torch.set_num_threads(args.threads)
    images = (
        load_faces(args.data, args.split).images[: args.n] if args.data else synthetic_faces(args.n)
    )
    n = len(images)
    batch = list(images)
    api.encode_batch(batch[:32], args.model, args.quality, args.device)  # load + warm up

    encoded: list = []

    def fc_encode() -> None:
        encoded[:] = api.encode_batch(batch, args.model, args.quality, args.device, args.batch_size)

    t_enc = timed(fc_encode, args.repeats)
    datas = [e.data for e in encoded]
    t_dec = timed(lambda: api.decode_batch(datas, args.device, args.batch_size), args.repeats)

    pils = [Image.fromarray(im[..., 0]) for im in images]
    webps: list[bytes] = []

    def webp_encode() -> None:
        webps.clear()
        for im in pils:
            buf = io.BytesIO()
            im.save(buf, format="WEBP", quality=args.webp_quality)
            webps.append(buf.getvalue())

    def webp_decode() -> None:
        for data in webps:
            Image.open(io.BytesIO(data)).load()

    w_enc = timed(webp_encode, args.repeats)
    w_dec = timed(webp_decode, args.repeats)
    fc_bytes = float(np.mean([len(d) for d in datas]))
    w_bytes = float(np.mean([len(d) for d in webps]))
    pixels = images.shape[1] * images.shape[2]
    result = {
        "images": n,
        "size": f"{images.shape[2]}x{images.shape[1]}x{images.shape[3]}",
        "threads": args.threads,
        "batch_size": args.batch_size,
        "device": args.device,
        "facecodec": {
            "model": args.model, "quality": args.quality,
            "encode_img_s": round(n / t_enc, 1), "decode_img_s": round(n / t_dec, 1),
            "bpp": round(fc_bytes * 8 / pixels, 4),
        },
        "webp": {
            "quality": args.webp_quality,
            "encode_img_s": round(n / w_enc, 1), "decode_img_s": round(n / w_dec, 1),
            "bpp": round(w_bytes * 8 / pixels, 4),
        },
    }  # fmt: skip
    result["ratio_vs_webp"] = {
        "encode": round(result["facecodec"]["encode_img_s"] / result["webp"]["encode_img_s"], 3),
        "decode": round(result["facecodec"]["decode_img_s"] / result["webp"]["decode_img_s"], 3),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)


if __name__ == "__main__":
    main()
