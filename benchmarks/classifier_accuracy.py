"""Accuracy of the pixel classifiers on original faces, plain and mirror-averaged.

Goes through the public API (:func:`facecodec.classify_batch`, uint8 faces as a
user would pass them), once with ``mirror=False`` and once with
``mirror=True``. Figures, not pass/fail.

    python benchmarks/classifier_accuracy.py --data ../shared/data/fer2013/fer2013_trainval.npz --split val
"""

from __future__ import annotations

import argparse
import json

from facecodec import registry
from facecodec.evaluate import accuracy_of
from facecodec.recognition import classify_batch
from facecodec.train.data import load_faces


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="labelled npz / FER2013 csv / class folders")
    parser.add_argument("--split", default="val")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    faces = load_faces(args.data, args.split)
    images = [img for img in faces.images]
    rows = []
    for name in registry.model_names("classifier"):
        row = {"classifier": name}
        for mirror in (False, True):
            preds = classify_batch(images, model=name, domain="pixel", device=args.device, batch_size=512, mirror=mirror)
            row["mirror" if mirror else "plain"] = round(accuracy_of(preds, faces.labels), 4)
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"data": f"{args.data} split={args.split}", "images": len(images), "classifiers": rows}, fh, indent=2)


if __name__ == "__main__":
    main()
