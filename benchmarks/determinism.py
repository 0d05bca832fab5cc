"""Decode determinism across thread counts, batch sizes and batch neighbours.

Encodes N faces once, then decodes every file under several configurations
and counts files whose pixels differ from the reference decode (2 threads,
batch 256, dataset order). Figures, not pass/fail; the unit tests hold a
small version.

    python benchmarks/determinism.py --data ../shared/data/fer2013/fer2013_trainval.npz --split train -n 10000
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from facecodec import api, backends, registry
from facecodec.train.data import load_faces


def decode_all(datas: list[bytes], batch_size: int, threads: int, order: np.ndarray) -> list[np.ndarray]:
    os.environ["FACECODEC_THREADS"] = str(threads)  # the runtime's graphs, loaded afresh
    backends.clear()
    shuffled = api.decode_batch([datas[i] for i in order], "cpu", batch_size)
    out: list[np.ndarray] = [None] * len(datas)  # type: ignore[list-item]
    for pos, i in enumerate(order):
        out[i] = shuffled[pos]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="train")
    parser.add_argument("-n", type=int, default=10000)
    parser.add_argument("--model", default=registry.DEFAULT_CODEC)
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()

    images = load_faces(args.data, args.split).images[: args.n]
    n = len(images)
    rng = np.random.default_rng(0)
    qualities = rng.uniform(1, 8, n).round(2)  # mixed qualities inside every batch
    t0 = time.time()
    datas = [e.data for e in api.encode_batch(list(images), args.model, list(qualities), "cpu", 256)]
    identity = np.arange(n)
    reference = decode_all(datas, 256, 2, identity)
    configs = {
        "threads=1, batch=256": (256, 1, identity),
        "threads=2, batch=1": (1, 2, identity),
        "threads=1, batch=37, shuffled neighbours": (37, 1, rng.permutation(n)),
        "threads=2, batch=1000, shuffled neighbours": (1000, 2, rng.permutation(n)),
    }
    results = {}
    for name, (batch, threads, order) in configs.items():
        t = time.time()
        decoded = decode_all(datas, batch, threads, order)
        differing = sum(not np.array_equal(a, b) for a, b in zip(reference, decoded))
        results[name] = {"files_differing": differing, "seconds": round(time.time() - t, 1)}
        print(f"{name}: {differing} of {n} files differ ({results[name]['seconds']} s)", flush=True)
    # re-encoding must give the same bytes
    again = [e.data for e in api.encode_batch(list(images), args.model, list(qualities), "cpu", 97)]
    results["re-encode, batch=97"] = {"files_differing": sum(a != b for a, b in zip(datas, again))}
    print(f"re-encode with batch 97: {results['re-encode, batch=97']['files_differing']} files differ")
    summary = {"images": n, "model": args.model, "qualities": "uniform 1..8 per image",
               "results": results, "total_seconds": round(time.time() - t0, 1)}  # fmt: skip
    print(json.dumps(summary, indent=2))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(summary, fh, indent=2)


if __name__ == "__main__":
    main()
