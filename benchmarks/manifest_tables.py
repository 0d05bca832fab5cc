"""The "Measured" table of each codec's card in docs/models.md, from weights/MANIFEST.json.

``facecodec train measure NAME --data ... --split val`` writes the figures (real
``.ffc`` files; held-out panel agreement and accuracy where the panel is at
hand); this prints them as markdown, one table per codec.

    python benchmarks/manifest_tables.py [weights/MANIFEST.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def table(name: str, measured: dict) -> str:
    points = measured["points"]
    panel = "heldout_agreement" in points[0]
    head = "| quality | bytes | bpp | PSNR dB |" + (" held-out agreement % (worst) | held-out accuracy % |" if panel else "")
    rule = "|--:|--:|--:|--:|" + ("--:|--:|" if panel else "")
    lines = [
        f"Measured ({measured['data']}, {measured['images']} faces, file format {measured['file_format']}):",
        "",
        head,
        rule,
    ]
    for p in points:
        row = f"| {p['quality']:g} | {p['bytes']:.1f} | {p['bpp']:.3f} | {p['psnr']:.2f} |"
        if panel:
            row += f" {p['heldout_agreement']:.1f} ({p['heldout_agreement_worst']:.1f}) | {p['heldout_accuracy']:.1f} |"
        lines.append(row)
    return "\n".join(lines)


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "weights" / "MANIFEST.json"
    models = json.loads(path.read_text())["models"]
    for name, entry in models.items():
        if entry.get("kind") == "codec" and entry.get("measured"):
            print(f"## {name}\n\n{table(name, entry['measured'])}\n")


if __name__ == "__main__":
    main()
