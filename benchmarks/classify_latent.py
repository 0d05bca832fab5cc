"""Compressed-domain vs pixel-domain expression recognition on the same ``.ffc`` files.

For each quality: encode the faces once, then time and score, batched, on the
same files and in the same run:

* latent: ``classify_batch(files, domain="latent")`` – parse, entropy-decode
  ``z`` and ``y``, latent head (no synthesis transform);
* pixel: ``classify_batch(files, domain="pixel")`` – parse, entropy-decode,
  synthesis transform ``g_s``, pixel classifier.

Reports accuracy of both (needs labels), their agreement, images/s of both and
the speed ratio (best of ``--repeats`` timings each). Figures, not pass/fail.

    python benchmarks/classify_latent.py --data ../shared/data/fer2013/fer2013_trainval.npz --split val
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from facecodec import api, registry
from facecodec.evaluate import accuracy_of
from facecodec.recognition import classify_batch
from facecodec.train.data import load_faces


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="labelled npz / FER2013 csv / class folders")
    parser.add_argument("--split", default="val")
    parser.add_argument("-n", type=int, default=None, help="first N images (default: all)")
    parser.add_argument("--codec", default="face-fer-v1")
    parser.add_argument("--head", default=None, help="latent head (default: the codec's latest registered one)")
    parser.add_argument("--pixel-classifier", default=None,
                        help="classifier of the decode-then-classify path (default: the one "
                        "`facecodec classify` uses for the codec's files)")
    parser.add_argument("--qualities", default="1,2,3,4,5,6,7,8")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    faces = load_faces(args.data, args.split)
    images, labels = faces.images[: args.n], faces.labels[: args.n]
    head = registry.get_spec(args.head) if args.head else registry.latent_classifier_for(args.codec)
    if head is None or head.kind != "latent-classifier" or not head.reads(args.codec):
        raise SystemExit(f"no latent head {args.head or ''} registered for {args.codec}")
    args.pixel_classifier = args.pixel_classifier or registry.pixel_classifier_for(args.codec)
    model = {"latent": head.name, "pixel": args.pixel_classifier}
    rows = []
    for q in (float(v) for v in args.qualities.split(",")):
        files = [e.data for e in api.encode_batch(list(images), args.codec, q, args.device, args.batch_size)]
        timings, preds = {}, {}
        for domain in ("latent", "pixel"):
            classify_batch(files[: args.batch_size], model[domain], domain=domain, device=args.device)  # warm-up
            best = float("inf")
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                preds[domain] = classify_batch(
                    files, model[domain], domain=domain, device=args.device, batch_size=args.batch_size
                )
                best = min(best, time.perf_counter() - t0)
            timings[domain] = best
        row = {
            "quality": q,
            "bpp": round(float(np.mean([len(f) * 8 / images[0].size for f in files])), 4),
            "latent_accuracy": round(accuracy_of(preds["latent"], labels), 4),
            "pixel_accuracy": round(accuracy_of(preds["pixel"], labels), 4),
            "agreement": round(float(np.mean([a.label == b.label for a, b in zip(preds["latent"], preds["pixel"])])), 4),
            "latent_img_s": round(len(files) / timings["latent"], 1),
            "pixel_img_s": round(len(files) / timings["pixel"], 1),
        }
        row["gap_points"] = round(100 * (row["pixel_accuracy"] - row["latent_accuracy"]), 2)
        row["speedup"] = round(timings["pixel"] / timings["latent"], 2)
        rows.append(row)
        print(json.dumps(row), flush=True)
    summary = {
        "codec": args.codec, "head": head.name, "pixel_classifier": args.pixel_classifier,
        "data": f"{args.data} split={args.split}", "images": len(images), "threads": args.threads,
        "device": args.device, "batch_size": args.batch_size, "points": rows,
        "max_gap_points": max(r["gap_points"] for r in rows),
        "min_speedup": min(r["speedup"] for r in rows),
    }  # fmt: skip
    print(json.dumps({k: v for k, v in summary.items() if k != "points"}))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(summary, fh, indent=2)


if __name__ == "__main__":
    main()
