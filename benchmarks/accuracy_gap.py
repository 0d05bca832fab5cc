"""Issue 3, target 2: a classifier's accuracy on decoded faces against its accuracy on the originals.

For each quality the faces are encoded to real ``.ffc`` files and decoded with
the library (``api.encode_batch`` / ``classify_batch(domain="pixel")``); the
classifier reads the originals once. The *gap* is accuracy on originals minus
accuracy on the decoded faces, in points. Both accuracies come from the same
faces, so the gap's uncertainty is that of a paired difference: a 95 %
interval from a paired bootstrap over faces (``--bootstrap`` resamples), and
the share of faces whose verdict (right / wrong) changes between the two.
A gap that sits 0.2 points either side of a threshold on a few thousand
faces is a coin toss on other faces; the interval says so. ``--ensemble`` also
scores the mean of the named classifiers' probabilities as one more reader;
``--mirror`` has each classifier average the face and its mirror image.

    python benchmarks/accuracy_gap.py --data ../shared/data/fer2013/fer2013_trainval.npz --split val \\
        --codec face-fer-v9 --qualities 1,1.5,2,2.5,3 --json benchmarks/results/accuracy_gap.json
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from facecodec import api, registry
from facecodec.evaluate import right_answers
from facecodec.recognition import classify_batch
from facecodec.registry import FER_CLASSES
from facecodec.train.data import load_faces


def paired_gap(orig: np.ndarray, decoded: np.ndarray, resamples: int, seed: int = 0) -> dict[str, float]:
    """Gap in points (originals − decoded) with a paired-bootstrap 95 % interval."""
    diff = orig.astype(np.float64) - decoded
    rng = np.random.default_rng(seed)
    boot = np.empty(resamples)
    for i in range(resamples):
        boot[i] = diff[rng.integers(0, len(diff), len(diff))].mean()
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return {
        "gap": round(100 * float(diff.mean()), 2),
        "gap_ci95": [round(100 * float(lo), 2), round(100 * float(hi), 2)],
        "changed": round(100 * float(np.mean(diff != 0)), 2),
    }


def ensemble_right(per_model: list[list], labels: np.ndarray) -> np.ndarray:
    """Per face: 1 where the mean of several classifiers' probabilities (``top_k`` = all classes)
    picks the right class; a face any classifier failed on counts as wrong, as in ``right_answers``."""
    index = {c: i for i, c in enumerate(FER_CLASSES)}
    summed = np.zeros((len(labels), len(FER_CLASSES)))  # a sum picks the class a mean picks
    failed = np.zeros(len(labels), dtype=bool)
    for preds in per_model:
        for i, p in enumerate(preds):
            if isinstance(p, Exception):
                failed[i] = True
                continue
            for label, prob in p.top:
                summed[i, index[label]] += prob
    return ((summed.argmax(1) == labels) & ~failed).astype(np.int8)


def read(items: list, names: list[str], labels: np.ndarray, ensemble: bool, **kw) -> dict[str, np.ndarray]:
    """Per reader (each classifier, then their ensemble if asked): 1 where a face is read right."""
    preds = {n: classify_batch(items, model=n, top_k=len(FER_CLASSES), **kw) for n in names}
    right = {n: right_answers(p, labels) for n, p in preds.items()}
    if ensemble:
        right["+".join(names)] = ensemble_right(list(preds.values()), labels)
    return right


def score_against(originals: dict[str, np.ndarray], readings: dict[str, np.ndarray], resamples: int,
                  label: str) -> dict[str, dict]:  # fmt: skip
    """Per reader: its accuracy on the changed faces and the paired gap to its originals, one printed line each."""
    scored = {}
    for name, right in readings.items():
        stats = {"accuracy": round(100 * float(right.mean()), 2), **paired_gap(originals[name], right, resamples)}
        lo, hi = stats["gap_ci95"]
        print(f"{label}  {name}: {stats['accuracy']:.2f} %  gap {stats['gap']:.2f} [{lo:.2f}, {hi:.2f}]  "
              f"changed {stats['changed']:.1f} %", flush=True)  # fmt: skip
        scored[name] = stats
    return scored


def original_accuracy(originals: dict[str, np.ndarray]) -> dict[str, float]:
    """Per reader: accuracy on the originals, in per cent; printed on one line."""
    accuracy = {n: round(100 * float(r.mean()), 2) for n, r in originals.items()}
    n_faces = len(next(iter(originals.values())))
    print(f"{n_faces} faces; on originals: " + ", ".join(f"{n} {a} %" for n, a in accuracy.items()))
    return accuracy


def write_json(result: dict, path: str | None) -> None:
    if path:
        with open(path, "w") as f:
            json.dump(result, f, indent=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="labelled npz / FER2013 csv / class folders")
    parser.add_argument("--split", default="val")
    parser.add_argument("-n", type=int, default=None, help="first N images (default: all)")
    parser.add_argument("--codec", default=registry.DEFAULT_CODEC)
    parser.add_argument("--classifiers", default=None,
                        help="comma-separated pixel classifiers (default: the one `facecodec classify` uses for the codec's files)")  # fmt: skip
    parser.add_argument("--ensemble", action="store_true",
                        help="also score the mean of the --classifiers' probabilities")  # fmt: skip
    parser.add_argument("--mirror", action="store_true",
                        help="each classifier averages the face and its mirror image (classify --mirror)")  # fmt: skip
    parser.add_argument("--qualities", default="1,1.5,2,2.5,3")
    parser.add_argument("--threshold", type=float, default=1.5, help="the target gap, in points")
    parser.add_argument("--bootstrap", type=int, default=2000, help="paired bootstrap resamples")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    faces = load_faces(args.data, args.split)
    images, labels = faces.images[: args.n], faces.labels[: args.n]
    names = args.classifiers.split(",") if args.classifiers else [registry.pixel_classifier_for(args.codec)]
    kw = {"domain": "pixel", "device": args.device, "batch_size": args.batch_size, "mirror": args.mirror}
    if args.ensemble and len(names) < 2:
        parser.error("--ensemble needs two or more --classifiers")
    labels = np.asarray(labels)
    originals = read(list(images), names, labels, args.ensemble, **kw)
    result = {
        "codec": args.codec, "split": args.split, "images": len(images), "threshold": args.threshold, "mirror": args.mirror,
        "original_accuracy": original_accuracy(originals), "points": [],
    }  # fmt: skip
    for q in (float(v) for v in args.qualities.split(",")):
        encoded = api.encode_batch(list(images), args.codec, q, args.device, args.batch_size)
        files = [e.data for e in encoded]
        point = {"quality": q, "bpp": round(float(np.mean([e.bpp for e in encoded])), 4)}
        readings = read(files, names, labels, args.ensemble, **kw)
        point["classifiers"] = score_against(originals, readings, args.bootstrap, f"q {q:g}  {point['bpp']:.3f} bpp")
        for stats in point["classifiers"].values():
            stats["within_threshold"] = stats["gap"] <= args.threshold
        result["points"].append(point)
    write_json(result, args.json)


if __name__ == "__main__":
    main()
