"""The held-out comparison as a Markdown table, from a `facecodec bench` report.

    python benchmarks/heldout_table.py docs/benchmarks/bench.json [--codecs face-fer-v9,webp]
    python benchmarks/heldout_table.py docs/benchmarks/bench.json --compare face-fer-v9,face-fer-v3

One row per point: bytes, bpp, PSNR, invented detail (fine detail the decoded faces have that
the originals lack: docs/benchmarks.md), then the held-out recognizer panel's agreement with its
own readings of the originals and its accuracy (mean over the panel, worst member in
brackets), and the training panel's mean agreement (a diagnostic: those recognizers may enter
training). The README and docs/models.md quote this output.

``--compare NEW,OLD`` instead prints, at each of NEW's points inside OLD's range of rates,
how many points NEW's held-out agreement (mean, worst member) and accuracy are above OLD's
at the same bpp (OLD interpolated linearly in log bpp): the rule a new default codec must
pass at every rate both cover.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

KEYS = ("heldout_agreement", "heldout_agreement_worst", "heldout_accuracy")


def _cell(mean: float | None, worst: float | None, digits: int = 1) -> str:
    if mean is None:
        return "–"
    return f"{mean:.{digits}f} ({worst:.{digits}f})" if worst is not None else f"{mean:.{digits}f}"


def table(report: dict, codecs: list[str] | None = None) -> str:
    """Markdown rows for the report's points (optionally only ``codecs``, in that order)."""
    points = report["points"]
    order = codecs or list(dict.fromkeys(p["codec"] for p in points))
    lines = [
        "| codec | setting | bytes | bpp | PSNR dB | invented detail | held-out agreement % (worst) "
        "| held-out accuracy % (worst) | training-panel agreement % |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for codec in order:
        for p in (p for p in points if p["codec"] == codec):
            knob = "q" if p["family"] == "facecodec" else report["settings"]["codecs"][codec]["knob"].split()[0] + " "
            lines.append(
                f"| {codec} | {knob}{p['quality']:g} | {p['bytes']:.0f} | {p['bpp']:.3f} | {p['psnr']:.1f} "
                f"| {_cell(p.get('invented'), None, 2)} "
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


def compare(report: dict, new: str, old: str) -> str:
    """NEW minus OLD at NEW's rates inside OLD's range, as Markdown rows."""
    pts = {c: sorted((p for p in report["points"] if p["codec"] == c), key=lambda p: p["bpp"]) for c in (new, old)}
    if not pts[new] or not pts[old]:
        raise SystemExit(f"no points for {new if not pts[new] else old}")
    log_old = np.log([p["bpp"] for p in pts[old]])
    lines = [
        f"| {new} | bpp | held-out agreement vs {old} | worst member | held-out accuracy |",
        "|--:|--:|--:|--:|--:|",
    ]
    for p in pts[new]:
        if not log_old[0] <= np.log(p["bpp"]) <= log_old[-1]:
            continue
        deltas = [p[k] - float(np.interp(np.log(p["bpp"]), log_old, [q[k] for q in pts[old]])) for k in KEYS]
        lines.append(f"| q{p['quality']:g} | {p['bpp']:.3f} | " + " | ".join(f"{d:+.1f}" for d in deltas) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="bench.json written by facecodec bench")
    parser.add_argument("--codecs", help="comma-separated codecs to show, in order")
    parser.add_argument("--compare", metavar="NEW,OLD", help="NEW's held-out figures minus OLD's at equal rates")
    args = parser.parse_args()
    report = json.loads(args.report.read_text())
    if args.compare:
        new, old = args.compare.split(",")
        print(compare(report, new, old))
    else:
        print(table(report, args.codecs.split(",") if args.codecs else None))


if __name__ == "__main__":
    main()
