"""Expression accuracy against rate for facecodec's codecs, JPEG and WebP, with each classifier.

The figures behind docs/models.md and the FER targets: for every codec and
quality, the whole-file bpp, PSNR and the accuracy of *each* registered pixel
classifier on the decoded faces (the same decoded faces for all classifiers),
plus each classifier's accuracy on the originals. Summaries per classifier:

* BD-rate on accuracy (``bjontegaard``, Akima, over the overlapping accuracy
  range) of every facecodec codec against each other codec;
* matched points: for each point of the anchor codec (default
  ``face-hp-v1``), the rate at which the test codec (default ``face-fer-v1``)
  reaches the same accuracy (linear interpolation on its monotone front) and
  the ratio of the two rates; where the test is more accurate already at its
  lowest rate, that rate is given as an upper bound (``upper_bound``: the
  test needs at most that much; its curve does not go lower to say how much less);
* per codec, the fewest bytes with accuracy within 1 and within 1.5 points of
  the originals;
* systems (``summary.systems``): the anchor codec read by ``--anchor-classifier``
  (default fer-cnn-v1, trained on originals) against the test codec read by
  ``--test-classifier`` (default its jointly trained fer-cnn-joint-v1), the
  pipeline comparison of Li et al. (ICIP 2025): BD-rate and matched points.

    python benchmarks/fer_accuracy.py --data ../shared/data/fer2013/fer2013_trainval.npz --split val \\
        --json benchmarks/results/fer_accuracy.json
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from facecodec import api, registry
from facecodec.bench import metrics
from facecodec.bench.codecs import JpegCodec, WebpCodec
from facecodec.bench.report import _curve, bd_rate
from facecodec.train.data import load_faces

SWEEPS = {
    "jpeg": (1, 3, 5, 10, 20, 30, 50, 75),
    "webp": (0, 5, 10, 20, 35, 50, 70, 90),
}


def _facecodec(name: str, images: np.ndarray, q: float, device: str) -> tuple[list[bytes], np.ndarray]:
    files = [e.data for e in api.encode_batch(list(images), name, q, device, 256)]
    return files, np.stack(api.decode_batch(files, device, 256))


def _classical(codec, images: np.ndarray, q: float) -> tuple[list[bytes], np.ndarray]:
    files = [codec.encode(im, q) for im in images]
    return files, np.stack([codec.decode(f, images.shape[3]) for f in files])


def rate_at_accuracy(points: list[dict], target: float) -> float | None:
    """The bpp at which a codec's monotone accuracy front first reaches ``target`` (interpolated)."""
    rates, accs = _curve(points, "accuracy")
    if len(rates) == 0 or target > accs.max():
        return None
    if target <= accs[0]:
        return float(rates[0]) if target >= accs[0] - 1e-9 else None
    i = int(np.searchsorted(accs, target))
    t = (target - accs[i - 1]) / (accs[i] - accs[i - 1])
    return float(np.exp(np.log(rates[i - 1]) + t * (np.log(rates[i]) - np.log(rates[i - 1]))))


def _matched(anchor: list[dict], test: list[dict]) -> list[dict]:
    """For each anchor point, the test's rate at the same accuracy and the ratio of rates."""
    matched = []
    lowest = min(test, key=lambda p: p["bpp"]) if test else None
    for p in anchor:
        r, bound = rate_at_accuracy(test, p["accuracy"]), False
        if r is None and lowest is not None and lowest["accuracy"] >= p["accuracy"]:
            r, bound = lowest["bpp"], True  # already more accurate at its lowest rate: an upper bound
        matched.append({"anchor_quality": p["quality"], "anchor_bpp": p["bpp"], "accuracy": p["accuracy"],
                        "test_bpp": None if r is None else round(r, 4),
                        "rate_ratio": None if r is None else round(r / p["bpp"], 3),
                        "upper_bound": bound})  # fmt: skip
    return matched


def _systems(points: list[dict], anchor: str, anchor_clf: str, test: str, test_clf: str) -> dict:
    """Codec + classifier against codec + classifier: what a user of each pipeline gets."""

    def curve(codec: str, clf: str) -> list[dict]:
        return [{"bpp": p["bpp"], "accuracy": p["accuracy_by_classifier"][clf], "bytes": p["bytes"],
                 "quality": p["quality"]} for p in points if p["codec"] == codec]  # fmt: skip

    a, t = curve(anchor, anchor_clf), curve(test, test_clf)
    return {"anchor": f"{anchor} + {anchor_clf}", "test": f"{test} + {test_clf}",
            "bd_rate_accuracy": bd_rate(a, t, "accuracy"), "matched_points": _matched(a, t)}  # fmt: skip


def summarise(points: list[dict], originals: dict[str, float], anchor: str, test: str,
              anchor_clf: str, test_clf: str) -> dict:
    """BD-rates, fewest bytes within 1 / 1.5 points, matched points and the systems comparison."""
    summary: dict = {}
    codecs = list(dict.fromkeys(p["codec"] for p in points))
    for c in originals:
        per = {k: [{"bpp": p["bpp"], "accuracy": p["accuracy_by_classifier"][c], "bytes": p["bytes"],
                    "quality": p["quality"]} for p in points if p["codec"] == k] for k in codecs}  # fmt: skip
        entry: dict = {"originals": originals[c], "bd_rate_accuracy": {}, "fewest_bytes": {}}
        for t in (k for k in codecs if k.startswith("face-")):
            for a in (k for k in codecs if k != t):
                entry["bd_rate_accuracy"][f"{t} vs {a}"] = bd_rate(per[a], per[t], "accuracy")
        for k in codecs:
            row = {}
            for margin in (1.0, 1.5):
                ok = [p for p in per[k] if p["accuracy"] >= originals[c] - margin]
                row[f"within_{margin:g}"] = min(ok, key=lambda p: p["bytes"]) if ok else None
            entry["fewest_bytes"][k] = row
        if anchor in per and test in per:
            entry["matched_points"] = _matched(per[anchor], per[test])
        summary[c] = entry
    if {anchor, test} <= set(codecs) and {anchor_clf, test_clf} <= set(originals):
        summary["systems"] = _systems(points, anchor, anchor_clf, test, test_clf)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="val")
    parser.add_argument("-n", type=int, default=None, help="first N faces (default: all)")
    parser.add_argument("--codecs", default="face-hp-v1,face-fer-v1,jpeg,webp")
    parser.add_argument("--classifiers", default="fer-cnn-v1,fer-cnn-joint-v1")
    parser.add_argument("--qualities", default="1,1.5,2,2.5,3,4,5,6,8", help="facecodec qualities")
    parser.add_argument("--anchor", default="face-hp-v1")
    parser.add_argument("--test", default="face-fer-v1")
    parser.add_argument("--anchor-classifier", default="fer-cnn-v1",
                        help="system comparison: the anchor codec read by this classifier ...")
    parser.add_argument("--test-classifier", default="fer-cnn-joint-v1",
                        help="... against the test codec read by this one (codec + classifier, as in Li et al.)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", help="write the figures here")
    parser.add_argument("--summarise", metavar="JSON", help="only recompute the summaries of a result file "
                        "from its points (with --anchor, --test and their classifiers), in place")
    args = parser.parse_args()
    if args.summarise:
        with open(args.summarise) as fh:
            result = json.load(fh)
        originals = {c: e["originals"] for c, e in result["summary"].items() if c != "systems"}
        result["summary"] = summarise(result["points"], originals, args.anchor, args.test,
                                      args.anchor_classifier, args.test_classifier)  # fmt: skip
        with open(args.summarise, "w") as fh:
            json.dump(result, fh, indent=1)
        return
    t0 = time.time()
    faces = load_faces(args.data, args.split)
    images, labels = faces.images[: args.n], faces.labels[: args.n]
    pixels = images.shape[1] * images.shape[2]
    classifiers = {c: metrics.prepare_classifier(registry.create_model(c, device=args.device))
                   for c in args.classifiers.split(",")}  # fmt: skip
    originals = {c: round(100 * float(np.mean(metrics.predict(m, images, args.device) == labels)), 2)
                 for c, m in classifiers.items()}  # fmt: skip
    print(json.dumps({"originals": originals}), flush=True)
    points = []
    for codec in args.codecs.split(","):
        if codec in SWEEPS:
            impl = JpegCodec() if codec == "jpeg" else WebpCodec()
            sweep = [(q, lambda q=q, impl=impl: _classical(impl, images, q)) for q in SWEEPS[codec]]
        else:
            qs = [float(q) for q in args.qualities.split(",")]
            sweep = [(q, lambda q=q, codec=codec: _facecodec(codec, images, q, args.device)) for q in qs]
        for q, run in sweep:
            files, decoded = run()
            point = {
                "codec": codec, "quality": q,
                "bytes": round(float(np.mean([len(f) for f in files])), 2),
                "bpp": round(float(np.mean([len(f) * 8 / pixels for f in files])), 4),
                "psnr": round(float(np.mean(metrics.psnr(images, decoded))), 3),
                "accuracy_by_classifier": {
                    c: round(100 * float(np.mean(metrics.predict(m, decoded, args.device) == labels)), 2)
                    for c, m in classifiers.items()
                },
            }  # fmt: skip
            points.append(point)
            print(json.dumps(point), flush=True)
    summary = summarise(points, originals, args.anchor, args.test, args.anchor_classifier, args.test_classifier)
    result = {
        "data": f"{args.data} split={args.split}", "images": len(images), "units": {
            "bpp": "whole-file bytes*8/pixels (headers included)", "accuracy": "% of faces",
            "psnr": "mean per-image dB (uint8)"},
        "points": points, "summary": summary, "seconds": round(time.time() - t0, 1),
        "torch_threads": torch.get_num_threads(),
    }  # fmt: skip
    print(json.dumps(summary, indent=1))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=1)


if __name__ == "__main__":
    main()
