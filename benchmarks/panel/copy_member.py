"""Make a panel member from a shipped classifier's weights (same architecture), then measure it.

    python benchmarks/panel/copy_member.py fer-cnn-v1 rec-vgg-a \
        --measure-data ../shared/data/fer2013/fer2013_trainval.npz

The member's manifest entry (benchmarks/panel/MANIFEST.json) keeps the source
model's training command and data, and says where the weights came from.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from facecodec import registry
from facecodec.train.export import save_weights
from facecodec.train.export_models import measure_shipped
from facecodec.weights import panel_dir, read_manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="shipped classifier whose weights to copy")
    parser.add_argument("member", help="panel member (registry name, kind recognizer)")
    parser.add_argument("--measure-data", required=True)
    parser.add_argument("--measure-split", default="val")
    args = parser.parse_args()
    if registry.get_spec(args.member).kind != "recognizer":
        parser.error(f"{args.member} is not a panel recognizer")
    source = registry.get_spec(args.source)
    entry = read_manifest().get("models", {}).get(source.name) or {}
    model = registry.build_architecture(registry.get_spec(args.member))
    model.load_state_dict(registry.create_model(source.name).state_dict())
    out = panel_dir()
    record = {
        "kind": "recognizer",
        "copied_from": f"{source.name} (sha256 {entry.get('sha256')})",
        "training_data": entry.get("training_data"),
        "training_command": entry.get("training_command"),
    }
    save_weights(model, args.member, out, record)
    measured = measure_shipped(args.member, out, args.measure_data, args.measure_split, [4.0], "cpu")
    print(f"{args.member}: {Path(out) / registry.get_spec(args.member).weights_file}; {measured['summary']}")


if __name__ == "__main__":
    main()
