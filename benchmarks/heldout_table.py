"""The held-out comparison as a Markdown table, from a `facecodec bench` report.

    python benchmarks/heldout_table.py docs/benchmarks/bench.json [--codecs face-fer-v9,webp]

One row per point: bytes, bpp, PSNR, then the held-out recognizer panel's agreement with its
own readings of the originals and its accuracy (mean over the panel, worst member in
brackets), and the training panel's mean agreement (a diagnostic: those recognizers may enter
training). The README and docs/models.md quote this output.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _cell(mean: float | None, worst: float | None) -> str:
    if mean is None:
        return "–"
    return f"{mean:.1f} ({worst:.1f})" if worst is not None else f"{mean:.1f}"


def table(report: dict, codecs: list[str] | None = None) -> str:
    """Markdown rows for the report's points (optionally only ``codecs``, in that order)."""
    points = report["points"]
    order = codecs or list(dict.fromkeys(p["codec"] for p in points))
    lines = [
        "| codec | setting | bytes | bpp | PSNR dB | held-out agreement % (worst) "
        "| held-out accuracy % (worst) | training-panel agreement % |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for codec in order:
        for p in (p for p in points if p["codec"] == codec):
            knob = "q" if p["family"] == "facecodec" else report["settings"]["codecs"][codec]["knob"].split()[0] + " "
            lines.append(
                f"| {codec} | {knob}{p['quality']:g} | {p['bytes']:.0f} | {p['bpp']:.3f} | {p['psnr']:.1f} "
                f"| {_cell(p.get('heldout_agreement'), p.get('heldout_agreement_worst'))} "
                f"| {_cell(p.get('heldout_accuracy'), p.get('heldout_accuracy_worst'))} "
                f"| {_cell(p.get('trainpanel_agreement'), None)} |"
            )
    originals = (report.get("panel") or {}).get("held-out", {}).get("originals", {})
    if originals:
        lines.append("")
        lines.append(
            f"Held-out panel on the originals: {originals['accuracy']:.1f} % accuracy "
            f"(worst member {originals['accuracy_worst']:.1f} %)."
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="bench.json written by facecodec bench")
    parser.add_argument("--codecs", help="comma-separated codecs to show, in order")
    args = parser.parse_args()
    report = json.loads(args.report.read_text())
    print(table(report, args.codecs.split(",") if args.codecs else None))


if __name__ == "__main__":
    main()
