"""Make a panel member from another release's classifier weights (same architecture), then measure it.

panel-vgg-v1 is fer-cnn-v1 of facecodec 0.1 (trained on FER2013 ``train`` originals only)::

    git show b4f45e9:weights/fer-cnn-v1.safetensors > /tmp/fer-cnn-v1.safetensors
    git show b4f45e9:weights/MANIFEST.json > /tmp/manifest-0.1.json
    python benchmarks/panel/copy_member.py /tmp/fer-cnn-v1.safetensors panel-vgg-v1 \
        --manifest /tmp/manifest-0.1.json --measure-data ../shared/data/fer2013/fer2013_trainval.npz

The member's manifest entry (benchmarks/panel/MANIFEST.json) keeps the source
model's training command and data, and says where the weights came from.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from safetensors.torch import load_file

from facecodec import registry
from facecodec.train.export import save_weights
from facecodec.train.export_models import measure_shipped
from facecodec.weights import panel_dir, sha256_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="the classifier's .safetensors file")
    parser.add_argument("member", help="panel member (registry name, kind recognizer)")
    parser.add_argument("--manifest", type=Path, required=True, help="the manifest that describes the source file")
    parser.add_argument("--measure-data", required=True)
    parser.add_argument("--measure-split", default="val")
    args = parser.parse_args()
    if registry.get_spec(args.member).kind != "recognizer":
        parser.error(f"{args.member} is not a panel recognizer")
    sha = sha256_file(args.source)
    entry = next((e for e in json.loads(args.manifest.read_text())["models"].values() if e.get("sha256") == sha), None)
    if entry is None:
        parser.error(f"{args.manifest} does not describe {args.source} (sha256 {sha})")
    model = registry.build_architecture(registry.get_spec(args.member))
    model.load_state_dict(load_file(str(args.source)))
    out = panel_dir()
    record = {
        "kind": "recognizer",
        "copied_from": f"{entry['file']} of facecodec 0.1 (sha256 {sha})",
        "training_data": entry.get("training_data"),
        "training_command": entry.get("training_command"),
    }
    save_weights(model, args.member, out, record)
    measured = measure_shipped(args.member, out, args.measure_data, args.measure_split, [4.0], "cpu")
    print(f"{args.member}: {Path(out) / registry.get_spec(args.member).weights_file}; {measured['summary']}")


if __name__ == "__main__":
    main()
